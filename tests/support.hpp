#pragma once
// Small helpers shared by the test suites: random networks and batches keyed by a seed,
// one-hot targets, a tiny jittered image task and its trainer, running a rule for one batch, and
// catching plast::Error messages.
// Everything is deterministic (RandomStream), so a failing test fails the same way every run.
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "lib/error.hpp"
#include "lib/gradient.hpp"
#include "lib/jitter.hpp"
#include "lib/learning_rule.hpp"
#include "lib/loss.hpp"
#include "lib/mlp.hpp"
#include "lib/optimizer.hpp"
#include "lib/random.hpp"
#include "lib/task.hpp"
#include "lib/train.hpp"
#include "rules/registry.hpp"

namespace plast::test {

// A matrix with entries ~ U(lo, hi) from `rng`.
inline Matrix random_matrix(Eigen::Index rows, Eigen::Index cols, RandomStream& rng, float lo = -1.0f,
                            float hi = 1.0f) {
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(lo, hi);
  return m;
}

// A network with Glorot weights and biases ~ U(±bias_range) (non-zero biases so that every
// bias gradient and every activation's off-centre region is exercised).
inline Mlp random_mlp(std::vector<int> sizes, Activation hidden, Activation output, std::uint64_t seed,
                      float bias_range = 0.5f) {
  Mlp net(MlpShape{std::move(sizes), hidden, output});
  RandomStream rng(seed, Purpose::init_weights);
  net.init_glorot(rng);
  RandomStream bias_rng(seed, Purpose::init_weights, {1});
  for (int l = 0; l < net.num_layers(); ++l)
    for (Eigen::Index i = 0; i < net.bias(l).size(); ++i) net.bias(l)(i) = bias_rng.uniform(-bias_range, bias_range);
  return net;
}

// A vector of n values ~ U(±scale) in double (a θ for a rule space), keyed by `seed`.
inline Eigen::VectorXd random_vector(int n, std::uint64_t seed, double scale = 1.0) {
  RandomStream rng(seed, Purpose::probe);
  Eigen::VectorXd t(n);
  for (int k = 0; k < n; ++k) t(k) = scale * (2.0 * rng.uniform_double() - 1.0);
  return t;
}

// A regression task on fixed random data (no task family needed): `rows` samples, inputs and
// targets ~ U(±1), mse, the same rows for training and test.
inline Task fixed_regression_task(int inputs, int outputs, std::vector<int> hidden, int rows) {
  Task t;
  t.name = "tiny";
  t.input_size = inputs;
  t.output_size = outputs;
  t.loss = Loss::mse;
  t.default_hidden = std::move(hidden);
  RandomStream rng(5, Purpose::data);
  auto data = std::make_shared<Dataset>();
  data->x = random_matrix(rows, inputs, rng);
  data->y = random_matrix(rows, outputs, rng);
  t.train = data;
  t.test = data;
  return t;
}

inline Matrix one_hot(const std::vector<int>& labels, int classes) {
  Matrix t = Matrix::Zero(static_cast<Eigen::Index>(labels.size()), classes);
  for (std::size_t r = 0; r < labels.size(); ++r) t(static_cast<Eigen::Index>(r), labels[r]) = 1.0f;
  return t;
}

// A 3-class task on 4×4 "images" (x ~ U(±1)), jittered by up to `max_shift` pixels with fill
// −0.5 (lib/jitter.hpp): 96 training, 20 validation and 30 test images.
inline Task tiny_image_task(int max_shift = 1) {
  Task t;
  t.name = "tiny-images";
  t.input_size = 16;
  t.output_size = 3;
  t.loss = Loss::softmax_cross_entropy;
  t.classification = true;
  RandomStream rng(9, Purpose::data);
  auto make = [&](int rows) {
    auto d = std::make_shared<Dataset>();
    d->x = random_matrix(rows, 16, rng);
    for (int r = 0; r < rows; ++r) d->labels.push_back(static_cast<int>(rng.below(3)));
    d->y = one_hot(d->labels, 3);
    return d;
  };
  t.train = make(96);
  t.validation = make(20);
  t.test = make(30);
  t.batches = std::make_shared<JitteredBatches>(ImageJitter{4, 4, max_shift, -0.5f});
  return t;
}

struct TinyRun {
  Mlp net;
  TrainResult result;
};

// A relu student with 8 hidden units trained by backprop (plain SGD, lr 0.1) on `task`:
// `epochs` epochs of `batch` samples, or max_steps steps when > 0.
inline TinyRun train_tiny(const Task& task, std::uint64_t seed, int epochs = 3, int batch = 16, long long max_steps = 0) {
  const auto rule = rule_registry().make("backprop");
  StudentSpec spec;
  spec.hidden = {8};
  spec.activation = Activation::relu;
  TrainBudget budget;
  budget.epochs = epochs;
  budget.batch = batch;
  budget.max_steps = max_steps;
  budget.alignment = false;
  OptimizerSpec opt;
  opt.type = "sgd";
  opt.lr = 0.1;
  Student s = make_student(task, spec, *rule, opt, budget.batch, seed);
  TrainResult r = train(s, *rule, task, budget);
  return {s.net, r};
}

// Inputs and targets that suit the loss and the output activation: one-hot rows for
// cross-entropy, values inside the output's range for mse (so the loss is not degenerate).
struct Batch {
  Matrix x, y;
  std::vector<int> labels;   // cross-entropy only
};

inline Batch random_batch(const Mlp& net, Loss loss, int rows, std::uint64_t seed) {
  RandomStream rng(seed, Purpose::data);
  Batch b;
  b.x = random_matrix(rows, net.input_size(), rng, -1.0f, 1.0f);
  const int out = net.output_size();
  if (loss == Loss::softmax_cross_entropy) {
    for (int r = 0; r < rows; ++r) b.labels.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(out))));
    b.y = one_hot(b.labels, out);
  } else if (loss.kind == Loss::Kind::soft_targets) {
    // A teacher's softened outputs (a random distribution per row), then the one-hot labels
    // when the loss mixes in hard labels (lib/loss.hpp).
    for (int r = 0; r < rows; ++r) b.labels.push_back(static_cast<int>(rng.below(static_cast<std::uint64_t>(out))));
    Matrix p = random_matrix(rows, out, rng, -2.0f, 2.0f).array().exp();
    for (int r = 0; r < rows; ++r) p.row(r) /= p.row(r).sum();
    b.y.resize(rows, loss.target_columns(out));
    b.y.leftCols(out) = p;
    if (b.y.cols() > out) b.y.rightCols(out) = one_hot(b.labels, out);
  } else {
    switch (net.shape().output) {
      case Activation::sigmoid: b.y = random_matrix(rows, out, rng, 0.1f, 0.9f); break;
      case Activation::tanh: b.y = random_matrix(rows, out, rng, -0.8f, 0.8f); break;
      case Activation::relu: b.y = random_matrix(rows, out, rng, 0.0f, 1.0f); break;
      case Activation::linear: b.y = random_matrix(rows, out, rng, -1.0f, 1.0f); break;
    }
  }
  return b;
}

