// Synthetic gradients (Jaderberg et al., "Decoupled Neural Interfaces using Synthetic Gradients",
// ICML 2017): the module step by hand, backprop exactly where a linear module can represent the
// gradient map (linear networks, cDNI), the modules' prediction loss falling while a student
// learns, cDNI predicting better than DNI on a classification task, and determinism.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "lib/optimizer.hpp"
#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "rules/synthetic_gradients.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

std::shared_ptr<const LearningRule> synthetic(ParamValues p = {}) {
  return rule_registry().make("synthetic_gradients", p);
}

// Sets every module of a linear network (linear hidden and output units, squared loss) to the
// exact per-sample gradient map ∂ℓ/∂h_j = h_j A_j + y C_j + b_j, from the top down:
//   top:   ∂ℓ/∂h_{L−1} = (h_{L−1} W_{L−1}ᵀ + b_{L−1} − y) W_{L−1}
//   below: ∂ℓ/∂h_j = ∂ℓ/∂h_{j+1} W_j with h_{j+1} = h_j W_jᵀ + b_j.
// With conditional = false the y term is left out (exact only for zero targets).
void set_exact_modules(const Mlp& net, RuleState& state, bool conditional) {
  const int last = net.num_layers() - 1;
  for (int j = last; j >= 1; --j) {
    auto& m = SyntheticGradients::module(state, j);
    const Matrix& w = net.weight(j);
    if (j == last) {
      m.a = w.transpose() * w;
      if (conditional) m.c = -w;
      m.bias = net.bias(j) * w;
    } else {
      const auto& above = SyntheticGradients::module(state, j + 1);
      m.a = w.transpose() * above.a * w;
      if (conditional) m.c = above.c * w;
      m.bias = (net.bias(j) * above.a + above.bias) * w;
    }
  }
}

// A student trained step by step, recording the loss of every step and each module's relative
// prediction loss (before its step) at every step.
struct Trace {
  std::vector<double> loss;
  std::vector<std::vector<double>> relative;   // relative[j][step], j = 1 … L−1
  std::vector<std::vector<double>> absolute;   // the module loss itself, likewise
  Student student;
};

Trace train_steps(const Task& task, const LearningRule& rule, std::vector<int> hidden, int batch, int steps,
                  std::uint64_t seed, OptimizerSpec optimizer = {}) {
  StudentSpec spec;
  spec.hidden = std::move(hidden);
  Trace t{{}, {}, {}, make_student(task, spec, rule, optimizer, batch, seed)};
  t.relative.resize(spec.hidden.size() + 1);
  t.absolute.resize(spec.hidden.size() + 1);
  StepWorkspace ws(t.student.net, batch);
  const Dataset& data = *task.train;
  Matrix x(batch, data.x.cols()), y(batch, data.y.cols());
  for (int step = 0; step < steps; ++step) {
    for (int r = 0; r < batch; ++r) {
      const auto row = (static_cast<Eigen::Index>(step) * batch + r) % data.size();
      x.row(r) = data.x.row(row);
      y.row(r) = data.y.row(row);
    }
    t.loss.push_back(train_step(t.student, rule, task, x, y, ws, static_cast<std::uint64_t>(step)));
    for (std::size_t j = 1; j < t.relative.size(); ++j) {
      t.relative[j].push_back(SyntheticGradients::module_relative_loss(*t.student.rule_state, static_cast<int>(j)));
      t.absolute[j].push_back(SyntheticGradients::module_loss(*t.student.rule_state, static_cast<int>(j)));
    }
  }
  return t;
}

double mean_of(const std::vector<double>& v, std::size_t from, std::size_t to) {
  double s = 0.0;
  for (std::size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

double test_loss(const Mlp& net, const Task& task) {
  ForwardCache cache(net.shape(), 500);
  return evaluate(net, task, *task.test, cache).loss;
}

}  // namespace

TEST_SUITE("rules/synthetic_gradients") {

TEST_CASE("hidden-layer updates are non-zero, finite and shaped like W_l; the output layer gets backprop's") {
  for (const bool conditional : {false, true}) {
    CAPTURE(conditional);
    const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 8);
    const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 6, 9);
    const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 8);
    const auto sg = synthetic({{"conditional", conditional ? 1 : 0}});
    auto state = sg->make_state(net, 8, RandomStream(2, Purpose::feedback));
    // Modules start at zero (the paper) and have the shapes of the maps they learn.
    for (int j = 1; j < net.num_layers(); ++j) {
      CAPTURE(j);
      const auto& m = SyntheticGradients::module(*state, j);
      CHECK(m.a.rows() == net.shape().sizes[j]);
      CHECK(m.a.cols() == net.shape().sizes[j]);
      CHECK(m.bias.size() == net.shape().sizes[j]);
      CHECK(m.c.rows() == (conditional ? net.output_size() : 0));
      if (conditional) CHECK(m.c.cols() == net.shape().sizes[j]);
      CHECK(test::max_abs(m.a) == 0.0);
    }
    const Gradients g = test::rule_update(*sg, *state, net, pass, batch.y);
    const Gradients bp = test::exact_gradient(net, pass);
    REQUIRE(g.all_finite());
    for (int l = 0; l < net.num_layers(); ++l) {
      CAPTURE(l);
      CHECK(g.dW[l].rows() == net.weight(l).rows());
      CHECK(g.dW[l].cols() == net.weight(l).cols());
      CHECK(test::max_abs(g.dW[l]) > 0.0);
    }
    CHECK(g.dW[2] == bp.dW[2]);
    CHECK(g.db[2] == bp.db[2]);
    // A zero module predicts exactly nothing: its relative loss is 1 on the first batch.
    for (int j = 1; j < net.num_layers(); ++j) CHECK(SyntheticGradients::module_relative_loss(*state, j) == 1.0);
    CHECK_THROWS_AS(SyntheticGradients::module(*state, 0), std::out_of_range);
    CHECK_THROWS_AS(SyntheticGradients::module(*state, 3), std::out_of_range);
  }
}

