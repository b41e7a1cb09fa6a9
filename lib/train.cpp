#include "lib/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "lib/dropout.hpp"
#include "lib/error.hpp"
#include "lib/float_mode.hpp"

namespace plast {

void TrainBudget::validate() const {
  auto bad = [](const std::string& key, long long v, const std::string& what) { throw InvalidValue(key, v, what); };
  if (epochs < 1) bad("epochs", epochs, "must be >= 1");
  if (max_steps < 0) bad("max_steps", max_steps, "must be >= 0");
  if (batch < 1) bad("batch", batch, "must be >= 1");
  if (eval_every < 0) bad("eval_every", eval_every, "must be >= 0");
  if (eval_batch < 1) bad("eval_batch", eval_batch, "must be >= 1");
}

Student make_student(const Task& task, const StudentSpec& spec, const LearningRule& rule,
                     const OptimizerSpec& optimizer, int batch, std::uint64_t seed) {
  MlpShape shape;
  shape.sizes.push_back(task.input_size);
  if (!spec.layers.empty()) {
    const LayerSpec& first = spec.layers.front();
    const std::string where = first.where.empty() ? "" : first.where + ": ";
    if (task.image.size() == 0 || task.image.size() != task.input_size)
      throw Error(where + std::string(to_string(first.kind)) + ": task " + task.name +
                  " has no image inputs for image layers (its inputs are a vector of " +
                  std::to_string(task.input_size) + ")");
    if (!rule.trains_front_end())
      throw Error(where + "rule " + rule.name() + " cannot train a " + std::string(to_string(first.kind)) +
                  " layer (it trains dense layers only; backprop, feedback_alignment, direct_feedback_alignment, "
                  "usf/brsf/frsf, kolen_pollack and learned_feedback train image layers)");
    shape.front = std::make_shared<const FrontEnd>(task.image, spec.layers);
    shape.sizes[0] = shape.front->output().size();
  }
  for (int h : spec.hidden) {
    if (h < 1) throw Error("hidden = " + std::to_string(h) + ": layer widths must be >= 1");
    shape.sizes.push_back(h);
  }
  shape.sizes.push_back(task.output_size);
  shape.hidden = spec.activation;
  shape.output = task.output_activation;
  if (!(spec.dropout >= 0.0f && spec.dropout < 1.0f)) throw InvalidValue("dropout", spec.dropout, "must be in [0, 1)");
  if (spec.dropout > 0.0f) {
    // Only a rule that declares it (LearningRule::applies_dropout: backprop, lib/gradient.cpp)
    // applies the mask in its backward pass, and that pass reads f' from z only for relu and
    // linear units (tanh and sigmoid read it from the masked activation).
    if (!rule.applies_dropout())
      throw InvalidValue("dropout", spec.dropout, "needs rule backprop (rule " + rule.name() + " does not apply the dropout mask)");
    if (spec.activation != Activation::relu && spec.activation != Activation::linear)
      throw InvalidValue("dropout", spec.dropout, "needs relu or linear hidden units, not " + std::string(to_string(spec.activation)));
  }
  Student s;
  s.seed = seed;
  s.init_gain = spec.init_gain;
  s.dropout = spec.dropout;
  s.net = Mlp(shape);
  RandomStream init(seed, Purpose::init_weights);
  s.net.init_glorot(init, spec.init_gain);
  rule.initialize(s.net);   // a learned initialization replaces the draw (LearningRule::initialize)
  s.rule_state = rule.make_state(s.net, batch, RandomStream(seed, Purpose::feedback));
  s.optimizer = make_optimizer(optimizer, s.net);
  s.lr_schedule = optimizer.schedule;
  return s;
}

namespace {

// ∠(a, b) in degrees, NaN when either is zero (a feedback matrix or weight of zero has no direction).
double angle_or_nan(const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Matrix>& b) {
  if (a.cast<double>().squaredNorm() == 0.0 || b.cast<double>().squaredNorm() == 0.0)
    return std::numeric_limits<double>::quiet_NaN();
  return angle_degrees(a, b);
}

// The probe's forward pass, output delta and exact gradient on one batch.
struct Probe {
  ForwardCache cache;
  Matrix delta;
  Gradients exact;
  Probe(const Mlp& net, const Task& task, const Eigen::Ref<const Matrix>& x, const Eigen::Ref<const Matrix>& y)
      : cache(net.shape(), static_cast<int>(x.rows())), delta(x.rows(), net.output_size()), exact(Gradients::like(net)) {
    forward(net, x, cache);
    loss_and_delta(task.loss, net.activation(net.num_layers() - 1), cache.logits(), cache.output(), y, delta);
    DeltaBuffers buffers(net.shape(), static_cast<int>(x.rows()));
    backprop_gradient(net, cache, delta, buffers, exact);
  }
};

}  // namespace

Telemetry probe_telemetry(const Mlp& net, const LearningRule& rule, const RuleState& state, const Task& task,
                          const Eigen::Ref<const Matrix>& x, const Eigen::Ref<const Matrix>& y, int snr_draws) {
  const Probe probe(net, task, x, y);
  const int layers = net.num_layers();
  Gradients update = Gradients::like(net);
  auto probe_state = state.clone();
  const Eigen::Ref<const Matrix> delta_ref(probe.delta), y_ref(y);
  auto draw = [&](std::uint64_t step) {
    rule.compute_update(StepSignals{net, probe.cache, delta_ref, y_ref, step, task.loss}, *probe_state, update);
  };
  draw(0);
  Telemetry t;
  for (int l = 0; l + 1 < layers; ++l) t.alignment_deg.push_back(angle_degrees(update.dW[l], probe.exact.dW[l]));

  // Feedback matrices: B_k carries layer k's error down to hidden layer k (k = 1 … L−1).
  const double nan = std::numeric_limits<double>::quiet_NaN();
  bool any_feedback = false;
  for (int k = 1; k < layers; ++k) {
    const auto b = rule.feedback_matrix(*probe_state, k);
    const Matrix& w = net.weight(k);
    if (!b) {
      t.feedback_angle_deg.push_back(nan);
      t.norm_ratio.push_back(nan);
      continue;
    }
    if (b->rows() != w.cols() || b->cols() != w.rows())
      throw Error("rule " + rule.name() + ": feedback_matrix(" + std::to_string(k) + ") is " + std::to_string(b->rows()) +
                  "x" + std::to_string(b->cols()) + ", W_" + std::to_string(k) + "^T is " + std::to_string(w.cols()) + "x" +
                  std::to_string(w.rows()));
    any_feedback = true;
    t.feedback_angle_deg.push_back(angle_or_nan(*b, w.transpose()));
    const double wn = w.cast<double>().norm();
    t.norm_ratio.push_back(wn > 0.0 ? b->cast<double>().norm() / wn : nan);
  }
  if (!any_feedback) {
    t.feedback_angle_deg.clear();
    t.norm_ratio.clear();
  }

  // SNR of a gradient estimate: ‖g‖² / mean over draws of ‖ĝ − g‖², per layer (weights only,
  // as alignment_deg). Draw k runs the rule at step k on the same cloned state, so its noise
  // stream moves on (and rules that key noise by the step draw afresh too).
  if (rule.estimates_gradient()) {
    const int draws = std::max(1, snr_draws);
    std::vector<double> noise(static_cast<std::size_t>(layers), 0.0);
    for (int k = 0; k < draws; ++k) {
      if (k > 0) draw(static_cast<std::uint64_t>(k));
      for (int l = 0; l < layers; ++l)
        noise[static_cast<std::size_t>(l)] += (update.dW[l] - probe.exact.dW[l]).cast<double>().squaredNorm();
    }
    for (int l = 0; l < layers; ++l) {
      const double signal = probe.exact.dW[l].cast<double>().squaredNorm();
      const double mean_noise = noise[static_cast<std::size_t>(l)] / draws;
      t.snr.push_back(signal == 0.0 ? nan : (mean_noise == 0.0 ? std::numeric_limits<double>::infinity() : signal / mean_noise));
    }
  }
  return t;
}

std::vector<double> alignment_angles(const Mlp& net, const LearningRule& rule, const RuleState& state,
                                     const Task& task, const Eigen::Ref<const Matrix>& x,
                                     const Eigen::Ref<const Matrix>& y) {
  const Probe probe(net, task, x, y);
  Gradients update = Gradients::like(net);
  auto probe_state = state.clone();
  const Eigen::Ref<const Matrix> delta_ref(probe.delta), y_ref(y);
  rule.compute_update(StepSignals{net, probe.cache, delta_ref, y_ref, 0, task.loss}, *probe_state, update);
  std::vector<double> angles;
  for (int l = 0; l + 1 < net.num_layers(); ++l) angles.push_back(angle_degrees(update.dW[l], probe.exact.dW[l]));
  return angles;
}

StepWorkspace::StepWorkspace(const Mlp& net, int batch)
    : cache(net.shape(), batch), delta(batch, net.output_size()), update(Gradients::like(net)) {}

double train_step(Student& student, const LearningRule& rule, const Task& task, const Eigen::Ref<const Matrix>& x,
                  const Eigen::Ref<const Matrix>& y, StepWorkspace& ws, std::uint64_t step) {
  Mlp& net = student.net;
  forward(net, x, ws.cache);
  auto delta = ws.delta.topRows(x.rows());
  const double loss = loss_and_delta(task.loss, net.activation(net.num_layers() - 1), ws.cache.logits(),
                                     ws.cache.output(), y, delta);
  if (!std::isfinite(loss)) return loss;
  const Eigen::Ref<const Matrix> delta_ref(delta);
  rule.compute_update(StepSignals{net, ws.cache, delta_ref, y, step, task.loss}, *student.rule_state, ws.update);
  student.optimizer->apply(net, ws.update);
  rule.after_update(net, *student.rule_state);
  return loss;
}

namespace {

// Checks a minibatch run before anything is allocated: the budget, the batch against the
// training set, and the task's BatchSource against the task.
void check_minibatches(const Task& task, const TrainBudget& budget) {
  budget.validate();
  const Dataset& data = *task.train;
  if (data.size() < budget.batch)
    throw Error("batch = " + std::to_string(budget.batch) + ": larger than the training set (" +
                std::to_string(data.size()) + " samples)");
  if (task.batches) task.batches->check(task);
}

// The minibatch loop of train(): every buffer a step touches, allocated once, and the curve.
class MinibatchRun {
 public:
  MinibatchRun(Student& student, const LearningRule& rule, const Task& task, const TrainBudget& budget,
               const CurveCallback& on_point);
  TrainResult run();

