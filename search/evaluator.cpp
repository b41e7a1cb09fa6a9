#include "search/evaluator.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/error.hpp"

namespace plast {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// One task's score from its training: the objective's loss (final, or the mean over the
// curve) on the data the split allows: selection data for meta-train, test for meta-test.
double task_score(const TrainResult& r, const Task& task, MetaObjective objective, Split split) {
  auto loss = [&](const CurvePoint& p) { return split == Split::meta_train ? selection_loss(task, p) : p.test_loss; };
  double score = loss(r.last());
  if (objective == MetaObjective::curve) {   // a non-finite point makes the sum non-finite: a divergence
    double sum = 0.0;
    for (const CurvePoint& p : r.curve) sum += loss(p);
    score = sum / static_cast<double>(r.curve.size());
  }
  return r.outcome == Outcome::diverged || !std::isfinite(score) ? kInf : score;
}

// The candidate's aggregate over its tasks, its status and fitness (loss + L1 penalty).
void aggregate(CandidateResult& r, const EvaluationSpec& spec, const Eigen::VectorXd& theta, bool classification) {
  bool diverged = false;
  for (double l : r.task_losses) diverged |= !std::isfinite(l);
  r.status = diverged ? CandidateStatus::diverged : CandidateStatus::ok;
  if (diverged) {
    r.loss = kInf;
  } else if (spec.aggregation == Aggregation::worst) {
    r.loss = *std::max_element(r.task_losses.begin(), r.task_losses.end());
  } else {
    double sum = 0.0;
    for (double l : r.task_losses) sum += l;
    r.loss = sum / static_cast<double>(r.task_losses.size());
  }
  r.fitness = r.loss;
  double correct = 0.0;
  for (double acc : r.task_accuracies) correct += acc;
  r.accuracy = classification ? correct / static_cast<double>(r.task_accuracies.size())
                              : std::numeric_limits<double>::quiet_NaN();
  if (spec.l1 > 0.0 && !diverged) r.fitness += spec.l1 * theta.cwiseAbs().sum();
}

}  // namespace

Evaluator::Evaluator(EvaluationSpec spec) : spec_(std::move(spec)) {
  if (!spec_.space) throw Error("evaluator: no rule space");
  if (!(spec_.l1 >= 0.0)) throw InvalidValue("l1", spec_.l1, "must be >= 0");
}

std::vector<CandidateResult> Evaluator::evaluate(const Eigen::MatrixXd& population, std::uint64_t seed,
                                                 std::uint64_t generation, Split split) const {
  const auto members = static_cast<int>(population.rows());
  const int n_tasks = spec_.tasks_per_generation;
  std::vector<Task> tasks(static_cast<std::size_t>(n_tasks));
  tbb::parallel_for(0, n_tasks, [&](int t) {
    tasks[static_cast<std::size_t>(t)] = spec_.tasks->sample(seed, task_index(generation, t), split);
  });
  if (split == Split::meta_train) check_selection_data(*spec_.tasks, tasks.front());
  // Rules are built once per member (a candidate's θ is out of bounds only if the study's
  // bounds allow it: such a rule is a counted divergence, not an error).
  std::vector<std::shared_ptr<const LearningRule>> rules(static_cast<std::size_t>(members));
  for (int m = 0; m < members; ++m) {
    try {
      rules[static_cast<std::size_t>(m)] = spec_.space->make(population.row(m).transpose());
    } catch (const InvalidValue&) {
    }
  }
  TrainBudget budget = spec_.budget;
  if (spec_.objective != MetaObjective::curve) {   // the curve keeps evaluate_start (true unless the training says so)
    budget.eval_every = std::numeric_limits<long long>::max();   // score only at the end
    budget.evaluate_start = false;
  }
  budget.alignment = false;   // no telemetry: a score needs only the losses
  // Task-major: consecutive jobs train on the same task data (it stays in cache). Every member
  // gets the same student of slot (generation, t).
  std::vector<Job> jobs;
  std::vector<std::pair<int, int>> slots;   // (member, task) of each job
  for (int t = 0; t < n_tasks; ++t) {
    const Task& task = tasks[static_cast<std::size_t>(t)];
    for (int m = 0; m < members; ++m) {
      if (!rules[static_cast<std::size_t>(m)]) continue;
      jobs.push_back({rules[static_cast<std::size_t>(m)].get(), &task, spec_.student.for_task(task), spec_.optimizer,
                      budget, student_seed(seed, generation, t)});
      slots.emplace_back(m, t);
    }
  }
  const std::vector<TrainResult> trained = run_jobs(jobs);

  std::vector<CandidateResult> results(static_cast<std::size_t>(members));
  for (auto& r : results) {
    r.task_losses.assign(static_cast<std::size_t>(n_tasks), kInf);
    r.task_accuracies.assign(static_cast<std::size_t>(n_tasks), 0.0);
  }
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const auto [m, t] = slots[j];
    const Task& task = tasks[static_cast<std::size_t>(t)];
    auto& r = results[static_cast<std::size_t>(m)];
    r.task_losses[static_cast<std::size_t>(t)] = task_score(trained[j], task, spec_.objective, split);
    r.task_accuracies[static_cast<std::size_t>(t)] =
        split == Split::meta_train ? selection_accuracy(task, trained[j].last()) : trained[j].last().test_accuracy;
  }
  for (int m = 0; m < members; ++m)
    aggregate(results[static_cast<std::size_t>(m)], spec_, population.row(m).transpose(), tasks[0].classification);
  return results;
}

}  // namespace plast