TEST_CASE("golden: a zero module's first NLMS step, by hand; with lr 0 the hidden layers get nothing") {
  // One hidden layer, 3-4-2 tanh, squared loss. The top module's target is g = B δ_out W_1, and
  // from zero one NLMS step gives A = (lr / (B·s)) hᵀg and b = (lr / (B·s)) Σ_n g_n with
  // s = 1 + mean_n ‖h_n‖²; layer 0 then learns from ĝ = h A + b.
  const Mlp net = test::random_mlp({3, 4, 2}, Activation::tanh, Activation::linear, 5);
  const test::Batch batch = test::random_batch(net, Loss::mse, 5, 6);
  const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y);
  const double lr = 0.5;
  const auto sg = synthetic({{"lr", lr}});
  auto state = sg->make_state(net, 5, RandomStream(1, Purpose::feedback));
  const Gradients g = test::rule_update(*sg, *state, net, pass, batch.y);

  const Matrix h = pass.cache.h(1);
  const Matrix target = (5.0f * pass.delta) * net.weight(1);
  const double s = 1.0 + h.cast<double>().squaredNorm() / 5.0;
  const auto rate = static_cast<float>(lr / (5.0 * s));
  const Matrix a = rate * h.transpose() * target;
  const RowVector b = rate * target.colwise().sum();
  const auto& m = SyntheticGradients::module(*state, 1);
  CHECK(test::relative_difference(m.a, a) < 1e-5);
  CHECK(test::relative_difference(Matrix(m.bias), Matrix(b)) < 1e-5);
  CHECK(SyntheticGradients::module_loss(*state, 1) == doctest::Approx(0.5 * target.cast<double>().squaredNorm() / 5.0));
  // Layer 0: δ_0 = ((h A + b)/B) ⊙ (1 − h²).
  Matrix predicted = h * a;
  predicted.rowwise() += b;
  const Matrix delta0 = (predicted / 5.0f).array() * (1.0f - h.array().square());
  const Matrix dw0 = delta0.transpose() * pass.cache.h(0);
  CHECK(test::relative_difference(g.dW[0], dw0) < 1e-5);

  // lr 0 from zero modules: DNI's untrained start, the hidden layers get exactly nothing.
  const auto frozen = synthetic({{"lr", 0.0}});
  auto frozen_state = frozen->make_state(net, 5, RandomStream(1, Purpose::feedback));
  const Gradients z = test::rule_update(*frozen, *frozen_state, net, pass, batch.y);
  CHECK(test::max_abs(z.dW[0]) == 0.0);
  CHECK(test::max_abs(Matrix(z.db[0])) == 0.0);
}