 private:
  using Clock = std::chrono::steady_clock;
  double step_once(long long b, long long step);
  double head_loss();
  void record(long long step);
  void evaluate_at(long long step);
  TrainResult finish(long long step);

  Student& student_;
  const LearningRule& rule_;
  const Task& task_;
  const TrainBudget& budget_;
  const CurveCallback& on_point_;
  const Dataset& data_;
  const int batch_;
  const long long steps_per_epoch_;   // the last partial batch is dropped
  const long long total_steps_;
  StepWorkspace ws_;
  ForwardCache eval_cache_;
  Matrix x_, y_;
  std::vector<Eigen::Index> order_;
  // The alignment probe: the first training rows (copied only when telemetry is on).
  Matrix probe_x_, probe_y_;
  TrainResult result_;
  double loss_sum_ = 0.0;
  long long loss_count_ = 0;
  // Training time excludes evaluations: the clock is read around them, not around every
  // step (for a small student, reading it per step cost 14% of the loop).
  Clock::duration training_time_{};
  Clock::time_point chunk_start_;
};

long long total_steps(const Dataset& data, const TrainBudget& budget) {
  const long long all = data.size() / budget.batch * budget.epochs;
  return budget.max_steps > 0 ? std::min(all, budget.max_steps) : all;
}

MinibatchRun::MinibatchRun(Student& student, const LearningRule& rule, const Task& task, const TrainBudget& budget,
                           const CurveCallback& on_point)
    : student_(student), rule_(rule), task_(task), budget_(budget), on_point_(on_point), data_(*task.train),
      batch_(budget.batch), steps_per_epoch_(data_.size() / batch_), total_steps_(total_steps(data_, budget)),
      ws_(student.net, batch_), eval_cache_(student.net.shape(), budget.eval_batch), x_(batch_, data_.x.cols()),
      y_(batch_, data_.y.cols()), order_(static_cast<std::size_t>(data_.size())) {
  if (student.dropout > 0.0f) ws_.cache.enable_dropout();   // the training cache only
  const auto probe_rows = budget.alignment ? std::min<Eigen::Index>(data_.size(), batch_) : 0;
  probe_x_ = data_.x.topRows(probe_rows);
  probe_y_ = data_.y.topRows(probe_rows);
}

// One step on batch b of the current order: the task's minibatch, the student's dropout masks,
// the schedule, train_step. Returns the batch loss.
double MinibatchRun::step_once(long long b, long long step) {
  const std::span<const Eigen::Index> rows(order_.data() + b * batch_, static_cast<std::size_t>(batch_));
  const auto key = static_cast<std::uint64_t>(step);
  fill_batch(task_, rows, student_.seed, key, x_, y_);   // the task's copies: task.train stays as it is
  if (student_.dropout > 0.0f) {
    RandomStream dropout_rng(student_.seed, Purpose::dropout, {key});
    draw_dropout_masks(ws_.cache, student_.dropout, dropout_rng);
  }
  student_.optimizer->set_lr_factor(schedule_factor(student_.lr_schedule, step, total_steps_));
  return train_step(student_, rule_, task_, x_, y_, ws_, key);
}

// Before the first step: the loss on (up to) the first 10,000 training samples.
double MinibatchRun::head_loss() {
  Dataset head;
  const auto rows = std::min<Eigen::Index>(data_.size(), 10000);
  head.x = data_.x.topRows(rows);
  head.y = data_.y.topRows(rows);
  if (!data_.labels.empty()) head.labels.assign(data_.labels.begin(), data_.labels.begin() + rows);
  return evaluate(student_.net, task_, head, eval_cache_).loss;
}

void MinibatchRun::record(long long step) {
  CurvePoint p;
  p.step = step;
  p.epoch = static_cast<double>(step) / static_cast<double>(steps_per_epoch_);
  p.train_loss = loss_count_ > 0 ? loss_sum_ / static_cast<double>(loss_count_) : head_loss();
  loss_sum_ = 0.0;
  loss_count_ = 0;
  const Mlp& net = student_.net;
  if (task_.validation && !task_.validation->empty()) {
    const auto v = evaluate(net, task_, *task_.validation, eval_cache_);
    p.validation_loss = v.loss;
    p.validation_accuracy = v.accuracy;
  }
  const auto t = evaluate(net, task_, *task_.test, eval_cache_);
  p.test_loss = t.loss;
  p.test_accuracy = t.accuracy;
  if (budget_.alignment) {
    Telemetry probe = probe_telemetry(net, rule_, *student_.rule_state, task_, probe_x_, probe_y_);
    p.alignment_deg = std::move(probe.alignment_deg);
    p.feedback_angle_deg = std::move(probe.feedback_angle_deg);
    p.norm_ratio = std::move(probe.norm_ratio);
    p.snr = std::move(probe.snr);
  }
  result_.curve.push_back(p);
  if (on_point_) on_point_(p);
}

void MinibatchRun::evaluate_at(long long step) {
  training_time_ += Clock::now() - chunk_start_;
  record(step);
  chunk_start_ = Clock::now();
}

TrainResult MinibatchRun::run() {
  if (budget_.evaluate_start) record(0);
  chunk_start_ = Clock::now();
  long long step = 0;
  for (int epoch = 0; epoch < budget_.epochs && step < total_steps_; ++epoch) {
    std::iota(order_.begin(), order_.end(), Eigen::Index{0});
    RandomStream rng(student_.seed, Purpose::shuffle, {static_cast<std::uint64_t>(epoch)});
    shuffle(order_.begin(), order_.end(), rng);
    for (long long b = 0; b < steps_per_epoch_ && step < total_steps_; ++b) {
      const double loss = step_once(b, step);
      if (!std::isfinite(loss)) {
        result_.outcome = Outcome::diverged;
        break;
      }
      ++step;
      loss_sum_ += loss;
      ++loss_count_;
      const bool epoch_end = b + 1 == steps_per_epoch_;
      const bool due = budget_.eval_every > 0 ? step % budget_.eval_every == 0 : epoch_end;
      if (due || step == total_steps_) evaluate_at(step);
    }
    if (result_.outcome == Outcome::diverged) break;
  }
  return finish(step);
}

TrainResult MinibatchRun::finish(long long step) {
  const bool recorded_last = !result_.curve.empty() && result_.curve.back().step == step;
  if (!recorded_last || result_.outcome == Outcome::diverged) {
    training_time_ += Clock::now() - chunk_start_;
    chunk_start_ = Clock::now();
  }
  if (result_.outcome == Outcome::diverged || !student_.net.all_finite()) {
    result_.outcome = Outcome::diverged;
    if (!recorded_last) record(step);
  }
  result_.steps = step;
  result_.train_seconds = std::chrono::duration<double>(training_time_).count();
  result_.train_samples_per_s =
      result_.train_seconds > 0 ? static_cast<double>(step) * batch_ / result_.train_seconds : 0.0;
  return std::move(result_);
}

}  // namespace

TrainResult train(Student& student, const LearningRule& rule, const Task& task, const TrainBudget& budget,
                  const CurveCallback& on_point) {
  if (task.trainer) return task.trainer->train(student, rule, task, budget, on_point);
  check_minibatches(task, budget);
  const FlushSubnormals fast_floats;
  return MinibatchRun(student, rule, task, budget, on_point).run();
}

}  // namespace plast
