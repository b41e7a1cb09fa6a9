#pragma once
// The inner loop: train one student with one rule on one task (DESIGN.md, "The flow of one
// study"). It runs on a single thread; parallelism comes from running many of these at once.
// Every buffer a training step touches is allocated before the first step.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "lib/learning_rule.hpp"
#include "lib/mlp.hpp"
#include "lib/optimizer.hpp"
#include "lib/task.hpp"

namespace plast {

struct TrainBudget {
  int epochs = 10;
  long long max_steps = 0;     // 0: the epochs decide
  int batch = 64;
  long long eval_every = 0;    // evaluate every this many steps; 0: at the end of each epoch
  int eval_batch = 1000;       // rows per forward pass during evaluation
  bool evaluate_start = true;  // evaluate before the first step (the curve's first point)
  bool alignment = true;       // measure the alignment angles at every evaluation

  void validate() const;       // throws plast::Error ("epochs = 0: must be >= 1")
};

// One evaluation: test (and validation) metrics plus the alignment of the rule's update
// with the exact gradient for every hidden layer (the angle this field asks about).
struct CurvePoint {
  long long step = 0;
  double epoch = 0.0;
  double train_loss = 0.0;            // mean minibatch loss since the previous point
  double validation_loss = 0.0;
  double validation_accuracy = 0.0;   // classification only
  double test_loss = 0.0;
  double test_accuracy = 0.0;         // classification only
  std::vector<double> alignment_deg;  // one per hidden layer: ∠(rule update, backprop gradient)
};

enum class Outcome { ok, diverged };

struct TrainResult {
  std::vector<CurvePoint> curve;
  Outcome outcome = Outcome::ok;
  long long steps = 0;
  double train_seconds = 0.0;          // training steps only, evaluations excluded
  double train_samples_per_s = 0.0;

  const CurvePoint& last() const { return curve.back(); }
};

// A student: its network, its rule state and its optimizer, all keyed by its seed.
struct StudentSpec {
  std::vector<int> hidden = {256, 256};
  Activation activation = Activation::tanh;
  float init_gain = 1.0f;
};

struct Student {
  Mlp net;
  std::unique_ptr<RuleState> rule_state;
  std::unique_ptr<Optimizer> optimizer;
  std::string lr_schedule = "constant";
  std::uint64_t seed = 0;
  float init_gain = 1.0f;   // Glorot gain of the weights (control tasks redraw them every episode)
};

// Network shaped by the task (input, output, loss) and the spec; weights from
// (seed, init_weights), rule state from (seed, feedback).
Student make_student(const Task& task, const StudentSpec& spec, const LearningRule& rule,
                     const OptimizerSpec& optimizer, int batch, std::uint64_t seed);

// The buffers one training step touches, allocated once per student.
struct StepWorkspace {
  ForwardCache cache;
  Matrix delta;          // dL/dz_out
  Gradients update;      // the rule's update
  StepWorkspace(const Mlp& net, int batch);
};

// One step: forward pass, loss and output delta, the rule's update, the optimizer.
// Returns the batch loss (the step is skipped, and the loss returned, when it is not finite).
// Allocates nothing: this is the code a study runs millions of times.
double train_step(Student& student, const LearningRule& rule, const Task& task, const Eigen::Ref<const Matrix>& x,
                  const Eigen::Ref<const Matrix>& y, StepWorkspace& ws, std::uint64_t step);

using CurveCallback = std::function<void(const CurvePoint&)>;

TrainResult train(Student& student, const LearningRule& rule, const Task& task, const TrainBudget& budget,
                  const CurveCallback& on_point = {});

// Test-set loss (and accuracy for classification) of a network, in chunks.
struct Evaluation {
  double loss = 0.0;
  double accuracy = 0.0;
};
Evaluation evaluate(const Mlp& net, const Task& task, const Dataset& data, ForwardCache& cache);

// Angle between the rule's update and the exact gradient, per hidden layer, on one batch.
// The rule's state is cloned, so probing never changes the student.
std::vector<double> alignment_angles(const Mlp& net, const LearningRule& rule, const RuleState& state,
                                     const Task& task, const Eigen::Ref<const Matrix>& x,
                                     const Eigen::Ref<const Matrix>& y);

}  // namespace plast
