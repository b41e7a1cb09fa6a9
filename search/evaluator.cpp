#include "search/evaluator.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/error.hpp"

namespace plast {

std::uint64_t task_index(std::uint64_t generation, int task) {
  return (generation << 24) | static_cast<std::uint64_t>(task);
}

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
  // Rules are built once per member (a candidate's θ is out of bounds only if the study's
  // bounds allow it: such a rule is a counted divergence, not an error).
  std::vector<std::shared_ptr<const LearningRule>> rules(static_cast<std::size_t>(members));
  std::vector<CandidateResult> results(static_cast<std::size_t>(members));
  for (int m = 0; m < members; ++m) {
    results[static_cast<std::size_t>(m)].task_losses.assign(static_cast<std::size_t>(n_tasks), 0.0);
    results[static_cast<std::size_t>(m)].task_accuracies.assign(static_cast<std::size_t>(n_tasks), 0.0);
    try {
      rules[static_cast<std::size_t>(m)] = spec_.space->make(population.row(m).transpose());
    } catch (const InvalidValue&) {
      rules[static_cast<std::size_t>(m)] = nullptr;
    }
  }
  tbb::parallel_for(0, members * n_tasks, [&](int slot) {
    // Task-major: consecutive slots train on the same task data (it stays in cache).
    const int t = slot / members, m = slot % members;
    auto& loss = results[static_cast<std::size_t>(m)].task_losses[static_cast<std::size_t>(t)];
    const auto& rule = rules[static_cast<std::size_t>(m)];
    if (!rule) {
      loss = std::numeric_limits<double>::infinity();
      return;
    }
    const Task& task = tasks[static_cast<std::size_t>(t)];
    StudentSpec student = spec_.student;
    if (!spec_.student_given) {
      student.hidden = task.default_hidden;
      student.activation = task.default_activation;
    }
    // The same student for every member: its seed depends on (generation, task) only.
    RandomStream key(seed, Purpose::init_weights, {generation, static_cast<std::uint64_t>(t)});
    Student s = make_student(task, student, *rule, spec_.optimizer, spec_.budget.batch, key.next_u64());
    TrainBudget budget = spec_.budget;
    const bool curve = spec_.objective == MetaObjective::curve;
    if (!curve) {   // the curve keeps the study's evaluate_start (true unless the training says so)
      budget.eval_every = std::numeric_limits<long long>::max();   // score only at the end
      budget.evaluate_start = false;
    }
    budget.alignment = false;   // no telemetry: a score needs only the test loss
    const TrainResult r = train(s, *rule, task, budget);
    double score = r.last().test_loss;
    if (curve) {   // a non-finite point makes the sum non-finite: a divergence, as below
      double sum = 0.0;
      for (const CurvePoint& p : r.curve) sum += p.test_loss;
      score = sum / static_cast<double>(r.curve.size());
    }
    results[static_cast<std::size_t>(m)].task_accuracies[static_cast<std::size_t>(t)] = r.last().test_accuracy;
    loss = r.outcome == Outcome::diverged || !std::isfinite(score) ? std::numeric_limits<double>::infinity() : score;
  });
  for (int m = 0; m < members; ++m) {
    auto& r = results[static_cast<std::size_t>(m)];
    bool diverged = false;
    for (double l : r.task_losses) diverged |= !std::isfinite(l);
    r.status = diverged ? CandidateStatus::diverged : CandidateStatus::ok;
    if (diverged) {
      r.loss = std::numeric_limits<double>::infinity();
    } else if (spec_.aggregation == Aggregation::worst) {
      r.loss = *std::max_element(r.task_losses.begin(), r.task_losses.end());
    } else {
      double sum = 0.0;
      for (double l : r.task_losses) sum += l;
      r.loss = sum / static_cast<double>(r.task_losses.size());
    }
    r.fitness = r.loss;
    double correct = 0.0;
    for (double acc : r.task_accuracies) correct += acc;
    r.accuracy = tasks[0].classification ? correct / static_cast<double>(n_tasks) : std::numeric_limits<double>::quiet_NaN();
    if (spec_.l1 > 0.0 && !diverged) r.fitness += spec_.l1 * population.row(m).cwiseAbs().sum();
  }
  return results;
}

}  // namespace plast
