#include "cli/inspect_command.hpp"

#include <cmath>
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <optional>
#include <tuple>
#include <nlohmann/json.hpp>

#include "cli/json_values.hpp"
#include "lib/error.hpp"
#include "lib/store.hpp"
#include "rules/registry.hpp"
#include "search/pretrain.hpp"
#include "search/refine.hpp"
#include "search/registry.hpp"
#include "search/rule_analysis.hpp"
#include "search/study.hpp"
#include "tasks/registry.hpp"

namespace plast {
namespace {

struct InspectFlags {
  std::string store;
  bool json = false;
  int keep = 0;
  bool analysis = true;
  bool refine = false;
  std::vector<std::string> task_params;   // "name=value": held-out tasks other than the study's
  std::string theta = "best";              // which θ to explain: best candidate or final mean
  // Held-out harness overrides (every row alike): inner steps, student widths, task count.
  long long steps = 0;
  std::vector<int> student_hidden;
  int held_out = 0;
  // Reference rows, "RULE" or "RULE/OPTIMIZER" (backprop/adam), and the learning-rate grid
  // each is tuned over on meta-train tasks (empty: the study's own optimizer and rate).
  std::vector<std::string> references = {"backprop", "feedback_alignment"};
  std::vector<double> tune_lr;
  int tune_tasks = 50;
  PretrainOptions pretrain;   // the `pretrained` reference (search/pretrain.hpp)
};

// A reference row: a registered rule trained by the study's optimizer or another one, or
// `pretrained`: one network pre-trained on pooled meta-train tasks, fine-tuned on each task.
struct Reference {
  std::string rule, optimizer;   // optimizer empty: the study's
};

Reference parse_reference(const std::string& text) {
  const auto slash = text.find('/');
  Reference r{text.substr(0, slash), slash == std::string::npos ? "" : text.substr(slash + 1)};
  try {
    if (r.rule != "pretrained") rule_registry().get(r.rule);
  } catch (const Error& e) {
    throw Error("--references " + text + ": " + e.what());
  }
  if (!r.optimizer.empty() && std::find(optimizer_names().begin(), optimizer_names().end(), r.optimizer) ==
                                  optimizer_names().end())
    throw Error("--references " + text + ": unknown optimizer '" + r.optimizer + "' (known: sgd, momentum, adam)");
  return r;
}

// Recording budget: enough synapses for stable fits, little enough to answer in seconds.
constexpr int kRecordTasks = 4;
constexpr long long kRecordSteps = 2000;
constexpr int kSynapsesPerStep = 8;

struct Analysis {
  std::string formula, pruned_formula, refined_formula, nearest;
  double nearest_distance = std::numeric_limits<double>::quiet_NaN();
  double pruned_r2 = std::numeric_limits<double>::quiet_NaN();
  std::vector<std::pair<std::string, double>> distances;
  std::vector<std::pair<std::string, HeldOut>> heldout;   // name → held-out scores, in print order
  std::vector<std::pair<std::string, double>> tuned_lr;     // reference row → the rate it was tuned to
  std::string note;                                       // why a part is missing
  std::string refine_note;
};

// The coefficients of a registered rule's formula among complete parameters.
std::vector<Term> coefficient_terms(const std::string& rule, const ParamValues& params) {
  std::vector<Term> terms;
  for (const auto& p : rule_registry().get(rule).params)
    if (p.coefficient) terms.push_back({p.name, params.at(p.name)});
  return terms;
}

// The same rule with only `kept` coefficients non-zero (its options unchanged).
std::shared_ptr<const LearningRule> with_terms(const std::string& rule, ParamValues params, const std::vector<Term>& kept) {
  for (auto& t : coefficient_terms(rule, params)) params[t.name] = 0.0;
  for (const auto& t : kept) params[t.name] = t.coefficient;
  return rule_registry().make(rule, params);
}

// The study's bounds of a searched name, else the parameter's own.
std::pair<double, double> bounds_of(const StudySpec& spec, const std::string& name) {
  for (const auto& p : spec.rule.searched)
    if (p.name == name) return {p.lower, p.upper};
  for (const auto& p : rule_registry().get(spec.rule.type).params)
    if (p.name == name) return {p.min, p.max};
  return {-1e3, 1e3};
}

// Ceres refinement of the pruned rule's coefficients (the other coefficients stay 0).
Refinement refine_pruned(const StudySpec& spec, const ParamValues& params, const std::vector<Term>& kept) {
  ParamValues fixed = params;
  for (const auto& p : rule_registry().get(spec.rule.type).params)
    if (p.coefficient) fixed[p.name] = 0.0;
  std::vector<std::string> names;
  const auto n = static_cast<Eigen::Index>(kept.size());
  Eigen::VectorXd start(n), lower(n), upper(n);
  for (Eigen::Index k = 0; k < n; ++k) {
    const auto& t = kept[static_cast<std::size_t>(k)];
    names.push_back(t.name);
    fixed.erase(t.name);
    std::tie(lower(k), upper(k)) = bounds_of(spec, t.name);
    start(k) = t.coefficient;
  }
  const auto space = std::make_shared<NamedRuleSpace>(rule_registry(), spec.rule.type, fixed, names);
  return refine(spec, space, start, lower, upper);
}

// The held-out scores of a reference rule with its optimizer; with a grid, the learning rate
// is first chosen by the mean final loss on `tune_tasks` meta-train tasks (never on held-out
// ones), as a baseline "with a tuned learning rate" must be.
HeldOut reference_scores(StudySpec spec, const Reference& r, const InspectFlags& f, double& chosen_lr) {
  const std::vector<double>& grid = f.tune_lr;
  const int tune_tasks = f.tune_tasks;
  if (!r.optimizer.empty() && r.optimizer != spec.evaluation.optimizer.type)
    spec.evaluation.optimizer = OptimizerSpec{.type = r.optimizer, .lr = spec.evaluation.optimizer.lr};
  const auto rule = r.rule == "pretrained" ? pretrained_learner(spec, f.pretrain) : rule_registry().make(r.rule);
  if (!grid.empty()) {
    double best = std::numeric_limits<double>::infinity();
    double tuned = grid.front();
    for (double lr : grid) {
      spec.evaluation.optimizer.lr = lr;
      const double loss = score_on(spec, rule, tune_tasks, Split::meta_train).loss;
      if (loss < best) {   // NaN and +inf (diverged) never win
        best = loss;
        tuned = lr;
      }
    }
    spec.evaluation.optimizer.lr = tuned;
  }
  chosen_lr = spec.evaluation.optimizer.lr;
  return held_out(spec, rule, spec.held_out);
}

Analysis analyse(const StudySpec& spec, const Eigen::VectorXd& best, const InspectFlags& f) {
  const int keep = f.keep;
  const bool with_refinement = f.refine;
  Analysis a;
  const auto& space = *spec.evaluation.space;
  const std::string& type = spec.rule.type;
  const ParamValues params = complete_params("rule " + type, rule_registry().get(type).params, space.parameters(best));
  std::vector<Term> terms = coefficient_terms(type, params);
  std::erase_if(terms, [](const Term& t) { return t.coefficient == 0.0; });
  const auto found = space.make(best);
  const bool plasticity = found->local_plasticity();
  if (!plasticity) terms.clear();   // coefficients of something else (a learned optimizer's MLP)
  a.formula = terms.empty() ? "" : formula(terms);
  a.heldout.emplace_back("found", held_out(spec, found, spec.held_out));

  const auto samples = plasticity ? record_synapses(spec, *found, kRecordTasks, kRecordSteps, kSynapsesPerStep)
                                  : std::vector<SynapseSample>{};
  if (!plasticity) {
    a.note = "not a local plasticity rule (" + found->name() + "): no formula, nearest known rule or pruning";
  } else if (samples.empty()) {
    a.note = "no activity to record (control task or diverging rule): no pruning or nearest rule";
  } else {
    const Nearest n = nearest_known_rule(samples);
    a.nearest = n.name;
    a.nearest_distance = n.distance;
    a.distances = n.all;
    if (const auto refit = terms.empty() ? std::nullopt : prune_and_refit(terms, samples, keep)) {
      a.pruned_formula = formula(refit->terms);
      a.pruned_r2 = refit->r2;
      a.heldout.emplace_back("pruned", held_out(spec, with_terms(type, params, refit->terms), spec.held_out));
      std::vector<Term> pruned = refit->terms;
      if (with_refinement) {
        const Refinement r = refine_pruned(spec, params, refit->terms);
        std::vector<Term> polished = refit->terms;
        for (std::size_t k = 0; k < polished.size(); ++k) polished[k].coefficient = r.candidate(static_cast<Eigen::Index>(k));
        a.refined_formula = formula(polished) + (r.kept ? "" : "   (not kept: no better on held-out tasks)");
        a.heldout.emplace_back("pruned+refined", held_out(spec, with_terms(type, params, polished), spec.held_out));
        if (r.kept) pruned = polished;
      }
      // Hand-written references at the found rule's scale (only the ratio of Oja's two terms
      // is identifiable, so the scale is the pruned pre·post coefficient, else the largest).
      double scale = std::abs(pruned.front().coefficient);
      for (const auto& t : pruned)
        if (t.name == "pre*post" && t.coefficient > 0) scale = t.coefficient;
      const auto has = [&](const char* name) {
        for (const auto& p : rule_registry().get(type).params)
          if (p.name == name) return true;
        return false;
      };
      if (has("pre*post") && has("post^2*w")) {
        a.heldout.emplace_back("oja", held_out(spec, with_terms(type, params, {{"pre*post", scale}, {"post^2*w", -scale}}),
                                                     spec.held_out));
        a.heldout.emplace_back("hebb", held_out(spec, with_terms(type, params, {{"pre*post", scale}}), spec.held_out));
      }
    } else if (!terms.empty()) {
      a.note = "the rule's terms are not monomials of (pre, post, w, m): no pruning";
    }
  }
  // θ = 0: for plasticity rules the network never changes (Najarro & Risi's static baseline).
  if (spec.lower.minCoeff() <= 0.0 && spec.upper.maxCoeff() >= 0.0)
    a.heldout.emplace_back("theta_zero", held_out(spec, space.make(Eigen::VectorXd::Zero(best.size())), spec.held_out));
  for (const auto& text : f.references) {
    double lr = 0.0;
    a.heldout.emplace_back(text, reference_scores(spec, parse_reference(text), f, lr));
    if (!f.tune_lr.empty()) a.tuned_lr.emplace_back(text, lr);
  }
  if (with_refinement) {   // the full θ, in the study's own space and bounds
    const Refinement r = refine(spec, spec.evaluation.space, best, spec.lower, spec.upper);
    a.heldout.emplace_back("found+refined", held_out(spec, space.make(r.candidate), spec.held_out));
    a.refine_note = "refinement of the found θ: objective " + std::to_string(r.objective_before) + " → " +
                    std::to_string(r.objective_after) + " on 16 fixed meta-train tasks, held-out " +
                    std::to_string(r.heldout_before) + " → " + std::to_string(r.heldout_after) +
                    (r.kept ? " (kept)" : " (not kept)");
  }
  return a;
}

// The study's task family with some parameters changed ("test_length=2.0"): held-out tasks
// the search never saw the like of. A bad NAME=VALUE is a usage error.
std::shared_ptr<const TaskFamily> tasks_with(const StudySpec& spec, const std::vector<std::string>& changes) {
  ParamValues params = spec.task_params;
  for (const auto& kv : changes) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) throw Error("--task-param " + kv + ": expected NAME=VALUE");
    const std::string text = kv.substr(eq + 1);
    char* end = nullptr;
    const double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0') throw Error("--task-param " + kv + ": not a number");
    params[kv.substr(0, eq)] = value;
  }
  try {
    return task_registry().make(spec.task_type, params);
  } catch (const Error& e) {   // "inputs = 1: must be in [2, 10000]", "unknown parameter 'x'"
    throw Error(std::string("--task-param: ") + e.what());
  }
}

