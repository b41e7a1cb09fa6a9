#pragma once
// The Task interface (DESIGN.md, "Central interfaces"). A TaskFamily samples task instances
// from a key; an instance is plain data: the student's input/output sizes and loss, a
// training set, a validation set carved from training data, and a test set that nothing
// is ever tuned on. Large datasets are shared (read-only) between instances and threads.
//
// A task also owns whatever sets its training apart from plain supervised learning on those
// sets (DESIGN.md, "Extension points"), as three optional, immutable objects shared between
// threads: how a training step's minibatch is made (BatchSource: augmentation, targets that
// depend on it), how a network is scored (Scorer: tasks scored on something other than the
// outputs' loss), and, for tasks that do not learn from minibatches at all, the whole training
// procedure (TaskTrainer, lib/train.hpp: control tasks run episodes). Left empty, each does what
// plain supervised learning does, so the training loop (lib/train.cpp) calls them and knows no
// task by name.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lib/activation.hpp"
#include "lib/front_end.hpp"
#include "lib/loss.hpp"
#include "lib/tensor.hpp"

namespace plast {

class Mlp;
class ForwardCache;
class TaskTrainer;   // lib/train.hpp
struct Task;

struct Dataset {
  Matrix x;                 // samples × inputs
  Matrix y;                 // samples × outputs (one-hot for classification)
  std::vector<int> labels;  // class per sample; empty for regression

  Eigen::Index size() const { return x.rows(); }
  bool empty() const { return x.rows() == 0; }
};

// One evaluation of a network on a dataset.
struct Evaluation {
  double loss = 0.0;
  double accuracy = 0.0;   // classification only
};

// How a task makes the minibatch of one training step (Task::batches).
class BatchSource {
 public:
  virtual ~BatchSource() = default;
  // Throws plast::Error, naming the task, when the source does not fit it (its training set, its
  // sizes). train() asks once, before the first step.
  virtual void check(const Task& /*task*/) const {}
  // Fills x and y (rows.size() rows each) for training step `step`: row r from training row
  // rows[r] (this step's slice of the shuffled order). Any draw comes from a stream keyed by
  // (seed, a Purpose of the source's own, {step}), so a batch depends on neither the thread count
  // nor the schedule. Must not allocate: it runs every step.
  virtual void fill(const Dataset& train, std::span<const Eigen::Index> rows, std::uint64_t seed, std::uint64_t step,
                    Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) const = 0;
};

// How a task scores a network on a dataset (Task::scorer), for tasks not scored by the loss of
// the outputs (PCA scores the weights themselves). Used for the test, validation and training
// points of every curve; may allocate (it runs once per evaluation).
class Scorer {
 public:
  virtual ~Scorer() = default;
  virtual Evaluation score(const Mlp& net, const Task& task, const Dataset& data, ForwardCache& cache) const = 0;
};

struct Task {
  std::string name;
  int input_size = 0;
  Volume image;       // inputs that are images (HWC, lib/front_end.hpp): their volume; zero otherwise
  int output_size = 0;
  Loss loss = Loss::mse;
  Activation output_activation = Activation::linear;
  bool classification = false;
  std::vector<int> default_hidden;                     // the student a paper used, when none is given
  Activation default_activation = Activation::tanh;
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> validation;   // may be empty
  std::shared_ptr<const Dataset> test;
  std::shared_ptr<const BatchSource> batches;   // empty: the training rows as they are (copy_rows)
  std::shared_ptr<const Scorer> scorer;         // empty: the outputs' loss and accuracy (score_outputs)
  std::shared_ptr<const TaskTrainer> trainer;   // empty: train() runs minibatches of `train`
};

// Meta-train tasks are searched on; meta-test tasks are only reported.
enum class Split { meta_train, meta_test };

class TaskFamily {
 public:
  virtual ~TaskFamily() = default;
  virtual std::string name() const = 0;
  // The task of (seed, index, split): the same key always gives the same task.
  virtual Task sample(std::uint64_t seed, std::uint64_t index, Split split) const = 0;
  // True when every instance is tested on one shared test set (a benchmark's test images),
  // which results are reported on: search fitness and tuning must then read validation data
  // (lib/harness.hpp, check_selection_data). Synthetic families draw a test set per instance.
  virtual bool shares_test_set() const { return false; }
};

// Keeps `rows` of a dataset, in that order.
Dataset select_rows(const Dataset& d, const std::vector<Eigen::Index>& rows);

// x.row(r) = d.x.row(rows[r]) and the same for y: the batch of a task without a BatchSource.
void copy_rows(const Dataset& d, std::span<const Eigen::Index> rows, Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y);

// The task's minibatch for one step: its BatchSource's, or the rows as they are (copy_rows).
void fill_batch(const Task& task, std::span<const Eigen::Index> rows, std::uint64_t seed, std::uint64_t step,
                Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y);

// The loss of the outputs on `data` (and the accuracy for classification), in chunks of the
// cache's capacity: the score of a task without a Scorer. Zero for an empty dataset.
Evaluation score_outputs(const Mlp& net, const Task& task, const Dataset& data, ForwardCache& cache);

// The task's score of a network on `data`: its Scorer's, or score_outputs.
Evaluation evaluate(const Mlp& net, const Task& task, const Dataset& data, ForwardCache& cache);

}  // namespace plast
