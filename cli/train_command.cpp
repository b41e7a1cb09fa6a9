#include "cli/train_command.hpp"

#include <tbb/parallel_for.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>

#include "cli/flag_values.hpp"
#include "cli/json_values.hpp"
#include "cli/output_files.hpp"
#include "cli/train_config.hpp"
#include "cli/worker_threads.hpp"
#include "lib/error.hpp"
#include "lib/harness.hpp"
#include "lib/weights_file.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"

namespace plast {
namespace {

struct TrainFlags {
  std::string config_path;
  std::string task, rule, hidden, activation, optimizer, schedule, csv = "out/train-curves.csv", seed_list;
  std::string save_weights;   // the trained network's file (lib/weights_file.hpp), one run only
  std::vector<std::string> task_params, rule_params;
  std::optional<int> epochs, batch, seeds, threads;
  std::optional<long long> eval_every, max_steps;
  std::optional<double> lr, momentum, weight_decay;
  bool json = false, quiet = false;
};

struct Run {
  std::string rule;
  std::size_t rule_index = 0;
  std::uint64_t seed = 0;
  TrainResult result;
};

ParamValues parse_key_values(const std::vector<std::string>& items, const std::string& flag) {
  ParamValues out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0) throw Error(flag + " " + item + ": expected NAME=VALUE");
    const std::string key = item.substr(0, eq), text = item.substr(eq + 1);
    std::size_t used = 0;
    double value = 0.0;
    try {
      value = std::stod(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != text.size() || text.empty() || !std::isfinite(value))
      throw Error(flag + " " + item + ": value '" + text + "' is not a number");
    out[key] = value;
  }
  return out;
}


// Flags override what the YAML file said. Their values are checked afterwards by
// TrainConfig::validate, whose messages name the flag.
TrainConfig resolve_config(const TrainFlags& f) {
  TrainConfig c = f.config_path.empty() ? TrainConfig{} : load_train_config(ConfigNode::load_file(f.config_path));
  if (!f.task.empty()) {
    c.task = {f.task, {}};
    task_registry().get(f.task);
  }
  if (!f.task_params.empty()) {
    c.task.params = parse_key_values(f.task_params, "--task-param");
    c.task.node.reset();   // the values are the flag's now, not the file's
  }
  if (!f.rule.empty()) {
    c.rules.clear();
    for (const auto& name : split_commas(f.rule)) {
      rule_registry().get(name);
      c.rules.push_back({name, {}});
    }
  }
  if (!f.rule_params.empty()) {
    const auto params = parse_key_values(f.rule_params, "--rule-param");
    for (auto& r : c.rules) {
      r.params = params;
      r.node.reset();
    }
  }
  if (!f.hidden.empty()) {
    c.student.spec.hidden = f.hidden == "none" ? std::vector<int>{} : parse_int_list(f.hidden, "--hidden");
    c.student.hidden_given = true;
  }
  if (!f.activation.empty()) {
    c.student.spec.activation = parse_activation(f.activation);
    c.student.activation_given = true;
  }
  if (!f.optimizer.empty()) c.optimizer.type = f.optimizer;
  if (f.lr) c.optimizer.lr = *f.lr;
  if (!f.schedule.empty()) c.optimizer.schedule = f.schedule;
  if (f.momentum) c.optimizer.momentum = *f.momentum;
  if (f.weight_decay) c.optimizer.weight_decay = *f.weight_decay;
  if (f.epochs) c.budget.epochs = *f.epochs;
  if (f.batch) c.budget.batch = *f.batch;
  if (f.eval_every) c.budget.eval_every = *f.eval_every;
  if (f.max_steps) c.budget.max_steps = *f.max_steps;
  if (!f.seed_list.empty()) {
    c.seeds.clear();
    for (int s : parse_int_list(f.seed_list, "--seed")) {
      if (s < 0) throw InvalidValue("--seed", s, "must be >= 0");
      c.seeds.push_back(static_cast<std::uint64_t>(s));
    }
  }
  if (f.seeds) {
    if (*f.seeds < 1) throw InvalidValue("--seeds", *f.seeds, "must be >= 1");
    const std::uint64_t first = c.seeds.empty() ? 1 : c.seeds.front();
    c.seeds.clear();
    for (int i = 0; i < *f.seeds; ++i) c.seeds.push_back(first + static_cast<std::uint64_t>(i));
  }
  try {
    c.validate();
  } catch (const InvalidValue& e) {
    // Every value from the file was checked with its location already: this one is a flag's.
    std::string flag = e.key() == "type" ? "optimizer" : e.key();  // the optimizer's type is --optimizer
    for (auto& ch : flag) ch = ch == '_' ? '-' : ch;
    if (flag.rfind("--", 0) != 0) flag = "--" + flag;
    throw Error(flag + " " + std::string(e.what()).substr(e.key().size() + 1));
  }
  return c;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// Which telemetry columns the printed table has: feedback angles when some rule has feedback
// matrices, SNRs when some rule estimates the gradient (the others print "-" there).
struct TableColumns {
  int hidden_layers = 0;
  bool feedback = false, snr = false;
};

std::string header(const Task& task, const TableColumns& t, bool with_run) {
  std::string h = with_run ? "rule" + std::string(22, ' ') + "  seed " : "";
  h += " epoch  train_loss   test_loss";
  if (task.classification) h += "  test_acc";
  for (int l = 1; l <= t.hidden_layers; ++l) h += "  angle_h" + std::to_string(l);
  if (t.feedback)
    for (int l = 1; l <= t.hidden_layers; ++l) h += "     fb_h" + std::to_string(l);
  if (t.snr) {
    for (int l = 1; l <= t.hidden_layers; ++l) h += "    snr_h" + std::to_string(l);
    h += "   snr_out";
  }
  std::string notes;
  if (t.hidden_layers > 0) notes += "angle: deg between rule update and -dL/dW";
  if (t.feedback) notes += "; fb: deg between B_l and W_l^T";
  if (t.snr) notes += std::string(notes.empty() ? "" : "; ") + "snr: |g|^2/E|update-g|^2";
  return notes.empty() ? h : h + "   (" + notes + ")";
}

std::string row(const Task& task, const TableColumns& t, const CurvePoint& p, const std::string& prefix) {
  std::string r = prefix + fmt("%6.2f", p.epoch) + fmt("  %10.5f", p.train_loss) + fmt("  %10.5f", p.test_loss);
  if (task.classification) r += fmt("  %7.2f%%", 100.0 * p.test_accuracy);
  for (double a : p.alignment_deg) r += fmt("  %8.1f", a);
  auto cells = [&](const std::vector<double>& values, std::size_t count, const char* f) {
    for (std::size_t k = 0; k < count; ++k) r += k < values.size() ? fmt(f, values[k]) : "         -";
  };
  const auto hidden = static_cast<std::size_t>(t.hidden_layers);
  if (t.feedback) cells(p.feedback_angle_deg, hidden, "  %8.1f");
  if (t.snr) cells(p.snr, hidden + 1, "  %8.3g");
  return r;
}

// Per layer, the mean over runs of one telemetry vector (runs without it are skipped; empty
// when none has it). Non-finite values stay in the mean, so a NaN is reported as null.
std::vector<double> mean_per_layer(const std::vector<std::vector<double>>& per_run) {
  std::vector<double> sum;
  std::size_t count = 0;
  for (const auto& v : per_run) {
    if (v.empty()) continue;
    if (sum.empty()) sum.assign(v.size(), 0.0);
    for (std::size_t k = 0; k < v.size() && k < sum.size(); ++k) sum[k] += v[k];
    ++count;
  }
  for (double& x : sum) x /= static_cast<double>(count);
  return sum;
}

nlohmann::json json_list(const std::vector<double>& v) {
  nlohmann::json j = nlohmann::json::array();
  for (double x : v) j.push_back(json_number(x));
  return j;
}

double mean(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}
double sd(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0.0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / static_cast<double>(v.size() - 1));
}

void write_csv(const std::string& path, const Task& task, const std::vector<Run>& runs) {
  std::vector<CurveRun> curves;
  for (const auto& r : runs) curves.push_back({task.name, r.rule, r.seed, &r.result});
  write_curve_csv(path, curves);
}

nlohmann::json rule_summary(const Task& task, const TrainConfig& c, const std::string& rule,
                            const std::vector<const Run*>& runs) {
  std::vector<double> acc, loss, speed;
  std::vector<std::vector<double>> angles, feedback, ratios, snrs;
  nlohmann::json per_seed = nlohmann::json::array();
  int diverged = 0;
  for (const Run* r : runs) {
    const auto& last = r->result.last();
    diverged += r->result.outcome == Outcome::diverged;
    acc.push_back(last.test_accuracy);
    loss.push_back(last.test_loss);
    speed.push_back(r->result.train_samples_per_s);
    angles.push_back(last.alignment_deg);
    feedback.push_back(last.feedback_angle_deg);
    ratios.push_back(last.norm_ratio);
    snrs.push_back(last.snr);
    nlohmann::json seed = {{"seed", r->seed}, {"test_loss", last.test_loss},
                           {"test_accuracy", task.classification ? nlohmann::json(last.test_accuracy) : nlohmann::json()},
                           {"alignment_deg", last.alignment_deg}, {"train_samples_per_s", r->result.train_samples_per_s},
                           {"steps", r->result.steps},
                           {"outcome", r->result.outcome == Outcome::ok ? "ok" : "diverged"}};
    if (!last.feedback_angle_deg.empty()) {
      seed["feedback_angle_deg"] = json_list(last.feedback_angle_deg);
      seed["norm_ratio"] = json_list(last.norm_ratio);
    }
    if (!last.snr.empty()) seed["snr"] = json_list(last.snr);
    per_seed.push_back(std::move(seed));
  }
  std::vector<double> mean_angles;
  for (std::size_t l = 0; !angles.empty() && l < angles[0].size(); ++l) {
    std::vector<double> a;
    for (const auto& v : angles) a.push_back(v[l]);
    mean_angles.push_back(mean(a));
  }
  nlohmann::json j = {{"task", task.name}, {"rule", rule}, {"epochs", c.budget.epochs},
                      {"test_loss", mean(loss)}, {"test_loss_sd", sd(loss)},
                      {"train_samples_per_s", mean(speed)}, {"alignment_deg", mean_angles},
                      {"diverged", diverged}, {"runs", per_seed}};
  if (task.classification) {
    j["test_accuracy"] = mean(acc);
    j["test_accuracy_sd"] = sd(acc);
  }
  // Telemetry of the last evaluation, mean over seeds, only for rules it applies to:
  // ∠(W_lᵀ, B_l) and ‖B_l‖/‖W_l‖ per hidden layer, the SNR per layer and the output.
  if (const auto f = mean_per_layer(feedback); !f.empty()) {
    j["feedback_angle_deg"] = json_list(f);
    j["norm_ratio"] = json_list(mean_per_layer(ratios));
  }
  if (const auto s = mean_per_layer(snrs); !s.empty()) j["snr"] = json_list(s);
  return j;
}

// The table's telemetry columns, from each rule's hooks on a throwaway student.
TableColumns columns_of(const std::vector<std::shared_ptr<const LearningRule>>& rules, const Task& task,
                        const StudentSpec& student, const TrainConfig& c) {
  TableColumns columns;
  columns.hidden_layers = static_cast<int>(student.hidden.size());
  for (const auto& rule : rules) {
    columns.snr |= rule->estimates_gradient();
    if (columns.hidden_layers > 0) {
      const Student probe = make_student(task, student, *rule, c.optimizer, 1, c.seeds.front());
      columns.feedback |= rule->feedback_matrix(*probe.rule_state, 1).has_value();
    }
  }
  return columns;
}

void print_banner(const Task& first, const StudentSpec& student, const TrainConfig& c, std::size_t runs,
                  const TableColumns& columns) {
  std::string shape = std::to_string(first.input_size);
  for (int h : student.hidden) shape += "-" + std::to_string(h);
  shape += "-" + std::to_string(first.output_size) + " " + std::string(to_string(student.activation));
  std::cout << "plast train: task " << first.name << " (" << first.train->size() << " train, "
            << (first.validation ? first.validation->size() : 0) << " validation, " << first.test->size()
            << " test), student " << shape << ", optimizer " << c.optimizer.type << " lr " << c.optimizer.lr
            << ", batch " << c.budget.batch << ", " << c.budget.epochs << " epochs, " << runs << " run"
            << (runs == 1 ? "" : "s") << "\n"
            << header(first, columns, runs != 1) << std::endl;
}

// The summary line of one rule (mean ± sd over seeds), from its JSON summary.
std::string summary_line(const Task& first, const std::string& rule, const nlohmann::json& j) {
  std::string line = "  " + rule;
  line.resize(30, ' ');
  if (first.classification)
    line += "test_acc " + fmt("%.2f", 100.0 * j["test_accuracy"].get<double>()) + " ± " +
            fmt("%.2f%%", 100.0 * j["test_accuracy_sd"].get<double>());
  line += "  test_loss " + fmt("%.4g", j["test_loss"].get<double>()) + " ± " + fmt("%.2g", j["test_loss_sd"].get<double>());
  // null (a NaN) prints as nan.
  auto numbers = [&](const char* label, const nlohmann::json& values, const char* f) {
    if (values.empty()) return;
    line += label;
    for (const auto& a : values) line += fmt(f, a.is_number() ? a.get<double>() : std::nan(""));
  };
  numbers("  angles", j["alignment_deg"], " %.1f");
  if (j.contains("feedback_angle_deg")) {
    numbers("  fb", j["feedback_angle_deg"], " %.1f");
    numbers("  |B|/|W|", j["norm_ratio"], " %.2f");
  }
  if (j.contains("snr")) numbers("  snr", j["snr"], " %.3g");
  line += "  " + fmt("%.0f", j["train_samples_per_s"].get<double>()) + " samples/s";
  if (j["diverged"].get<int>() > 0) line += "  DIVERGED " + std::to_string(j["diverged"].get<int>());
  return line;
}

void report(const TrainFlags& flags, const TrainConfig& c, const Task& first, const std::vector<Run>& runs) {
  write_csv(flags.csv, first, runs);
  if (!flags.quiet)
    std::cout << "\nsummary (last evaluation, mean ± sd over " << c.seeds.size() << " seed"
              << (c.seeds.size() == 1 ? "" : "s") << ")\n";
  nlohmann::json results = nlohmann::json::array();
  for (std::size_t r = 0; r < c.rules.size(); ++r) {
    std::vector<const Run*> mine;
    for (const auto& run : runs)
      if (run.rule_index == r) mine.push_back(&run);
    auto j = rule_summary(first, c, c.rules[r].type, mine);
    if (!flags.quiet) std::cout << summary_line(first, c.rules[r].type, j) << "\n";
    results.push_back(std::move(j));
  }
  if (!flags.quiet) std::cout << "curves: " << flags.csv << std::endl;
  if (!flags.quiet && !flags.save_weights.empty()) std::cout << "weights: " << flags.save_weights << std::endl;
  if (flags.json) {
    nlohmann::json out = results.size() == 1 ? results[0]
                                             : nlohmann::json{{"task", first.name}, {"epochs", c.budget.epochs},
                                                              {"results", results}};
    std::cout << out.dump() << std::endl;
  }
}

// The grid of rules × seeds, one harness job each, on the task instance of each seed
// (lib/harness.hpp: slot (0, 0), the same task and student as under compare and search).
void run_train(const TrainFlags& flags) {
  const TrainConfig c = resolve_config(flags);
  const WorkerThreads threads(flags.threads);
  const auto family = make_component(task_registry(), c.task);
  std::vector<std::shared_ptr<const LearningRule>> rules;
  for (const auto& r : c.rules) rules.push_back(make_rule(r));
  const std::vector<Task> tasks = sample_instances(*family, c.seeds, Split::meta_train);
  const Task& first = tasks.front();
  const StudentSpec student = c.student.for_task(first);
  const TableColumns columns = columns_of(rules, first, student, c);

  std::vector<Run> runs;
  std::vector<Job> jobs;
  for (std::size_t r = 0; r < rules.size(); ++r)
    for (std::size_t i = 0; i < c.seeds.size(); ++i) {
      runs.push_back({c.rules[r].type, r, c.seeds[i], {}});
      jobs.push_back({rules[r].get(), &tasks[i], student, c.optimizer_for(r), c.budget, student_seed(c.seeds[i], 0, 0)});
    }
  const bool single = runs.size() == 1;
  if (!flags.save_weights.empty() && !single)
    throw Error("--save-weights " + flags.save_weights + ": needs one rule and one seed (this is " +
                std::to_string(runs.size()) + " runs)");
  if (!flags.quiet) print_banner(first, student, c, runs.size(), columns);
  JobCallbacks callbacks;
  if (!flags.quiet)
    callbacks.on_point = [&](std::size_t i, const CurvePoint& p) {
      char prefix[64];
      std::snprintf(prefix, sizeof prefix, "%-26s %5llu ", runs[i].rule.c_str(), static_cast<unsigned long long>(runs[i].seed));
      std::cout << row(first, columns, p, single ? "" : prefix) << std::endl;
    };
  if (!flags.save_weights.empty())
    callbacks.on_done = [&](std::size_t, const Student& s, const TrainResult&) { save_weights(s.net, flags.save_weights); };
  std::vector<TrainResult> results = run_jobs(jobs, callbacks);
  for (std::size_t i = 0; i < runs.size(); ++i) runs[i].result = std::move(results[i]);
  report(flags, c, first, runs);
}

}  // namespace