// --steps, --student-hidden and --held-out: the harness every held-out row is scored in.
void apply_overrides(const InspectFlags& f, StudySpec& spec) {
  if (f.held_out > 0) spec.held_out = f.held_out;
  auto& ev = spec.evaluation;
  if (f.steps > 0) {   // exactly `steps` steps (an epoch is at least one), scored at the end
    ev.budget.max_steps = f.steps;
    ev.budget.epochs = static_cast<int>(std::min<long long>(f.steps, std::numeric_limits<int>::max()));
    ev.budget.eval_every = f.steps;
  }
  if (!f.student_hidden.empty()) {
    ev.student.spec.hidden = f.student_hidden;   // the rest as the study's student (or the task's default)
    ev.student.hidden_given = true;
  }
}

// What a store holds and what its analysis found.
struct Inspected {
  StudyRecord study;
  std::vector<GenerationRecord> generations;
  std::int64_t diverged = 0, evaluations = 0;
  Eigen::VectorXd best;
  double best_fitness = std::numeric_limits<double>::infinity();
  Analysis a;
};

Inspected read_and_analyse(const InspectFlags& f) {
  Inspected in;
  for (const auto& text : f.references) parse_reference(text);   // a typo fails before any work
  const Store store = Store::open(f.store);
  in.study = store.study();
  in.generations = store.generations();
  const StudyRecord& study = in.study;
  const auto checkpoint = store.checkpoint();
  for (const auto& g : in.generations) {
    in.diverged += g.diverged;
    in.evaluations += g.evaluations;
  }
  Eigen::VectorXd& best = in.best;
  double& best_fitness = in.best_fitness;
  if (checkpoint) {
    best = Eigen::Map<const Eigen::VectorXd>(checkpoint->best_theta.data(),
                                             static_cast<Eigen::Index>(checkpoint->best_theta.size()));
    best_fitness = checkpoint->best_fitness;
  }
  Analysis& a = in.a;
  if (f.analysis && checkpoint) {
    std::optional<StudySpec> spec;
    try {   // a store written by an older plast may name what this one no longer knows
      spec = load_study(ConfigNode::load_string(study.yaml, f.store + " (stored study)"));
    } catch (const Error& e) {
      a.note = std::string("no analysis: ") + e.what();
    }
    if (spec) {
      if (!f.task_params.empty()) spec->evaluation.tasks = tasks_with(*spec, f.task_params);
      if (f.theta == "mean") {   // the search distribution's final mean, within the bounds
        const auto strategy = strategy_registry().make(spec->strategy, spec->strategy_params);
        best = strategy->mean(strategy->load(checkpoint->strategy_state)).cwiseMax(spec->lower).cwiseMin(spec->upper);
      }
      apply_overrides(f, *spec);
      a = analyse(*spec, best, f);
    }
  }
  return in;
}