TEST_CASE("with every module set to the exact gradient map (linear network, cDNI) the update is backprop's") {
  // A linear network's per-sample gradient ∂ℓ/∂h_j is affine in (h_j, y): a linear cDNI module
  // represents it exactly, and bootstrapping exact modules reproduces backprop at every depth.
  // With lr 0 the modules stay put; at the default lr their error is ~0, so the step barely
  // moves them and the update still matches.
  for (const auto& sizes : {std::vector<int>{4, 6, 3}, std::vector<int>{4, 6, 5, 3}, std::vector<int>{5, 4, 7, 6, 2}}) {
    for (const double lr : {0.0, 1.0}) {
     for (const int fresh : {0, 1}) {
      CAPTURE(sizes.size());
      CAPTURE(lr);
      CAPTURE(fresh);
      const Mlp net = test::random_mlp(sizes, Activation::linear, Activation::linear, 17);
      const test::Batch batch = test::random_batch(net, Loss::mse, 7, 18);
      const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y, 8);
      const auto sg = synthetic({{"conditional", 1}, {"lr", lr}, {"fresh", fresh}});
      auto state = sg->make_state(net, 8, RandomStream(3, Purpose::feedback));
      set_exact_modules(net, *state, true);
      const Gradients g = test::rule_update(*sg, *state, net, pass, batch.y);
      const Gradients bp = test::exact_gradient(net, pass);
      for (int l = 0; l < net.num_layers(); ++l) {
        CAPTURE(l);
        CHECK(test::relative_difference(g.dW[l], bp.dW[l]) < 2e-5);
        CHECK(test::relative_difference(Matrix(g.db[l]), Matrix(bp.db[l])) < 2e-5);
      }
      for (int j = 1; j < net.num_layers(); ++j) CHECK(SyntheticGradients::module_relative_loss(*state, j) < 1e-9);
     }
    }
  }
  // Unconditional DNI is exact where the gradient does not depend on y: zero targets.
  const Mlp net = test::random_mlp({4, 6, 3}, Activation::linear, Activation::linear, 19);
  const test::Batch batch = test::random_batch(net, Loss::mse, 7, 20);
  const Matrix zero = Matrix::Zero(7, 3);
  const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, zero);
  const auto sg = synthetic({{"lr", 0.0}});
  auto state = sg->make_state(net, 7, RandomStream(3, Purpose::feedback));
  set_exact_modules(net, *state, false);
  const Gradients g = test::rule_update(*sg, *state, net, pass, zero);
  const Gradients bp = test::exact_gradient(net, pass);
  CHECK(test::relative_difference(g.dW[0], bp.dW[0]) < 2e-5);
  // ... and, fed the real targets, it misses the y term (the reduction is not trivial).
  const test::Pass real = test::run_forward(net, Loss::mse, batch.x, batch.y);
  const Gradients g2 = test::rule_update(*sg, *state, net, real, batch.y);
  CHECK(test::relative_difference(g2.dW[0], test::exact_gradient(net, real).dW[0]) > 1e-2);
}

TEST_CASE("on a tanh teacher the modules' prediction loss falls, and the student learns better than without them") {
  const Task task = task_registry().make("mlp_teacher", {{"train_size", 4096}, {"test_size", 500}})->sample(3, 0, Split::meta_train);
  OptimizerSpec opt;
  opt.type = "momentum";
  opt.lr = 0.01;
  const int steps = 1200;
  // Frozen zero modules (lr 0): the hidden layers get nothing, only the output layer learns.
  const Trace frozen = train_steps(task, *synthetic({{"lr", 0.0}}), {32, 32}, 32, steps, 4, opt);
  const double without = test_loss(frozen.student.net, task);
  for (const int conditional : {0, 1}) {
    CAPTURE(conditional);
    const Trace t = train_steps(task, *synthetic({{"conditional", conditional}}), {32, 32}, 32, steps, 4, opt);
    for (int j = 1; j <= 2; ++j) {
      CAPTURE(j);
      // The zero module's first prediction misses everything: relative loss exactly 1.
      CHECK(t.relative[j][0] == 1.0);
      const double late = mean_of(t.relative[j], steps - 100, steps);
      MESSAGE("conditional " << conditional << " module " << j << " relative loss: step 0 1, last 100 steps " << late);
      // cDNI: the gradient map of a regression is (out − y) W, which the target makes learnable.
      // Unconditional DNI cannot follow it: once the output layer fits, the residual out − y is
      // (linearly) uncorrelated with h, so a linear module on h alone predicts little (its
      // relative loss stays near 1, see the header); the absolute loss still falls with the error.
      if (conditional) CHECK(late < 0.5);
    }
    const double with_modules = test_loss(t.student.net, task);
    MESSAGE("conditional " << conditional << ": train loss " << mean_of(t.loss, 0, 20) << " -> " << mean_of(t.loss, steps - 100, steps)
                           << "; test loss " << with_modules << ", output layer only " << without);
    CHECK(mean_of(t.loss, steps - 100, steps) < 0.5 * mean_of(t.loss, 0, 20));
    CHECK(with_modules < (conditional ? 0.5 : 0.9) * without);
    // The absolute prediction loss ½‖ĝ − g‖² falls in both variants.
    for (int j = 1; j <= 2; ++j) {
      const double early = mean_of(t.absolute[j], 0, 20), late = mean_of(t.absolute[j], steps - 100, steps);
      MESSAGE("conditional " << conditional << " module " << j << " loss: first 20 steps " << early << ", last 100 " << late);
      CHECK(late < 0.5 * early);
    }
  }
}

