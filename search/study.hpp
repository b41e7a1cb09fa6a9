#pragma once
// A search study: plain data loaded from YAML and validated before any work starts, and the
// loop that runs it — ask, evaluate, tell, commit — with a checkpoint per generation so that a
// killed study resumes exactly. The file is in plast's one study language (docs/architecture.md):
// components are {type: NAME, their parameters inline, entry keys}.
//
//   kind: search                              # required: plast run runs kind search
//   name: oja
//   seed: 1                                   # required
//   rule:                                     # the rule space: search/rule_spec.hpp
//     type: polynomial_hebbian                # its fixed parameters inline (the rest keep defaults)
//     search:                                 # θ: searched parameters, in this order
//       pre*post: {init: 0, lower: -2, upper: 2}
//       post^2*w: {init: 0, lower: -2, upper: 2}
//     # or: terms: all (or a list), each: {init, lower, upper}; l1: 1e-3; sharing: synapse (abcd)
//   task: {type: pca, steps: 1000, samples: 8, held_out: 32}   # samples: tasks per generation;
//                                             # held_out: meta-test tasks scored at the end
//   student: {hidden: [], activation: linear}   # optional: what is left out is the task's default
//   optimizer: {type: sgd, lr: 0.02}           # the inner loop's optimizer (η)
//   training: {epochs: 1, batch: 1}            # the inner budget
//   strategy: {type: cma_es, sigma0: 0.5}
//   budget: {generations: 150, max_evaluations: 0, wall_seconds: 0}   # 0: no limit
//   score: {aggregation: mean, objective: final}   # or worst; objective curve: each task scores
//                                             # the mean test loss over its learning curve (step 0
//                                             # and every training.eval_every steps), not the final
//                                             # loss (search/evaluator.hpp, MetaObjective). Held-out
//                                             # scores use the same objective.
//   store: out/oja.sqlite
//   store_candidates: all                     # or best: only each generation's best θ is stored
//                                             # (large θ: 128 × 3,522 values are 3.6 MB a generation)
//
// Candidates outside the bounds are clipped before they are evaluated (and stored clipped);
// the strategy is told the fitness of the clipped point for its own sample plus the squared
// distance of that sample outside the bounds (in units of their width), so that a mean that
// wandered outside is pulled back.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/config.hpp"
#include "search/evaluator.hpp"
#include "search/rule_spec.hpp"
#include "search/strategy.hpp"

namespace plast {

struct StudySpec {
  std::string name;
  std::string file;              // where it was read from
  std::string resolved_yaml;     // the study as read (comments dropped), stored with its hash
  std::uint64_t seed = 0;
  RuleSpec rule;
  EvaluationSpec evaluation;
  std::string task_type;
  ParamValues task_params;       // as given in the study (defaults fill the rest)
  int held_out = 32;
  std::string strategy;
  ParamValues strategy_params;
  Eigen::VectorXd init, lower, upper;
  std::int64_t generations = 100;
  std::int64_t max_evaluations = 0;   // 0: no limit
  double wall_seconds = 0.0;          // 0: no limit
  std::string store;
  bool store_all_candidates = true;   // false: each generation stores its best candidate only

  // Checks the plain data (Ceres' Options::IsValid): a study built in code is held to what a
  // loaded one is. Throws plast::Error naming the value ("generations = 0: must be >= 1").
  void validate() const;
};

StudySpec load_study(const std::string& path);
StudySpec load_study(const ConfigNode& root);
// The same study with another seed (`plast run --seed`): the stored YAML says that seed, so
// its hash, a resume and `plast inspect` all agree. The store gains "-seed<N>" before ".sqlite".
StudySpec with_seed(StudySpec spec, std::uint64_t seed);
// FNV-1a 64 of the resolved YAML, in hex: detects a study file that changed under a store.
std::string study_hash(const std::string& resolved_yaml);

struct GenerationProgress {
  std::int64_t generation = 0, generations = 0, evaluations = 0, diverged = 0;
  double best = 0.0, generation_best = 0.0, step_size = 0.0, wall_seconds = 0.0;
};

struct HeldOut {
  double loss = 0.0, accuracy = 0.0;   // the study's aggregation of the task losses; mean accuracy
  // Over the tasks' final losses (a diverged task counts as +inf): the median, which one
  // diverging task cannot move, and the standard error of the mean (NaN for fewer than 2).
  double median = 0.0, standard_error = 0.0;
  int diverged = 0;                    // tasks whose student diverged (loss +inf)
  std::vector<double> task_losses;
};

// Why a study stopped: its generations ran out, or one of the budget's limits was reached.
enum class StopReason { generations, max_evaluations, wall_seconds };
const char* to_string(StopReason reason);

struct StudySummary {
  Eigen::VectorXd best_theta;
  double best_fitness = 0.0;
  double held_out_score = 0.0;        // mean loss of the best θ on meta-test tasks
  double held_out_accuracy = 0.0;     // and its mean test accuracy (classification; else NaN)
  std::int64_t generations = 0, evaluations = 0, diverged = 0;
  double wall_seconds = 0.0;
  StopReason stop_reason = StopReason::generations;
  bool resumed = false;

  // One line, as Ceres' Summary::BriefReport: "stopped: generations after 150 generations,
  // 2400 evaluations (0 diverged), 12.3 s; best fitness 0.0123, held-out 0.0131".
  std::string brief_report() const;
};

// Runs (or, with resume, continues) the study, committing every generation to its store.
StudySummary run_study(const StudySpec& spec, bool resume,
                       const std::function<void(const GenerationProgress&)>& on_generation = {});

// Mean score (the study's objective: final loss or curve mean) of the rule with θ on `count`
// meta-test tasks (held out from the search).
double held_out_score(const StudySpec& spec, const Eigen::VectorXd& theta, int count);
// The same for any rule (a reference, a pruned rule), in the same harness and on the same tasks.
double held_out_score(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count);
// Both held-out metrics of a rule: the mean final loss and, for classification, accuracy (else NaN).
HeldOut held_out(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count);
// The same scores on `count` tasks of either split: meta-test is held_out's; meta-train tasks
// (those of generation 0, which the search also saw) are where baselines are tuned.
HeldOut score_on(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count, Split split);

}  // namespace plast
