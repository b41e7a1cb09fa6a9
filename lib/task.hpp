#pragma once
// The Task interface (DESIGN.md, "Central interfaces"). A TaskFamily samples task instances
// from a key; an instance is plain data: the student's input/output sizes and loss, a
// training set, a validation set carved from training data, and a test set that nothing
// is ever tuned on. Large datasets are shared (read-only) between instances and threads.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/activation.hpp"
#include "lib/jitter.hpp"
#include "lib/loss.hpp"
#include "lib/tensor.hpp"

namespace plast {

class Mlp;
struct EnvironmentSpec;   // lib/episode.hpp

struct Dataset {
  Matrix x;                 // samples × inputs
  Matrix y;                 // samples × outputs (one-hot for classification)
  std::vector<int> labels;  // class per sample; empty for regression

  Eigen::Index size() const { return x.rows(); }
  bool empty() const { return x.rows() == 0; }
};

struct Task {
  std::string name;
  int input_size = 0;
  int output_size = 0;
  Loss loss = Loss::mse;
  Activation output_activation = Activation::linear;
  bool classification = false;
  std::vector<int> default_hidden;                     // the student a paper used, when none is given
  Activation default_activation = Activation::tanh;
  std::shared_ptr<const Dataset> train;
  std::shared_ptr<const Dataset> validation;   // may be empty
  std::shared_ptr<const Dataset> test;
  // For tasks scored on the weights themselves (PCA: how close w is to the top principal
  // component) rather than on outputs: when set, it replaces the test loss.
  std::function<double(const Mlp&)> weight_loss;
  // For control tasks (tasks/cartpole.hpp): the environment the student acts in and how many
  // episodes score it. When set, train() runs episodes (lib/episode.hpp) instead of minibatches
  // and the test loss is −(mean episode return); the datasets are then empty.
  std::shared_ptr<const EnvironmentSpec> environment;
  // Train-time translation of the training images (lib/jitter.hpp); inactive unless an image
  // task was given `jitter: s`. train() applies it to each minibatch, never to validation/test.
  ImageJitter jitter;
  // Targets that depend on the shift (consistent teaching, tasks/distillation.hpp): when set
  // (jitter active), row i·shift_count(s) + shift_index(dx, dy, s) is the target of training row
  // i moved by (dx, dy), and train() gives each jittered sample the target of its own shift
  // instead of train->y. train->y stays the target of the unshifted image.
  std::shared_ptr<const Matrix> shifted_targets;
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

}  // namespace plast