void print_json(const InspectFlags& f, const Inspected& in) {
  const auto& [study, generations, diverged, evaluations, best, best_fitness, a] = in;
  nlohmann::json history = nlohmann::json::array();
  for (const auto& g : generations)
    history.push_back({{"generation", g.generation}, {"best", json_number(g.best)}, {"mean", json_number(g.mean)},
                       {"median", json_number(g.median)}, {"step_size", json_number(g.step_size)},
                       {"evaluations", g.evaluations}, {"diverged", g.diverged}, {"wall_seconds", g.wall_seconds}});
  nlohmann::json heldout = nlohmann::json::object(), accuracy = nlohmann::json::object(),
                 median = nlohmann::json::object(), standard_error = nlohmann::json::object(),
                 diverged_by = nlohmann::json::object(),
                 tuned = nlohmann::json::object();
  for (const auto& [name, v] : a.heldout) {
    heldout[name] = json_number(v.loss);
    median[name] = json_number(v.median);
    standard_error[name] = json_number(v.standard_error);
    diverged_by[name] = v.diverged;
    if (!std::isnan(v.accuracy)) accuracy[name] = v.accuracy;
  }
  for (const auto& [name, lr] : a.tuned_lr) tuned[name] = lr;
  nlohmann::json distances = nlohmann::json::object();
  for (const auto& [name, v] : a.distances) distances[name] = v;
  nlohmann::json j = {{"study", study.name},
                      {"seed", study.seed},
                      {"best_fitness", json_number(best_fitness)},
                      {"best_params", params_json(study.param_names, best)},
                      {"theta", f.theta},
                      {"generations", generations.size()},
                      {"evaluations", evaluations},
                      {"diverged", diverged},
                      {"formula", a.formula},
                      {"pruned_formula", a.pruned_formula},
                      {"pruned_r2", json_number(a.pruned_r2)},
                      {"refined_formula", a.refined_formula},
                      {"nearest_rule", a.nearest},
                      {"nearest_distance", json_number(a.nearest_distance)},
                      {"distances", distances},
                      {"heldout", heldout},
                      {"heldout_accuracy", accuracy},
                      {"heldout_median", median},
                      {"heldout_standard_error", standard_error},
                      {"heldout_diverged", diverged_by},
                      {"tuned_lr", tuned},
                      {"history", history}};
  if (!a.note.empty()) j["note"] = a.note;
  std::cout << j.dump() << std::endl;
}

