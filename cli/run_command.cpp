#include "cli/run_command.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/json_values.hpp"
#include "cli/worker_threads.hpp"
#include "cli/train_config.hpp"
#include "lib/config_sections.hpp"
#include "lib/error.hpp"
#include "lib/store.hpp"
#include "search/study.hpp"

namespace plast {
namespace {

struct RunFlags {
  std::string study, store;
  std::optional<int> threads;
  std::optional<std::uint64_t> seed;
  bool resume = false, json = false;
};

void run(const RunFlags& f) {
  StudySpec spec = load_study(f.study);
  if (f.seed) spec = with_seed(std::move(spec), *f.seed);
  if (!f.store.empty()) spec.store = f.store;
  const WorkerThreads threads(f.threads);
  if (!f.resume) {
    const auto parent = std::filesystem::path(spec.store).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent);
  }
  const bool tty = !f.json && isatty(STDOUT_FILENO);
  if (!f.json)
    std::cout << "plast run: " << spec.name << " — " << spec.strategy << " over " << spec.evaluation.space->dimension()
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
    std::cout << s.brief_report() << "\nbest θ:";
    const auto& names = spec.evaluation.space->names();
    constexpr std::size_t kShown = 30;   // array spaces have thousands: `plast inspect --json` lists all
    for (std::size_t k = 0; k < names.size() && k < kShown; ++k)
      std::cout << "  " << names[k] << " = " << s.best_theta(static_cast<Eigen::Index>(k));
    if (names.size() > kShown) std::cout << "  … " << names.size() - kShown << " more";
    std::cout << std::endl;
  } else {
    nlohmann::json j = {{"study", spec.name},
                        {"store", spec.store},
                        {"best_fitness", json_number(s.best_fitness)},
                        {"best_params", params_json(spec.evaluation.space->names(), s.best_theta)},
                        {"held_out_score", json_number(s.held_out_score)},
                        {"held_out_accuracy", json_number(s.held_out_accuracy)},
                        {"generations", s.generations},
                        {"evaluations", s.evaluations},
                        {"diverged", s.diverged},
                        {"wall_seconds", s.wall_seconds},
                        {"stop_reason", to_string(s.stop_reason)},
                        {"resumed", s.resumed}};
    std::cout << j.dump() << std::endl;
  }
}

}  // namespace

void add_run_command(CLI::App& app) {
  auto f = std::make_shared<RunFlags>();
  CLI::App* cmd = app.add_subcommand("run", "Run a rule-search study (YAML), committing each generation to its store");
  cmd->add_option("study", f->study, "study YAML file (see studies/)")->required();
  cmd->add_option("--store", f->store, "store file (default: the study's `store`)");
  cmd->add_option("--threads", f->threads, "worker threads (default: all cores); results do not depend on it");
  cmd->add_option("--seed", f->seed, "run the study with this seed instead of its own (stored with it)");
  cmd->add_flag("--resume", f->resume, "continue a killed study from its store's last generation");
  cmd->add_flag("--json", f->json, "print only one JSON object at the end");
  cmd->callback([f] { run(*f); });
}

// Checks a study file of any kind with the loader of its kind — every value, without the
// outputs of other studies that it names (Inputs::skip) — and says what it would run.
static void validate_study_file(const std::string& path) {
  const ConfigNode root = ConfigNode::load_file(path);
  switch (read_kind(root)) {
    case StudyKind::search: {
      const StudySpec s = load_study(root);
      std::cout << path << ": ok — search: " << s.strategy << " over " << s.evaluation.space->dimension()
                << " parameters of " << s.rule.type << " on " << s.task_type << ", " << s.generations
                << " generations, store " << s.store << " (plast run)" << std::endl;
      return;
    }
    case StudyKind::train: {
      const TrainConfig c = load_train_config(root, Inputs::skip);
      c.validate();
      std::cout << path << ": ok — train: " << c.rules.size() << " rule" << (c.rules.size() == 1 ? "" : "s") << " on "
                << c.task.type << ", " << c.seeds.size() << " seed" << (c.seeds.size() == 1 ? "" : "s")
                << " (plast train)" << std::endl;
      return;
    }
    case StudyKind::compare: {
      const CompareConfig c = load_compare_config(root, Inputs::skip);
      c.train.validate();
      std::cout << path << ": ok — compare: " << c.train.rules.size() << " rules x " << c.tasks.size() << " tasks x "
                << c.train.seeds.size() << " seeds (plast compare)" << std::endl;
      return;
    }
  }
}

void add_validate_command(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("validate", "Check a study file of any kind (train, compare, search) without running it");
  cmd->add_option("study", *path, "study YAML file")->required();
  cmd->callback([path] { validate_study_file(*path); });
}

}  // namespace plast
