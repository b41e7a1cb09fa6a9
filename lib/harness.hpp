#pragma once
// The harness: the one place where students are trained in parallel. `plast train`, `plast
// compare` and the search's evaluator each describe their work as a list of jobs — a rule, a
// task instance, a student, an optimizer, a budget and the student's seed — and run it here:
// tbb::parallel_for over the jobs, each result written into its own slot (pagmo's convention),
// so results are bitwise identical with 1, 2 or N threads.
//
// One seed convention for every command. Slot (generation g, task t) of a run with seed s
// trains on the task instance family.sample(s, task_index(g, t), split) with a student whose
// weights and rule state are keyed by student_seed(s, g, t). `plast train` and `plast compare`
// train slot (0, 0) of each of their seeds, so `seed: 1` gives the same task instance and the
// same student under train, compare and the first task of a search's first generation.
#include <cstdint>
#include <functional>
#include <vector>

#include "lib/learning_rule.hpp"
#include "lib/optimizer.hpp"
#include "lib/task.hpp"
#include "lib/train.hpp"

namespace plast {

// The task index of task t in generation g: tasks differ across generations and never repeat.
std::uint64_t task_index(std::uint64_t generation, int task);
// The seed of the student of slot (generation, task) under run seed `seed`.
std::uint64_t student_seed(std::uint64_t seed, std::uint64_t generation, int task);

// The student a file asks for: what it gives, and the task's default student (the network
// its paper used) for the widths or activation it leaves out.
struct StudentChoice {
  StudentSpec spec;
  bool hidden_given = false;
  bool activation_given = false;

  StudentSpec for_task(const Task& task) const;
};

struct Job {
  const LearningRule* rule = nullptr;
  const Task* task = nullptr;
  StudentSpec student;
  OptimizerSpec optimizer;
  TrainBudget budget;
  std::uint64_t seed = 0;   // the student's: student_seed(run seed, generation, task)
};

// Callbacks run on worker threads, one at a time (the harness holds a lock around them), so
// they may print or count without their own.
struct JobCallbacks {
  std::function<void(std::size_t job, const CurvePoint&)> on_point;
  // After a job's training, with its trained student (e.g. to save its weights).
  std::function<void(std::size_t job, const Student&, const TrainResult&)> on_done;
};

// Trains every job; result i is job i's.
std::vector<TrainResult> run_jobs(const std::vector<Job>& jobs, const JobCallbacks& callbacks = {});

// One instance of `family` per run seed, at slot (0, 0), sampled in parallel.
std::vector<Task> sample_instances(const TaskFamily& family, const std::vector<std::uint64_t>& seeds, Split split);

// Held-out discipline. What a search's fitness and a tuning score read on a meta-train task:
// its validation data when it has any, else its test data — allowed only when that test set
// belongs to the instance alone (synthetic families draw a fresh one per instance); a family
// whose instances share one benchmark test set (TaskFamily::shares_test_set) must give
// validation data. Throws plast::Error naming the task otherwise.
void check_selection_data(const TaskFamily& family, const Task& task);
// The loss and accuracy of a curve point on the selection data of `task` (see above).
double selection_loss(const Task& task, const CurvePoint& point);
double selection_accuracy(const Task& task, const CurvePoint& point);

}  // namespace plast
