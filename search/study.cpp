#include "search/study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <optional>
#include <limits>

#include <yaml-cpp/yaml.h>

#include "lib/config_sections.hpp"
#include "lib/error.hpp"
#include "lib/store.hpp"
#include "rules/registry.hpp"
#include "search/registry.hpp"
#include "tasks/registry.hpp"

namespace plast {
namespace {

// The `params:` map of a component section (none: every parameter keeps its default).
template <class T>
ParamValues params_of(const ConfigNode& section, const Registry<T>& registry, const std::string& type) {
  const auto node = section.find("params");
  return node ? read_params(*node, registry, type) : ParamValues{};
}

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end(), [](double a, double b) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return a < b;
  });
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

}  // namespace

std::string study_hash(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

StudySpec load_study(const std::string& path) { return load_study(ConfigNode::load_file(path)); }

StudySpec load_study(const ConfigNode& root) {
  root.expect_keys({"name", "seed", "rule", "task", "student", "optimizer", "training", "strategy", "budget", "score",
                    "store", "store_candidates"});
  StudySpec s;
  s.file = root.where().file;
  s.resolved_yaml = root.dump();
  s.name = root.get_string("name", "study");
  s.seed = static_cast<std::uint64_t>(root.at("seed").as_int(Range::non_negative()));
  auto& ev = s.evaluation;

  // Rule and θ.
  s.rule = read_rule_spec(root.at("rule"));
  ev.l1 = s.rule.l1;

  // Tasks.
  const ConfigNode task = root.at("task");
  task.expect_keys({"type", "params", "samples", "held_out"});
  s.task_type = read_type(task.at("type"), task_registry());
  s.task_params = params_of(task, task_registry(), s.task_type);
  try {   // a family's own checks (one parameter bounded by another) at the value's place
    ev.tasks = task_registry().make(s.task_type, s.task_params);
  } catch (const InvalidValue& e) {
    const auto params = task.find("params");
    if (params && params->has(e.key())) params->at(e.key()).fail(e.problem());
    task.fail(e.what());
  }
  ev.tasks_per_generation = static_cast<int>(task.get_int("samples", 8, Range::closed(1, 100000)));
  s.held_out = static_cast<int>(task.get_int("held_out", 32, Range::closed(0, 100000)));

  // The inner loop: student, optimizer, budget.
  if (auto student = root.find("student")) {
    // A study's student is given whole: no `hidden` means no hidden layer.
    ev.student = read_student(*student, StudentSpec{.hidden = {}}).spec;
    ev.student_given = true;
  }
  if (auto opt = root.find("optimizer")) ev.optimizer = read_optimizer(*opt, OptimizerSpec{.type = "sgd"});
  TrainBudget inner;
  inner.epochs = 1;
  ev.budget = root.find("training") ? read_budget(*root.find("training"), inner) : inner;

  // The rule space: array spaces are sized by the student, whose input and output sizes come
  // from the task (one meta-train task is sampled to learn them).
  MlpShape shape;
  if (s.rule.array_space()) {
    const Task sample = ev.tasks->sample(s.seed, 0, Split::meta_train);
    shape.sizes.push_back(sample.input_size);
    for (int h : ev.student_given ? ev.student.hidden : sample.default_hidden) shape.sizes.push_back(h);
    shape.sizes.push_back(sample.output_size);
    shape.hidden = ev.student_given ? ev.student.activation : sample.default_activation;
    shape.output = sample.output_activation;
  }
  ev.space = make_rule_space(s.rule, shape);
  s.init = s.rule.init(ev.space->dimension());
  s.lower = s.rule.lower(ev.space->dimension());
  s.upper = s.rule.upper(ev.space->dimension());

  // The outer loop.
  const ConfigNode strategy = root.at("strategy");
  strategy.expect_keys({"type", "params"});
  s.strategy = read_type(strategy.at("type"), strategy_registry());
  s.strategy_params = params_of(strategy, strategy_registry(), s.strategy);
  try {   // a strategy's own checks (e.g. population 1) at the value's place
    strategy_registry().make(s.strategy, s.strategy_params);
  } catch (const InvalidValue& e) {
    const auto params = strategy.find("params");
    if (params && params->has(e.key())) params->at(e.key()).fail(e.problem());
    strategy.fail(e.what());
  }
  if (auto budget = root.find("budget")) {
    budget->expect_keys({"generations", "max_evaluations", "wall_seconds"});
    s.generations = budget->get_int("generations", s.generations, Range::at_least(1));
    s.max_evaluations = budget->get_int("max_evaluations", 0, Range::non_negative());
    s.wall_seconds = budget->get_double("wall_seconds", 0.0, Range::non_negative());
  }
  if (auto score = root.find("score")) {
    score->expect_keys({"aggregation", "objective"});
    if (auto agg = score->find("aggregation")) {
      const std::string a = agg->as_string();
      if (a == "mean") ev.aggregation = Aggregation::mean;
      else if (a == "worst") ev.aggregation = Aggregation::worst;
      else agg->fail("must be mean or worst");
    }
    if (auto objective = score->find("objective")) {
      const std::string o = objective->as_string();
      if (o == "final") ev.objective = MetaObjective::final_loss;
      else if (o == "curve") ev.objective = MetaObjective::curve;
      else objective->fail("must be final or curve");
    }
  }
  s.store = root.get_string("store", "out/" + s.name + ".sqlite");
  if (auto keep = root.find("store_candidates")) {
    const std::string k = keep->as_string();
    if (k == "all") s.store_all_candidates = true;
    else if (k == "best") s.store_all_candidates = false;
    else keep->fail("must be all or best");
  }
  return s;
}

StudySpec with_seed(StudySpec spec, std::uint64_t seed) {
  YAML::Node root = YAML::Load(spec.resolved_yaml);
  root["seed"] = seed;
  YAML::Emitter out;
  out << root;
  spec.resolved_yaml = out.c_str();
  spec.seed = seed;
  // out/oja.sqlite → out/oja-seed3.sqlite: runs of several seeds never meet in one store.
  const std::string suffix = ".sqlite";
  std::string stem = spec.store;
  if (stem.size() > suffix.size() && stem.ends_with(suffix)) stem.resize(stem.size() - suffix.size());
  spec.store = stem + "-seed" + std::to_string(seed) + suffix;
  return spec;
}

namespace {
HeldOut scores_in(const StudySpec& spec, EvaluationSpec ev, const Eigen::VectorXd& theta, int count, Split split) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (count <= 0) return {nan, nan, nan, nan, 0, {}};
  ev.tasks_per_generation = count;
  const Evaluator evaluator(ev);
  Eigen::MatrixXd one(1, theta.size());
  one.row(0) = theta.transpose();
  // Tasks of "generation 0"; on the meta-test split, tasks the search never sees. The loss
  // alone: the L1 penalty belongs to the search, not to a score.
  const auto r = evaluator.evaluate(one, spec.seed, 0, split)[0];
  HeldOut h{r.loss, r.accuracy, nan, nan, 0, r.task_losses};
  for (double v : r.task_losses) h.diverged += std::isfinite(v) ? 0 : 1;
  const std::size_t n = r.task_losses.size();
  if (n > 0) h.median = median(r.task_losses);
  if (n > 1) {
    double mean = 0.0, sq = 0.0;
    for (double v : r.task_losses) mean += v;
    mean /= static_cast<double>(n);
    for (double v : r.task_losses) sq += (v - mean) * (v - mean);
    h.standard_error = std::sqrt(sq / static_cast<double>(n - 1) / static_cast<double>(n));
  }
  return h;
}
}  // namespace