void print_text(const InspectFlags& f, const Inspected& in) {
  const auto& [study, generations, diverged, evaluations, best, best_fitness, a] = in;
  std::cout << "study " << study.name << " (seed " << study.seed << "), store " << f.store << "\n"
            << generations.size() << " generations, " << evaluations << " evaluations, " << diverged << " diverged\n"
            << "best fitness " << best_fitness << "\n"
            << (f.theta == "mean" ? "θ (the search distribution's final mean):\n" : "best θ (the best candidate evaluated):\n");
  constexpr std::size_t kShown = 40;
  for (std::size_t k = 0; k < study.param_names.size() && static_cast<Eigen::Index>(k) < best.size(); ++k) {
    if (k == kShown) {
      std::cout << "  … " << study.param_names.size() - kShown << " more (--json lists them all)\n";
      break;
    }
    std::cout << "  " << study.param_names[k] << " = " << best(static_cast<Eigen::Index>(k)) << "\n";
  }
  if (!a.formula.empty()) std::cout << "found rule:   " << a.formula << "\n";
  if (!a.pruned_formula.empty())
    std::printf("pruned+refit: %s   (explains %.1f%% of Δw)\n", a.pruned_formula.c_str(), 100.0 * a.pruned_r2);
  if (!a.refined_formula.empty()) std::cout << "pruned+refined (Ceres): " << a.refined_formula << "\n";
  if (!a.nearest.empty()) {
    std::printf("nearest known rule: %s (functional distance %.3f; 0 = same updates up to scale, 1 = unrelated)\n",
                a.nearest.c_str(), a.nearest_distance);
    std::cout << "  distances:";
    for (const auto& [name, d] : a.distances) std::printf(" %s %.3f", name.c_str(), d);
    std::cout << "\n";
  }
  if (!a.heldout.empty()) {
    std::printf("held-out loss on %zu meta-test tasks, lower is better (mean ± standard error, median):\n",
                a.heldout.front().second.task_losses.size());
    for (const auto& [name, v] : a.heldout) {
      std::printf("  %-24s %.6g ± %.2g   median %.6g", name.c_str(), v.loss, v.standard_error, v.median);
      if (v.diverged > 0) std::printf("   (%d of %zu diverged)", v.diverged, v.task_losses.size());
      if (!std::isnan(v.accuracy)) std::printf("   accuracy %.2f%%", 100.0 * v.accuracy);
      for (const auto& [ref, lr] : a.tuned_lr)
        if (ref == name) std::printf("   (lr %g, tuned on meta-train)", lr);
      std::printf("\n");
    }
  }
  if (!a.note.empty()) std::cout << a.note << "\n";
  if (!a.refine_note.empty()) std::cout << a.refine_note << "\n";
  std::cout << "history (generation: best / mean / median, step size):\n";
  const std::size_t step = std::max<std::size_t>(1, generations.size() / 15);
  for (std::size_t i = 0; i < generations.size(); i += step) {
    const auto& g = generations[i];
    std::printf("  %5lld: %.6g / %.6g / %.6g, %.3g\n", static_cast<long long>(g.generation), g.best, g.mean, g.median,
                g.step_size);
  }
}