void add_train_command(CLI::App& app) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* cmd = app.add_subcommand("train", "Train students with learning rules on a task (flags override the YAML file)");
  // No CLI::ExistingFile check: it runs before unknown flags are reported, so
  // `--lerning-rate 0.1` read as "config: File does not exist: 0.1". Loading the file
  // reports a missing one ("PATH: cannot open file").
  cmd->add_option("config", flags->config_path, "study file of kind train (task, rule(s), student, optimizer, training, seed(s))");
  cmd->add_option("--task", flags->task, "task family (plast list tasks), e.g. fashion_mnist, linear_teacher");
  cmd->add_option("--task-param", flags->task_params, "task parameter NAME=VALUE (repeatable)");
  cmd->add_option("--rule", flags->rule,
                  "rule or comma-separated rules (plast list rules), e.g. backprop,feedback_alignment");
  cmd->add_option("--rule-param", flags->rule_params, "rule parameter NAME=VALUE for every rule given (repeatable)");
  cmd->add_option("--hidden", flags->hidden, "hidden layer widths, e.g. 256,256 ('none' for no hidden layer)");
  cmd->add_option("--act", flags->activation, "hidden activation: tanh, relu, sigmoid, linear");
  cmd->add_option("--optimizer", flags->optimizer, "sgd, momentum or adam (default momentum)");
  cmd->add_option("--lr", flags->lr, "learning rate (default 0.01)");
  cmd->add_option("--schedule", flags->schedule, "learning-rate schedule: constant or cosine (default constant)");
  cmd->add_option("--momentum", flags->momentum, "momentum coefficient (default 0.9)");
  cmd->add_option("--weight-decay", flags->weight_decay, "weight decay (default 0)");
  cmd->add_option("--epochs", flags->epochs, "training epochs (default 10)");
  cmd->add_option("--batch", flags->batch, "minibatch size (default 64)");
  cmd->add_option("--eval-every", flags->eval_every, "evaluate every N steps (default: once per epoch)");
  cmd->add_option("--max-steps", flags->max_steps, "stop after N steps (default: no limit)");
  cmd->add_option("--seed", flags->seed_list, "seed or comma-separated seeds (default 1)");
  cmd->add_option("--seeds", flags->seeds, "run N seeds, starting at --seed");
  cmd->add_option("--threads", flags->threads, "worker threads (default: all cores)");
  cmd->add_option("--csv", flags->csv, "where to write the learning curves (default out/train-curves.csv)");
  cmd->add_option("--save-weights", flags->save_weights,
                  "write the trained network to this file (one rule, one seed), e.g. a distillation teacher");
  cmd->add_flag("--json", flags->json, "end stdout with one JSON object of the results");
  cmd->add_flag("--quiet", flags->quiet, "print only the JSON object (with --json)");
  cmd->callback([flags] { run_train(*flags); });
}

}  // namespace plast
