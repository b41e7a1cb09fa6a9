#include "lib/train.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

#include "lib/episode.hpp"
#include "lib/error.hpp"
#include "lib/float_mode.hpp"
#include "lib/dropout.hpp"
#include "lib/jitter.hpp"

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

Evaluation evaluate(const Mlp& net, const Task& task, const Dataset& data, ForwardCache& cache) {
  Evaluation e;
  if (task.weight_loss) {
    e.loss = task.weight_loss(net);
    return e;
  }
  if (data.empty()) return e;
  double loss = 0.0;
  long correct = 0;
  for (Eigen::Index start = 0; start < data.size(); start += cache.capacity()) {
    const Eigen::Index n = std::min<Eigen::Index>(cache.capacity(), data.size() - start);
    forward(net, data.x.middleRows(start, n), cache);
    loss += loss_value(task.loss, cache.logits(), cache.output(), data.y.middleRows(start, n)) * static_cast<double>(n);
    if (task.classification) correct += count_correct(cache.logits(), data.labels.data() + start);
  }
  e.loss = loss / static_cast<double>(data.size());
  e.accuracy = task.classification ? static_cast<double>(correct) / static_cast<double>(data.size()) : 0.0;
  return e;
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

TrainResult train(Student& student, const LearningRule& rule, const Task& task, const TrainBudget& budget,
                  const CurveCallback& on_point) {
  if (task.environment) return train_episodes(student, rule, task, budget, on_point);   // control tasks
  budget.validate();
  const FlushSubnormals fast_floats;
  const Dataset& data = *task.train;
  if (data.size() < budget.batch)
    throw Error("batch = " + std::to_string(budget.batch) + ": larger than the training set (" +
                std::to_string(data.size()) + " samples)");
  const Matrix* shifted_targets = task.shifted_targets.get();
  const Eigen::Index shifts_per_image = shift_count(task.jitter.max_shift);
  if (shifted_targets &&
      (!task.jitter.active() || shifted_targets->rows() != data.size() * shifts_per_image ||
       shifted_targets->cols() != data.y.cols()))
    throw Error("task " + task.name + ": shifted_targets is " + std::to_string(shifted_targets->rows()) + "x" +
                std::to_string(shifted_targets->cols()) + ", " +
                (task.jitter.active() ? std::to_string(data.size() * shifts_per_image) + "x" + std::to_string(data.y.cols()) +
                                            " expected (a target for each of the " + std::to_string(shifts_per_image) +
                                            " shifts of every training image)"
                                      : std::string("but the task has no jitter")));
  Mlp& net = student.net;
  const int batch = budget.batch;
  const long long steps_per_epoch = data.size() / batch;   // the last partial batch is dropped
  long long total_steps = steps_per_epoch * budget.epochs;
  if (budget.max_steps > 0) total_steps = std::min(total_steps, budget.max_steps);

  // Everything a step touches, allocated once.
  StepWorkspace ws(net, batch);
  if (student.dropout > 0.0f) ws.cache.enable_dropout();   // the training cache only
  ForwardCache eval_cache(net.shape(), budget.eval_batch);
  Matrix x(batch, data.x.cols()), y(batch, data.y.cols());
  std::vector<int> shifts(static_cast<std::size_t>(batch));   // shift_index of each jittered row
  std::vector<Eigen::Index> order(static_cast<std::size_t>(data.size()));
  // The alignment probe: the first training rows (copied only when telemetry is on).
  const auto probe_rows = budget.alignment ? std::min<Eigen::Index>(data.size(), batch) : 0;
  const Matrix probe_x = data.x.topRows(probe_rows), probe_y = data.y.topRows(probe_rows);

  TrainResult result;
  double loss_sum = 0.0;
  long long loss_count = 0;

  auto record = [&](long long step) {
    CurvePoint p;
    p.step = step;
    p.epoch = static_cast<double>(step) / static_cast<double>(steps_per_epoch);
    if (loss_count > 0) {
      p.train_loss = loss_sum / static_cast<double>(loss_count);
    } else {  // before the first step: the loss on (up to) the first 10,000 training samples
      Dataset head;
      const auto rows = std::min<Eigen::Index>(data.size(), 10000);
      head.x = data.x.topRows(rows);
      head.y = data.y.topRows(rows);
      if (!data.labels.empty()) head.labels.assign(data.labels.begin(), data.labels.begin() + rows);
      p.train_loss = evaluate(net, task, head, eval_cache).loss;
    }
    loss_sum = 0.0;
    loss_count = 0;
    if (task.validation && !task.validation->empty()) {
      const auto v = evaluate(net, task, *task.validation, eval_cache);
      p.validation_loss = v.loss;
      p.validation_accuracy = v.accuracy;
    }
    const auto t = evaluate(net, task, *task.test, eval_cache);
    p.test_loss = t.loss;
    p.test_accuracy = t.accuracy;
    if (budget.alignment) {
      Telemetry t = probe_telemetry(net, rule, *student.rule_state, task, probe_x, probe_y);
      p.alignment_deg = std::move(t.alignment_deg);
      p.feedback_angle_deg = std::move(t.feedback_angle_deg);
      p.norm_ratio = std::move(t.norm_ratio);
      p.snr = std::move(t.snr);
    }
    result.curve.push_back(p);
    if (on_point) on_point(p);
  };

  if (budget.evaluate_start) record(0);
  // Training time excludes evaluations: the clock is read around them, not around every
  // step (for a small student, reading it per step cost 14% of the loop).
  using Clock = std::chrono::steady_clock;
  Clock::duration training_time{};
  auto chunk_start = Clock::now();
  auto evaluate_at = [&](long long at) {
    training_time += Clock::now() - chunk_start;
    record(at);
    chunk_start = Clock::now();
  };
  long long step = 0;
  for (int epoch = 0; epoch < budget.epochs && step < total_steps; ++epoch) {
    std::iota(order.begin(), order.end(), Eigen::Index{0});
    RandomStream rng(student.seed, Purpose::shuffle, {static_cast<std::uint64_t>(epoch)});
    shuffle(order.begin(), order.end(), rng);
    for (long long b = 0; b < steps_per_epoch && step < total_steps; ++b) {
      for (int r = 0; r < batch; ++r) {
        const auto row = order[static_cast<std::size_t>(b * batch + r)];
        x.row(r) = data.x.row(row);
        y.row(r) = data.y.row(row);
      }
      if (task.jitter.active()) {   // shift the copies only: task.train stays as it is
        RandomStream jitter_rng(student.seed, Purpose::augment, {static_cast<std::uint64_t>(step)});
        jitter_rows(x, task.jitter, jitter_rng, shifted_targets ? shifts.data() : nullptr);
        if (shifted_targets)   // each sample's target for the shift it was given (consistent teaching)
          for (int r = 0; r < batch; ++r)
            y.row(r) = shifted_targets->row(order[static_cast<std::size_t>(b * batch + r)] * shifts_per_image +
                                            shifts[static_cast<std::size_t>(r)]);
      }
      if (student.dropout > 0.0f) {
        RandomStream dropout_rng(student.seed, Purpose::dropout, {static_cast<std::uint64_t>(step)});
        draw_dropout_masks(ws.cache, student.dropout, dropout_rng);
      }
      student.optimizer->set_lr_factor(schedule_factor(student.lr_schedule, step, total_steps));
      const double loss = train_step(student, rule, task, x, y, ws, static_cast<std::uint64_t>(step));
      if (!std::isfinite(loss)) {
        result.outcome = Outcome::diverged;
        break;
      }
      ++step;
      loss_sum += loss;
      ++loss_count;
      const bool epoch_end = b + 1 == steps_per_epoch;
      const bool due = budget.eval_every > 0 ? step % budget.eval_every == 0 : epoch_end;
      if (due || step == total_steps) evaluate_at(step);
    }
    if (result.outcome == Outcome::diverged) break;
  }
  const bool recorded_last = !result.curve.empty() && result.curve.back().step == step;
  if (!recorded_last || result.outcome == Outcome::diverged) {
    training_time += Clock::now() - chunk_start;
    chunk_start = Clock::now();
  }
  if (result.outcome == Outcome::diverged || !net.all_finite()) {
    result.outcome = Outcome::diverged;
    if (!recorded_last) record(step);
  }
  result.steps = step;
  result.train_seconds = std::chrono::duration<double>(training_time).count();
  result.train_samples_per_s =
      result.train_seconds > 0 ? static_cast<double>(step) * batch / result.train_seconds : 0.0;
  return result;
}

}  // namespace plast