void inspect(const InspectFlags& f) {
  const Inspected in = read_and_analyse(f);
  if (f.json) print_json(f, in);
  else print_text(f, in);
}

}  // namespace

void add_inspect_command(CLI::App& app) {
  auto f = std::make_shared<InspectFlags>();
  CLI::App* cmd = app.add_subcommand("inspect", "Explain what a study found: formula, pruned rule, nearest known rule, "
                                                "held-out scores beside backprop, FA and reference rules");
  cmd->add_option("store", f->store, "study store (SQLite file)")->required();
  cmd->add_flag("--json", f->json, "print one JSON object");
  cmd->add_option("--keep", f->keep, "terms kept by prune-and-refit (default: the fewest that explain 95% of Δw)")
      ->check(CLI::Range(0, 1000));
  cmd->add_flag("!--no-analysis", f->analysis, "only the stored results (no training: instant)");
  cmd->add_flag("--refine", f->refine,
                "polish the found and the pruned θ with Ceres on fixed meta-train tasks (search/refine.hpp); "
                "kept only if better on held-out tasks");
  cmd->add_option("--theta", f->theta,
                  "which θ to explain and score: best (the best candidate evaluated) or mean (the search "
                  "distribution's final mean, less tied to one generation's lucky tasks)")
      ->check(CLI::IsMember({"best", "mean"}));
  cmd->add_option("--task-param", f->task_params,
                  "NAME=VALUE: score on held-out tasks with this task parameter changed (e.g. test_length=2.0)");
  cmd->add_option("--steps", f->steps, "score every held-out row after exactly N inner steps (default: the study's budget)")
      ->check(CLI::Range(1LL, 1000000000LL));
  cmd->add_option("--student-hidden", f->student_hidden,
                  "score on students with these hidden widths (e.g. 80,80: a wider student than the search saw)")
      ->delimiter(',')
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--held-out", f->held_out, "number of meta-test tasks (default: the study's held_out)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--references", f->references,
                  "reference rows, RULE or RULE/OPTIMIZER (default: backprop,feedback_alignment; e.g. "
                  "backprop/sgd,backprop/adam); `pretrained`: one network pre-trained by Adam on pooled "
                  "meta-train tasks, fine-tuned on each task")
      ->delimiter(',');
  cmd->add_option("--tune-lr", f->tune_lr,
                  "tune each reference's learning rate over this grid (e.g. 0.001,0.003,0.01) by its mean loss "
                  "on meta-train tasks")
      ->delimiter(',')
      ->check(CLI::PositiveNumber);
  cmd->add_option("--tune-tasks", f->tune_tasks, "meta-train tasks per rate when tuning (default 50)")
      ->check(CLI::Range(1, 1000000));
  cmd->add_option("--pretrain-tasks", f->pretrain.tasks,
                  "the `pretrained` reference: meta-train tasks whose data are pooled (default 1000)")
      ->check(CLI::Range(1, 10000000));
  cmd->add_option("--pretrain-epochs", f->pretrain.epochs, "the `pretrained` reference: epochs of Adam (default 20)")
      ->check(CLI::Range(1, 100000));
  cmd->callback([f] { inspect(*f); });
}

}  // namespace plast
