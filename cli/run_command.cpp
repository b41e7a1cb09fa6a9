#include "cli/run_command.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/worker_threads.hpp"
#include "lib/error.hpp"
#include "lib/store.hpp"
#include "search/study.hpp"

namespace plast {
namespace {

struct RunFlags {
  std::string study, store;
  std::optional<int> threads;
  bool resume = false, json = false;
};

nlohmann::json number(double v) {
  // JSON has no inf/NaN: a diverged best is reported as null.
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

nlohmann::json params_json(const std::vector<std::string>& names, const Eigen::VectorXd& theta) {
  nlohmann::json j = nlohmann::json::object();
  for (std::size_t k = 0; k < names.size() && static_cast<Eigen::Index>(k) < theta.size(); ++k)
    j[names[k]] = theta(static_cast<Eigen::Index>(k));
  return j;
}

void run(const RunFlags& f) {
  StudySpec spec = load_study(f.study);
  if (!f.store.empty()) spec.store = f.store;
  const WorkerThreads threads(f.threads);
  if (!f.resume) {
    const auto parent = std::filesystem::path(spec.store).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
  }
  const bool tty = !f.json && isatty(STDOUT_FILENO);
  if (!f.json)
    std::cout << "plast run: " << spec.name << " — " << spec.strategy << " over " << spec.rule.searched.size()
              << " parameters of " << spec.rule.type << " on " << spec.task_type << " ("
              << spec.evaluation.tasks_per_generation << " tasks per evaluation), store " << spec.store
              << (f.resume ? " (resuming)" : "") << std::endl;
  const std::int64_t log_every = std::max<std::int64_t>(1, spec.generations / 20);
  const StudySummary s = run_study(spec, f.resume, [&](const GenerationProgress& p) {
    if (f.json) return;
    const double rate = p.wall_seconds > 0 ? static_cast<double>(p.evaluations) / p.wall_seconds : 0.0;
    const double eta = p.generation > 0 ? p.wall_seconds / static_cast<double>(p.generation) *
                                              static_cast<double>(p.generations - p.generation)
                                        : 0.0;
    char line[256];
    std::snprintf(line, sizeof line, "gen %5lld/%lld  best %.6g  gen-best %.6g  sigma %.3g  evals %lld (%.0f/s)  diverged %lld  eta %.0fs",
                  static_cast<long long>(p.generation), static_cast<long long>(p.generations), p.best, p.generation_best,
                  p.step_size, static_cast<long long>(p.evaluations), rate, static_cast<long long>(p.diverged), eta);
    if (tty) {
      std::cout << "\r" << line << "\x1b[K" << std::flush;
    } else if (p.generation % log_every == 0 || p.generation == p.generations) {
      std::cout << line << "\n";
    }
  });
  if (tty) std::cout << "\n";
  if (!f.json) {
    std::cout << "stopped: " << s.stop_reason << " after " << s.generations << " generations, " << s.evaluations
              << " evaluations (" << s.diverged << " diverged), " << s.wall_seconds << " s\n";
    std::cout << "best fitness " << s.best_fitness << ", held-out score " << s.held_out_score << "\nbest θ:";
    for (std::size_t k = 0; k < spec.rule.searched.size(); ++k)
      std::cout << "  " << spec.rule.searched[k].name << " = " << s.best_theta(static_cast<Eigen::Index>(k));
    std::cout << std::endl;
  } else {
    nlohmann::json j = {{"study", spec.name},
                        {"store", spec.store},
                        {"best_fitness", number(s.best_fitness)},
                        {"best_params", params_json(spec.evaluation.space->names(), s.best_theta)},
                        {"held_out_score", number(s.held_out_score)},
                        {"generations", s.generations},
                        {"evaluations", s.evaluations},
                        {"diverged", s.diverged},
                        {"wall_seconds", s.wall_seconds},
                        {"stop_reason", s.stop_reason},
                        {"resumed", s.resumed}};
    std::cout << j.dump() << std::endl;
  }
}

void inspect(const std::string& path, bool json) {
  const Store store = Store::open(path);
  const StudyRecord study = store.study();
  const auto generations = store.generations();
  const auto checkpoint = store.checkpoint();
  std::int64_t diverged = 0, evaluations = 0;
  for (const auto& g : generations) {
    diverged += g.diverged;
    evaluations += g.evaluations;
  }
  Eigen::VectorXd best;
  double best_fitness = std::numeric_limits<double>::infinity();
  if (checkpoint) {
    best = Eigen::Map<const Eigen::VectorXd>(checkpoint->best_theta.data(), static_cast<Eigen::Index>(checkpoint->best_theta.size()));
    best_fitness = checkpoint->best_fitness;
  }
  if (json) {
    nlohmann::json history = nlohmann::json::array();
    for (const auto& g : generations)
      history.push_back({{"generation", g.generation}, {"best", number(g.best)}, {"mean", number(g.mean)},
                         {"median", number(g.median)}, {"step_size", number(g.step_size)},
                         {"evaluations", g.evaluations}, {"diverged", g.diverged}, {"wall_seconds", g.wall_seconds}});
    nlohmann::json j = {{"study", study.name}, {"seed", study.seed}, {"best_fitness", number(best_fitness)},
                        {"best_params", params_json(study.param_names, best)}, {"generations", generations.size()},
                        {"evaluations", evaluations}, {"diverged", diverged}, {"history", history}};
    std::cout << j.dump() << std::endl;
    return;
  }
  std::cout << "study " << study.name << " (seed " << study.seed << "), store " << path << "\n"
            << generations.size() << " generations, " << evaluations << " evaluations, " << diverged << " diverged\n"
            << "best fitness " << best_fitness << "\nbest θ:\n";
  for (std::size_t k = 0; k < study.param_names.size() && static_cast<Eigen::Index>(k) < best.size(); ++k)
    std::cout << "  " << study.param_names[k] << " = " << best(static_cast<Eigen::Index>(k)) << "\n";
  std::cout << "history (generation: best / mean / median, step size):\n";
  const std::size_t step = std::max<std::size_t>(1, generations.size() / 15);
  for (std::size_t i = 0; i < generations.size(); i += step) {
    const auto& g = generations[i];
    std::printf("  %5lld: %.6g / %.6g / %.6g, %.3g\n", static_cast<long long>(g.generation), g.best, g.mean, g.median,
                g.step_size);
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Run a rule-search study (YAML), committing each generation to its store");
  cmd->add_option("study", f->study, "study YAML file (see studies/)")->required();
  cmd->add_option("--store", f->store, "store file (default: the study's `store`)");
  cmd->add_option("--threads", f->threads, "worker threads (default: all cores); results do not depend on it");
  cmd->add_flag("--resume", f->resume, "continue a killed study from its store's last generation");
  cmd->add_flag("--json", f->json, "print only one JSON object at the end");
  cmd->callback([f] { run(*f); });
}

void add_validate_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("validate", "Check a study file without running it");
  cmd->add_option("study", *path, "study YAML file")->required();
  cmd->callback([path] {
    const StudySpec s = load_study(*path);
    std::cout << *path << ": ok — " << s.strategy << " over " << s.rule.searched.size() << " parameters of "
              << s.rule.type << " on " << s.task_type << ", " << s.generations << " generations, store "
              << s.store << std::endl;
  });
}

void add_inspect_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  auto json = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("inspect", "Show what a study found: best θ by name, fitness history, counts");
  cmd->add_option("store", *path, "study store (SQLite file)")->required();
  cmd->add_flag("--json", *json, "print one JSON object");
  cmd->callback([path, json] { inspect(*path, *json); });
}

}  // namespace plast