// Gradients shaped like `net` and filled with NaN, so a test sees any entry a rule forgot to write.
inline Gradients nan_gradients(const Mlp& net) {
  Gradients g = Gradients::like(net);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (auto& w : g.dW) w.setConstant(nan);
  for (auto& b : g.db) b.setConstant(nan);
  for (auto& w : g.front.weight) w.setConstant(nan);
  for (auto& b : g.front.bias) b.setConstant(nan);
  return g;
}

// One batch through the network, with the output delta of `loss`: what a training step gives a rule.
struct Pass {
  ForwardCache cache;
  Matrix delta;
  double loss = 0.0;
  Loss loss_function = Loss::mse;   // what `loss` measured (perturbation rules evaluate it again)
};

inline Pass run_forward(const Mlp& net, Loss loss, const Matrix& x, const Matrix& y, int capacity = 0) {
  Pass p{ForwardCache(net.shape(), capacity > 0 ? capacity : static_cast<int>(x.rows())),
         Matrix(x.rows(), net.output_size()), 0.0, loss};
  forward(net, x, p.cache);
  p.loss = loss_and_delta(loss, net.shape().output, p.cache.logits(), p.cache.output(), y, p.delta);
  return p;
}

// 2-2-1 with a linear hidden layer, for golden values checked by hand (the feedback rules):
//   W_0 = [[1, −2], [0.5, 1]],  W_1 = [[2, −0.5]],  x = [[1, 1]],  y = [[0]],  δ_out = [[1]].
struct HandNet {
  Mlp net{MlpShape{{2, 2, 1}, Activation::linear, Activation::linear}};
  Pass pass;
  Matrix x{1, 2}, y{1, 1};
  HandNet() {
    net.weight(0) << 1.0f, -2.0f, 0.5f, 1.0f;
    net.weight(1) << 2.0f, -0.5f;
    x << 1.0f, 1.0f;
    y << 0.0f;
    pass = run_forward(net, Loss::mse, x, y);
    pass.delta << 1.0f;   // δ_out given directly, whatever the loss's convention
  }
};

// True when two networks have the same shape and bitwise the same weights and biases.
inline bool same_net(const Mlp& a, const Mlp& b) {
  if (a.shape().sizes != b.shape().sizes) return false;
  for (int l = 0; l < a.num_layers(); ++l)
    if (a.weight(l) != b.weight(l) || a.bias(l) != b.bias(l)) return false;
  return true;
}

// Momentum SGD (momentum 0.9) at `lr`: the optimizer of the rules' learning tests.
inline OptimizerSpec momentum(double lr) {
  OptimizerSpec o;
  o.type = "momentum";
  o.lr = lr;
  return o;
}

// A training budget without telemetry (the learning tests look at the loss and the rule's state only).
inline TrainBudget quiet_budget(int epochs, int batch) {
  TrainBudget b;
  b.epochs = epochs;
  b.batch = batch;
  b.alignment = false;
  return b;
}

// The rule's update for one batch (into NaN-filled gradients, see nan_gradients).
inline Gradients rule_update(const LearningRule& rule, RuleState& state, const Mlp& net, const Pass& pass,
                             const Matrix& target, std::uint64_t step = 0) {
  Gradients g = nan_gradients(net);
  const Eigen::Ref<const Matrix> delta_ref(pass.delta), target_ref(target);
  rule.compute_update(StepSignals{net, pass.cache, delta_ref, target_ref, step, pass.loss_function}, state, g);
  return g;
}

// The exact gradient of one batch by plast::backprop_gradient.
inline Gradients exact_gradient(const Mlp& net, const Pass& pass) {
  Gradients g = nan_gradients(net);
  DeltaBuffers buffers(net.shape(), pass.cache.capacity());
  backprop_gradient(net, pass.cache, pass.delta, buffers, g);
  return g;
}

// The message of the plast::Error that `f` throws, or "<no error>".
template <typename F>
std::string error_message(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

inline double max_abs(const Eigen::Ref<const Matrix>& m) {
  return m.size() == 0 ? 0.0 : static_cast<double>(m.cwiseAbs().maxCoeff());
}

// max |a − b| / max |b|, the relative size of a difference against the layer's scale.
inline double relative_difference(const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Matrix>& b) {
  const double scale = max_abs(b);
  const double diff = (a - b).cwiseAbs().maxCoeff();
  return scale == 0.0 ? diff : diff / scale;
}

}  // namespace plast::test
