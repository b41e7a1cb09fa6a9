#include "lib/harness.hpp"

#include <tbb/parallel_for.h>

#include <mutex>

#include "lib/error.hpp"
#include "lib/random.hpp"

namespace plast {

std::uint64_t task_index(std::uint64_t generation, int task) {
  return (generation << 24) | static_cast<std::uint64_t>(task);
}

std::uint64_t student_seed(std::uint64_t seed, std::uint64_t generation, int task) {
  RandomStream key(seed, Purpose::init_weights, {generation, static_cast<std::uint64_t>(task)});
  return key.next_u64();
}

StudentSpec StudentChoice::for_task(const Task& task) const {
  StudentSpec s = spec;
  if (!hidden_given) s.hidden = task.default_hidden;
  if (!activation_given) s.activation = task.default_activation;
  return s;
}

std::vector<TrainResult> run_jobs(const std::vector<Job>& jobs, const JobCallbacks& callbacks) {
  std::vector<TrainResult> results(jobs.size());
  std::mutex lock;
  tbb::parallel_for(std::size_t{0}, jobs.size(), [&](std::size_t i) {
    const Job& job = jobs[i];
    Student s = make_student(*job.task, job.student, *job.rule, job.optimizer, job.budget.batch, job.seed);
    CurveCallback on_point;
    if (callbacks.on_point)
      on_point = [&](const CurvePoint& p) {
        std::lock_guard guard(lock);
        callbacks.on_point(i, p);
      };
    results[i] = train(s, *job.rule, *job.task, job.budget, on_point);
    if (callbacks.on_done) {
      std::lock_guard guard(lock);
      callbacks.on_done(i, s, results[i]);
    }
  });
  return results;
}

std::vector<Task> sample_instances(const TaskFamily& family, const std::vector<std::uint64_t>& seeds, Split split) {
  std::vector<Task> tasks(seeds.size());
  tbb::parallel_for(std::size_t{0}, seeds.size(),
                    [&](std::size_t i) { tasks[i] = family.sample(seeds[i], task_index(0, 0), split); });
  return tasks;
}

void check_selection_data(const TaskFamily& family, const Task& task) {
  const bool has_validation = task.validation && !task.validation->empty();
  if (!has_validation && family.shares_test_set())
    throw Error("search fitness and tuning read validation data, never the test set that results are reported on, "
                "and task " + task.name + " has none (set validation_fraction > 0)");
}

double selection_loss(const Task& task, const CurvePoint& point) {
  return task.validation && !task.validation->empty() ? point.validation_loss : point.test_loss;
}

double selection_accuracy(const Task& task, const CurvePoint& point) {
  return task.validation && !task.validation->empty() ? point.validation_accuracy : point.test_accuracy;
}

}  // namespace plast