double held_out_score(const StudySpec& spec, const Eigen::VectorXd& theta, int count) {
  return scores_in(spec, spec.evaluation, theta, count, Split::meta_test).loss;
}

HeldOut score_on(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count, Split split) {
  EvaluationSpec ev = spec.evaluation;
  const std::string name = rule->name();
  ev.space = std::make_shared<FixedRuleSpace>(std::move(rule), name);
  return scores_in(spec, ev, Eigen::VectorXd(0), count, split);
}

HeldOut held_out(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count) {
  return score_on(spec, std::move(rule), count, Split::meta_test);
}

double held_out_score(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count) {
  return held_out(spec, std::move(rule), count).loss;
}

StudySummary run_study(const StudySpec& spec, bool resume,
                       const std::function<void(const GenerationProgress&)>& on_generation) {
  using Clock = std::chrono::steady_clock;
  const auto strategy = strategy_registry().make(spec.strategy, spec.strategy_params);
  const Evaluator evaluator(spec.evaluation);
  const std::string hash = study_hash(spec.resolved_yaml);

  StudyRecord record{spec.name, spec.resolved_yaml, hash, spec.seed, spec.evaluation.space->names()};
  Store store = resume ? Store::open(spec.store) : Store::create(spec.store, record);
  StudySummary summary;
  StrategyState state;
  std::int64_t generation = 0;
  summary.best_fitness = std::numeric_limits<double>::infinity();
  summary.best_theta = spec.init;
  double wall_before = 0.0;
  if (resume) {
    const StudyRecord stored = store.study();
    if (stored.yaml_hash != hash)
      throw Error(spec.store + ": the study file " + spec.file + " changed since this store was created (hash " +
                  hash + ", stored " + stored.yaml_hash + "): refusing to resume");
    summary.resumed = true;
    if (const auto cp = store.checkpoint()) {
      state = strategy->load(cp->strategy_state);
      generation = cp->next_generation;
      summary.best_theta = Eigen::Map<const Eigen::VectorXd>(cp->best_theta.data(), static_cast<Eigen::Index>(cp->best_theta.size()));
      summary.best_fitness = cp->best_fitness;
      summary.evaluations = cp->evaluations;
      summary.diverged = cp->diverged;
      wall_before = cp->wall_seconds;
    } else {
      state = strategy->init(spec.init);
    }
  } else {
    state = strategy->init(spec.init);
  }

  const auto start = Clock::now();
  auto elapsed = [&] { return wall_before + std::chrono::duration<double>(Clock::now() - start).count(); };
  summary.stop_reason = "generations";
  std::future<void> pending;
  std::optional<GenerationProgress> pending_progress;
  auto finish_commit = [&] {
    if (!pending.valid()) return;
    pending.get();   // rethrows a failed commit
    if (on_generation && pending_progress) on_generation(*pending_progress);
    pending_progress.reset();
  };
  // An exception (a failed commit, an interrupt from the callback) must not leave a commit
  // running against a store that is about to close.
  struct Join {
    std::future<void>& f;
    ~Join() {
      if (f.valid()) f.wait();
    }
  } join{pending};
  while (generation < spec.generations) {
    if (spec.max_evaluations > 0 && summary.evaluations >= spec.max_evaluations) {
      summary.stop_reason = "max_evaluations";
      break;
    }
    if (spec.wall_seconds > 0 && elapsed() >= spec.wall_seconds) {
      summary.stop_reason = "wall_seconds";
      break;
    }
    const double generation_start = elapsed();
    RandomStream rng(spec.seed, Purpose::strategy, {static_cast<std::uint64_t>(generation)});
    const Eigen::MatrixXd population = strategy->ask(state, rng);
    Eigen::MatrixXd clipped = population;
    for (Eigen::Index i = 0; i < clipped.rows(); ++i)
      clipped.row(i) = clipped.row(i).cwiseMax(spec.lower.transpose()).cwiseMin(spec.upper.transpose());
    const auto results = evaluator.evaluate(clipped, spec.seed, static_cast<std::uint64_t>(generation), Split::meta_train);

    Eigen::VectorXd fitness(population.rows());
    std::vector<CandidateRecord> candidates;
    GenerationRecord stats;
    stats.generation = generation;
    stats.best = std::numeric_limits<double>::infinity();
    std::vector<double> finite;
    for (Eigen::Index i = 0; i < population.rows(); ++i) {
      const auto& r = results[static_cast<std::size_t>(i)];
      fitness(i) = r.fitness;
      // A row of a column-major matrix is strided: copy it element by element.
      const Eigen::VectorXd row = clipped.row(i).transpose();
      const std::vector<double> theta(row.data(), row.data() + row.size());
      candidates.push_back({generation, i, theta, r.fitness, r.status == CandidateStatus::ok ? "ok" : "diverged"});
      if (r.status == CandidateStatus::diverged) ++stats.diverged;
      else finite.push_back(r.fitness);
      stats.best = std::min(stats.best, r.fitness);
      if (r.fitness < summary.best_fitness) {
        summary.best_fitness = r.fitness;
        summary.best_theta = clipped.row(i).transpose();
      }
    }
    // The strategy is told the fitness of the clipped point plus the squared distance (in
    // units of the bounds' width) of its own sample outside the bounds: without it a mean that
    // drifted outside sees flat fitness there and never comes back (pycma's BoundPenalty).
    for (Eigen::Index i = 0; i < population.rows(); ++i)
      fitness(i) += ((population.row(i) - clipped.row(i)).array() / (spec.upper - spec.lower).transpose().array().max(1e-300))
                        .square()
                        .sum();
    state = strategy->tell(state, population, fitness);
    if (!spec.store_all_candidates && !candidates.empty()) {   // the generation's best alone
      const auto best = std::min_element(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
        return a.status == "ok" && (b.status != "ok" || a.fitness < b.fitness);
      });
      candidates = {*best};
    }
    summary.evaluations += population.rows();
    summary.diverged += stats.diverged;
    double sum = 0.0;
    for (double f : finite) sum += f;
    stats.mean = finite.empty() ? std::numeric_limits<double>::infinity() : sum / static_cast<double>(finite.size());
    stats.median = finite.empty() ? std::numeric_limits<double>::infinity() : median(finite);
    stats.step_size = strategy->step_size(state);
    stats.evaluations = population.rows();
    stats.wall_seconds = elapsed() - generation_start;

    Checkpoint cp;
    cp.next_generation = generation + 1;
    cp.strategy_state = state.save();
    cp.best_theta.assign(summary.best_theta.data(), summary.best_theta.data() + summary.best_theta.size());
    cp.best_fitness = summary.best_fitness;
    cp.evaluations = summary.evaluations;
    cp.diverged = summary.diverged;
    cp.wall_seconds = elapsed();
    // The commit (a few fsyncs) overlaps the next generation's evaluation; at most one is in
    // flight, and a generation is reported only once it is safely stored.
    finish_commit();
    pending = std::async(std::launch::async, [&store, stats, candidates = std::move(candidates), cp] {
      store.commit_generation(stats, candidates, cp);
    });
    ++generation;
    pending_progress = GenerationProgress{generation,        spec.generations, summary.evaluations,
                                          summary.diverged,  summary.best_fitness, stats.best,
                                          stats.step_size,   cp.wall_seconds};
  }
  finish_commit();
  summary.generations = generation;
  summary.wall_seconds = elapsed();
  const HeldOut h = scores_in(spec, spec.evaluation, summary.best_theta, spec.held_out, Split::meta_test);
  summary.held_out_score = h.loss;
  summary.held_out_accuracy = h.accuracy;
  return summary;
}

}  // namespace plast
