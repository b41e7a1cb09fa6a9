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
  bool alignment = true;       // measure the telemetry (alignment, feedback, SNR) at every evaluation

  void validate() const;       // throws plast::Error ("epochs = 0: must be >= 1")
};

// What the telemetry probe measures at one evaluation, on the probe batch (the
// first `batch` training rows), with the rule's state cloned so the student is not disturbed.
// Layers are named as in the CSV columns: "h_k" is hidden layer k (k = 1 … L−1), "out" the
// output. Empty vectors mean "does not apply to this rule"; NaN means "undefined here".
struct Telemetry {
  // ∠(rule's ΔW_{k−1}, backprop's ∂L/∂W_{k−1}) in degrees for hidden layer k: the weights INTO
  // h_k (90 when either is zero). Empty only when telemetry is off.
  std::vector<double> alignment_deg;
  // For rules with feedback matrices (LearningRule::feedback_matrix), per hidden layer k:
  // ∠(W_kᵀ, B_k) in degrees and ‖B_k‖_F/‖W_k‖_F, where B_k carries the error of layer k down
  // to h_k (so entry k explains alignment_deg's entry k). B is read from the probe's state
  // after its update, i.e. the matrix that carried the measured update's error (sign
  // symmetry builds it from the current W; a weight mirror has just mirrored once more).
  // NaN where the rule has no B for that layer or a norm is zero; empty for rules without any.
  std::vector<double> feedback_angle_deg;
  std::vector<double> norm_ratio;
  // For rules that estimate the gradient (LearningRule::estimates_gradient: weight and node
  // perturbation), per layer INCLUDING the output (h_1 … h_{L−1}, out: they perturb every
  // layer), the signal-to-noise ratio ‖g‖²/E‖ĝ − g‖² of the update's weights ĝ against the
  // exact gradient g, E estimated over `snr_draws` independent draws of the rule's noise on
  // the probe batch (one draw's ratio is itself very noisy). +inf when the estimate is exact,
  // NaN when g = 0. Empty for other rules.
  std::vector<double> snr;
};

// One evaluation: test (and validation) metrics plus the telemetry of the rule's update.
struct CurvePoint {
  long long step = 0;
  double epoch = 0.0;
  double train_loss = 0.0;            // mean minibatch loss since the previous point
  double validation_loss = 0.0;
  double validation_accuracy = 0.0;   // classification only
  double test_loss = 0.0;
  double test_accuracy = 0.0;         // classification only
  std::vector<double> alignment_deg;  // one per hidden layer: ∠(rule update, backprop gradient)
  std::vector<double> feedback_angle_deg;  // Telemetry: ∠(W_kᵀ, B_k) per hidden layer, or empty
  std::vector<double> norm_ratio;          // Telemetry: ‖B_k‖/‖W_k‖ per hidden layer, or empty
  std::vector<double> snr;                 // Telemetry: per layer incl. the output, or empty
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
  // p, the probability that a hidden unit is dropped at a training step (lib/dropout.hpp;
  // Srivastava et al. 2014); 0: none. Needs a rule that applies the masks (backprop) and relu or
  // linear hidden units.
  float dropout = 0.0f;
  // Image layers in front of the dense ones (lib/front_end.hpp), for tasks whose inputs are
  // images (Task::image); empty: a plain MLP. Needs a rule that trains them
  // (LearningRule::trains_front_end).
  std::vector<LayerSpec> layers = {};
};

struct Student {
  Mlp net;
  std::unique_ptr<RuleState> rule_state;
  std::unique_ptr<Optimizer> optimizer;
  std::string lr_schedule = "constant";
  std::uint64_t seed = 0;
  float init_gain = 1.0f;   // Glorot gain of the weights (control tasks redraw them every episode)
  float dropout = 0.0f;     // StudentSpec::dropout
};

// Network shaped by the task (input, output, loss) and the spec; weights from
// (seed, init_weights), rule state from (seed, feedback). Throws plast::Error for dropout
// outside [0, 1), for image layers on a task without images or with a rule that does not train
// them, for image layers whose shapes do not fit (naming the layer), or dropout with a rule that does not apply the masks
// (LearningRule::applies_dropout) or with tanh/sigmoid hidden units.
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

// A task's own training procedure (Task::trainer), for tasks that do not learn from minibatches
// of a training set: control tasks run episodes (lib/episode.hpp). train() hands it the whole run.
class TaskTrainer {
 public:
  virtual ~TaskTrainer() = default;
  virtual TrainResult train(Student& student, const LearningRule& rule, const Task& task, const TrainBudget& budget,
                            const CurveCallback& on_point) const = 0;
};

// Trains the student: the task's own procedure when it has one (Task::trainer), otherwise
// minibatches of task.train in a shuffled order keyed by (seed, shuffle, {epoch}), each made by
// the task (fill_batch: its BatchSource, if any) and scored by the task (evaluate: its Scorer,
// if any) at every curve point. Throws plast::Error when the batch exceeds the training set or
// the task's BatchSource does not fit it.
TrainResult train(Student& student, const LearningRule& rule, const Task& task, const TrainBudget& budget,
                  const CurveCallback& on_point = {});

// The telemetry of a rule's update on one batch (see Telemetry). The rule's state is cloned,
// so probing never changes the student; the probe allocates (it runs once per evaluation).
inline constexpr int kSnrDraws = 16;
Telemetry probe_telemetry(const Mlp& net, const LearningRule& rule, const RuleState& state, const Task& task,
                          const Eigen::Ref<const Matrix>& x, const Eigen::Ref<const Matrix>& y,
                          int snr_draws = kSnrDraws);

// Angle between the rule's update and the exact gradient, per hidden layer, on one batch
// (probe_telemetry's alignment_deg, without the rest).
std::vector<double> alignment_angles(const Mlp& net, const LearningRule& rule, const RuleState& state,
                                     const Task& task, const Eigen::Ref<const Matrix>& x,
                                     const Eigen::Ref<const Matrix>& y);

}  // namespace plast