TEST_CASE("cDNI: on a classification task the label-conditioned modules predict better, from the start") {
  const Task task = task_registry().make("gaussian_clusters", {{"train_size", 4000}, {"test_size", 500}})->sample(5, 0, Split::meta_train);
  OptimizerSpec opt;
  opt.type = "momentum";
  opt.lr = 0.05;
  const int steps = 600;
  const Trace dni = train_steps(task, *synthetic(), {32, 32}, 16, steps, 6, opt);
  const Trace cdni = train_steps(task, *synthetic({{"conditional", 1}}), {32, 32}, 16, steps, 6, opt);
  for (int j = 1; j <= 2; ++j) {
    CAPTURE(j);
    // Window by window (100 steps each), cDNI's relative loss is no higher than DNI's, and below
    // the zero module's 1.
    for (int w = 0; w < steps / 100; ++w) {
      CAPTURE(w);
      const auto from = static_cast<std::size_t>(w * 100), to = from + 100;
      const double d = mean_of(dni.relative[j], from, to), c = mean_of(cdni.relative[j], from, to);
      MESSAGE("module " << j << " steps " << from << "-" << to << ": DNI " << d << ", cDNI " << c);
      CHECK(c <= d);
      CHECK(c < 0.9);
    }
  }
  // Both students learn the task; cDNI's at least as well.
  const double d = mean_of(dni.loss, steps - 100, steps), c = mean_of(cdni.loss, steps - 100, steps);
  MESSAGE("training loss, last 100 steps: DNI " << d << ", cDNI " << c << " (first 20: " << mean_of(cdni.loss, 0, 20) << ")");
  CHECK(c < 0.5 * mean_of(cdni.loss, 0, 20));
  CHECK(d < 0.75 * mean_of(dni.loss, 0, 20));
  CHECK(c <= d);
}

TEST_CASE("training is deterministic; a cloned state is independent; costs are counted") {
  const Task task = task_registry().make("mlp_teacher", {{"train_size", 512}, {"test_size", 100}})->sample(1, 0, Split::meta_train);
  for (const double init_scale : {0.0, 0.1}) {
    CAPTURE(init_scale);
    const auto sg = synthetic({{"conditional", 1}, {"init_scale", init_scale}});
    const Trace a = train_steps(task, *sg, {8, 6}, 16, 50, 7);
    const Trace b = train_steps(task, *sg, {8, 6}, 16, 50, 7);
    CHECK(a.loss == b.loss);
    for (int l = 0; l < a.student.net.num_layers(); ++l) CHECK(a.student.net.weight(l) == b.student.net.weight(l));
    for (int j = 1; j <= 2; ++j) {
      CHECK(SyntheticGradients::module(*a.student.rule_state, j).a == SyntheticGradients::module(*b.student.rule_state, j).a);
      CHECK(SyntheticGradients::module(*a.student.rule_state, j).c == SyntheticGradients::module(*b.student.rule_state, j).c);
    }
    // A clone is a deep copy: stepping it leaves the original's modules alone.
    auto copy = a.student.rule_state->clone();
    const Matrix before = SyntheticGradients::module(*a.student.rule_state, 1).a;
    const Mlp& net = a.student.net;
    const Matrix x = task.train->x.topRows(16), y = task.train->y.topRows(16);
    const test::Pass pass = test::run_forward(net, Loss::mse, x, y, 16);
    test::rule_update(*sg, *copy, net, pass, y);
    CHECK(SyntheticGradients::module(*a.student.rule_state, 1).a == before);
    CHECK_FALSE(SyntheticGradients::module(*copy, 1).a == before);
  }
  // A non-zero init_scale draws the modules from the feedback stream: seeds differ.
  const auto sg = synthetic({{"init_scale", 0.1}});
  const Mlp net = test::random_mlp({5, 7, 3}, Activation::tanh, Activation::linear, 1);
  auto s1 = sg->make_state(net, 4, RandomStream(1, Purpose::feedback));
  auto s2 = sg->make_state(net, 4, RandomStream(2, Purpose::feedback));
  CHECK(test::max_abs(SyntheticGradients::module(*s1, 1).a) > 0.0);
  CHECK_FALSE(SyntheticGradients::module(*s1, 1).a == SyntheticGradients::module(*s2, 1).a);
  // update_flops: backprop's products plus three module products per hidden layer (two in DNI's order).
  const MlpShape shape{{784, 256, 256, 10}, Activation::tanh, Activation::linear};
  const double bp = backprop_update_flops(shape, 64);
  CHECK(synthetic()->update_flops(shape, 64) == doctest::Approx(bp + 2 * 6.0 * 64 * 256 * 256));
  CHECK(synthetic({{"conditional", 1}})->update_flops(shape, 64) == doctest::Approx(bp + 2 * 6.0 * 64 * 256 * (256 + 10)));
  CHECK(synthetic({{"fresh", 0}})->update_flops(shape, 64) == doctest::Approx(bp + 2 * 4.0 * 64 * 256 * 256));
}

}  // TEST_SUITE
