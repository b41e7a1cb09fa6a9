#pragma once
// The evaluator of the outer loop: scores a population of rule parameters θ by training
// students with each candidate's rule on the same task samples. Its (member, task) pairs are
// jobs of the harness (lib/harness.hpp: one runner and one seed convention for every
// command), so the fitness is bitwise identical with 1, 2 or N threads. Members of one
// generation see the same tasks and the same initial students (common random numbers).
// Meta-train tasks are scored on their selection data (validation, or a test set of their
// own: lib/harness.hpp, check_selection_data); meta-test tasks, which only report, on test.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/harness.hpp"
#include "lib/learning_rule.hpp"
#include "lib/optimizer.hpp"
#include "lib/params.hpp"
#include "lib/task.hpp"
#include "lib/train.hpp"
#include "rules/rule_space.hpp"

namespace plast {

enum class Aggregation { mean, worst };

// What one task's score is (a study's `score.objective`). final_loss: the test loss after the
// budget. curve: the mean test loss over every point of the learning curve — before the first
// step and every `eval_every` steps (at each epoch's end when eval_every is 0), and at the end —
// i.e. the area under the learning curve per evaluation, which rewards a rule that gets low
// early and stays low, not one tuned to the loss at one step. `training: {evaluate_start:
// false}` leaves out the point before the first step: a learned initialization (meta_sgd) is
// then scored only on what it reaches after 1, 2, … steps, not on its untrained loss.
enum class MetaObjective { final_loss, curve };

struct EvaluationSpec {
  std::shared_ptr<const RuleSpace> space;   // θ ↦ rule; its names() are θ's coordinates
  double l1 = 0.0;                       // fitness += l1 · Σ|θ_k| (sparse rules; 0: none)
  std::shared_ptr<const TaskFamily> tasks;
  int tasks_per_generation = 8;
  StudentChoice student;                 // what is not given: the task's default student
  OptimizerSpec optimizer;
  TrainBudget budget;
  Aggregation aggregation = Aggregation::mean;
  MetaObjective objective = MetaObjective::final_loss;
};

enum class CandidateStatus { ok, diverged };

struct CandidateResult {
  double fitness = 0.0;                  // loss + the L1 penalty: what the strategy minimizes
  double loss = 0.0;                     // aggregated task scores (the objective's: final test
                                         // loss or curve mean); +inf when diverged
  CandidateStatus status = CandidateStatus::ok;
  std::vector<double> task_losses;
  double accuracy = 0.0;                 // mean final test accuracy over the tasks (classification;
                                         // NaN for other tasks)
  std::vector<double> task_accuracies;
};

class Evaluator {
 public:
  explicit Evaluator(EvaluationSpec spec);

  // Scores each row of `population` (one θ per row) on the tasks of (seed, generation, split).
  std::vector<CandidateResult> evaluate(const Eigen::MatrixXd& population, std::uint64_t seed,
                                        std::uint64_t generation, Split split) const;

  const EvaluationSpec& spec() const { return spec_; }

 private:
  EvaluationSpec spec_;
};

}  // namespace plast
