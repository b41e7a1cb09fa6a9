// Optimizers subtract an update with the sign of a gradient (lib/optimizer.hpp). Golden
// steps are computed by hand; Adam is also checked against the textbook form with explicit
// bias correction (Kingma & Ba 2015, Algorithm 1), which the library folds into lr and ε.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "lib/optimizer.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

// A 2-2 single-layer net: W = [[1, -2], [0.5, 0]], b = [0.25, -1].
Mlp small_net() {
  Mlp net(MlpShape{{2, 2}, Activation::linear, Activation::linear});
  net.weight(0) << 1.0f, -2.0f, 0.5f, 0.0f;
  net.bias(0) << 0.25f, -1.0f;
  return net;
}

Gradients grad(const Mlp& net, float w00, float w01, float w10, float w11, float b0, float b1) {
  Gradients g = Gradients::like(net);
  g.dW[0] << w00, w01, w10, w11;
  g.db[0] << b0, b1;
  return g;
}

Matrix mat(float a, float b, float c, float d) {
  Matrix m(2, 2);
  m << a, b, c, d;
  return m;
}

void check_close(const Eigen::Ref<const Matrix>& got, const Eigen::Ref<const Matrix>& expected, double tol = 1e-6) {
  REQUIRE(got.rows() == expected.rows());
  REQUIRE(got.cols() == expected.cols());
  for (Eigen::Index i = 0; i < got.rows(); ++i)
    for (Eigen::Index j = 0; j < got.cols(); ++j) {
      CAPTURE(i);
      CAPTURE(j);
      CHECK(got(i, j) == doctest::Approx(expected(i, j)).epsilon(tol).scale(1.0));
    }
}

OptimizerSpec spec(std::string type, double lr) {
  OptimizerSpec s;
  s.type = std::move(type);
  s.lr = lr;
  return s;
}

}  // namespace

TEST_SUITE("lib/optimizer") {

TEST_CASE("sgd: W <- W - lr g, b <- b - lr g_b") {
  Mlp net = small_net();
  auto opt = make_optimizer(spec("sgd", 0.1), net);
  opt->apply(net, grad(net, 1.0f, 2.0f, -4.0f, 0.5f, 10.0f, -0.5f));
  check_close(net.weight(0), mat(1.0f - 0.1f, -2.0f - 0.2f, 0.5f + 0.4f, 0.0f - 0.05f));
  CHECK(net.bias(0)(0) == doctest::Approx(0.25 - 1.0));
  CHECK(net.bias(0)(1) == doctest::Approx(-1.0 + 0.05));
}

TEST_CASE("sgd with weight decay: W <- W - lr (g + wd W); biases are not decayed") {
  Mlp net = small_net();
  OptimizerSpec s = spec("sgd", 0.1);
  s.weight_decay = 0.5;
  auto opt = make_optimizer(s, net);
  opt->apply(net, grad(net, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f));
  // W(1 − 0.05) − 0.1 g
  check_close(net.weight(0), mat(1.0f * 0.95f - 0.1f, -2.0f * 0.95f, 0.5f * 0.95f, 0.0f));
  CHECK(net.bias(0)(0) == 0.25f);
  CHECK(net.bias(0)(1) == -1.0f);
}

TEST_CASE("momentum: two steps by hand (v <- mu v + g; W <- W - lr v)") {
  Mlp net = small_net();
  OptimizerSpec s = spec("momentum", 0.1);
  s.momentum = 0.5;
  auto opt = make_optimizer(s, net);
  // Step 1: v = g1 = [[1, 2], [-1, 0]], vb = (1, -2); W = W0 − 0.1 v.
  opt->apply(net, grad(net, 1.0f, 2.0f, -1.0f, 0.0f, 1.0f, -2.0f));
  check_close(net.weight(0), mat(0.9f, -2.2f, 0.6f, 0.0f));
  CHECK(net.bias(0)(0) == doctest::Approx(0.15));
  CHECK(net.bias(0)(1) == doctest::Approx(-0.8));
  // Step 2: g2 = [[0, 4], [1, 1]], gb = (0, 2); v = 0.5 v + g2 = [[0.5, 5], [0.5, 1]], vb = (0.5, 1).
  opt->apply(net, grad(net, 0.0f, 4.0f, 1.0f, 1.0f, 0.0f, 2.0f));
  check_close(net.weight(0), mat(0.9f - 0.05f, -2.2f - 0.5f, 0.6f - 0.05f, 0.0f - 0.1f));
  CHECK(net.bias(0)(0) == doctest::Approx(0.15 - 0.05));
  CHECK(net.bias(0)(1) == doctest::Approx(-0.8 - 0.1));
}

TEST_CASE("momentum with weight decay: v <- mu v + g + wd W") {
  Mlp net = small_net();
  OptimizerSpec s = spec("momentum", 0.1);
  s.momentum = 0.5;
  s.weight_decay = 0.1;
  auto opt = make_optimizer(s, net);
  const Gradients zero = Gradients::like(net);
  opt->apply(net, zero);   // v1 = 0.1 W0, W1 = W0 (1 − 0.01)
  check_close(net.weight(0), mat(0.99f, -1.98f, 0.495f, 0.0f));
  opt->apply(net, zero);   // v2 = 0.5 v1 + 0.1 W1 = 0.05 W0 + 0.099 W0; W2 = W1 − 0.1 v2
  const float f = 0.99f - 0.1f * (0.05f + 0.099f);
  check_close(net.weight(0), mat(f, -2.0f * f, 0.5f * f, 0.0f));
  CHECK(net.bias(0)(0) == 0.25f);
}

TEST_CASE("adam: the first step moves each weight by lr·sign(g) (bias-corrected)") {
  const Mlp start = test::random_mlp({5, 7, 3}, Activation::tanh, Activation::linear, 3);
  Mlp net = start;
  auto opt = make_optimizer(spec("adam", 0.01), net);
  RandomStream rng(4, Purpose::probe);
  Gradients g = Gradients::like(net);
  for (auto& w : g.dW) w = test::random_matrix(w.rows(), w.cols(), rng, -2.0f, 2.0f);
  for (auto& b : g.db) b = test::random_matrix(1, b.size(), rng, -2.0f, 2.0f);
  g.dW[0](0, 0) = 0.0f;      // no gradient, no movement
  g.dW[1](1, 1) = 1e-3f;     // a tiny gradient still moves by a whole lr
  opt->apply(net, g);
  for (int l = 0; l < net.num_layers(); ++l) {
    const Matrix moved = start.weight(l) - net.weight(l);
    const Matrix expected = 0.01f * g.dW[l].array().sign().matrix();
    // |g|/(|g| + ε) = 1 − O(1e-5) for |g| ≥ 1e-3, plus float rounding of W.
    CHECK((moved - expected).cwiseAbs().maxCoeff() < 1e-6f);
    const RowVector moved_b = start.bias(l) - net.bias(l);
    const RowVector expected_b = 0.01f * g.db[l].array().sign().matrix();
    CHECK((moved_b - expected_b).cwiseAbs().maxCoeff() < 1e-6f);
  }
  CHECK(net.weight(0)(0, 0) == start.weight(0)(0, 0));
}

TEST_CASE("adam equals the textbook algorithm with explicit bias correction over several steps") {
  Mlp net = small_net();
  OptimizerSpec s = spec("adam", 0.05);
  s.beta1 = 0.8;
  s.beta2 = 0.9;
  s.epsilon = 1e-3;   // large enough that folding ε into the step is checked too
  auto opt = make_optimizer(s, net);
  double w[4] = {1.0, -2.0, 0.5, 0.0}, m[4] = {}, v[4] = {};
  const float gs[3][4] = {{1.0f, -0.5f, 0.01f, 0.0f}, {-2.0f, -0.5f, 0.02f, 3.0f}, {0.5f, 1.0f, -0.01f, -1.0f}};
  for (int t = 1; t <= 3; ++t) {
    opt->apply(net, grad(net, gs[t - 1][0], gs[t - 1][1], gs[t - 1][2], gs[t - 1][3], 0.0f, 0.0f));
    for (int i = 0; i < 4; ++i) {
      const double gi = gs[t - 1][i];
      m[i] = 0.8 * m[i] + 0.2 * gi;
      v[i] = 0.9 * v[i] + 0.1 * gi * gi;
      const double m_hat = m[i] / (1.0 - std::pow(0.8, t)), v_hat = v[i] / (1.0 - std::pow(0.9, t));
      w[i] -= 0.05 * m_hat / (std::sqrt(v_hat) + 1e-3);
    }
    CAPTURE(t);
    check_close(net.weight(0), mat(static_cast<float>(w[0]), static_cast<float>(w[1]), static_cast<float>(w[2]),
                                   static_cast<float>(w[3])),
                1e-5);
  }
  CHECK(net.bias(0)(0) == 0.25f);   // zero bias gradient, no movement
}

TEST_CASE("adamw: weight decay is decoupled: with g = 0 weights shrink by (1 - lr·wd), biases stay") {
  const Mlp start = test::random_mlp({5, 7, 3}, Activation::tanh, Activation::linear, 8);
  Mlp net = start;
  OptimizerSpec s = spec("adam", 0.01);
  s.weight_decay = 0.5;
  auto opt = make_optimizer(s, net);
  const Gradients zero = Gradients::like(net);
  opt->apply(net, zero);
  for (int l = 0; l < net.num_layers(); ++l) {
    CHECK(test::relative_difference(net.weight(l), (start.weight(l) * (1.0f - 0.01f * 0.5f)).eval()) < 1e-6);
    CHECK(net.bias(l) == start.bias(l));
  }
  opt->apply(net, zero);
  opt->apply(net, zero);
  const float shrink3 = std::pow(1.0f - 0.005f, 3.0f);
  for (int l = 0; l < net.num_layers(); ++l)
    CHECK(test::relative_difference(net.weight(l), (start.weight(l) * shrink3).eval()) < 1e-6);
}

TEST_CASE("adamw: the decay does not pass through the moments (decoupled, not L2)") {
  // With L2 regularisation Adam would normalise wd·W and move every weight by ≈ lr; decoupled
  // decay moves a weight by lr·wd·W on top of the normalised gradient step.
  Mlp net = small_net();
  OptimizerSpec s = spec("adam", 0.01);
  s.weight_decay = 0.1;
  auto opt = make_optimizer(s, net);
  opt->apply(net, grad(net, 1.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f));
  // W1 = W0 (1 − 0.001) − 0.01·sign(g)
  check_close(net.weight(0), mat(1.0f * 0.999f - 0.01f, -2.0f * 0.999f - 0.01f, 0.5f * 0.999f - 0.01f, -0.01f), 1e-5);
}

TEST_CASE("each optimizer keeps its own moments") {
  Mlp a = small_net(), b = small_net();
  auto oa = make_optimizer(spec("momentum", 0.1), a);
  auto ob = make_optimizer(spec("momentum", 0.1), b);
  const Gradients g = grad(a, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f, 1.0f);
  oa->apply(a, g);
  oa->apply(a, g);
  ob->apply(b, g);
  ob->apply(b, g);
  CHECK(a.weight(0) == b.weight(0));
}

TEST_CASE("validation names the wrong value exactly") {
  CHECK(test::error_message([] { OptimizerSpec{}.validate(); }) == "<no error>");
  CHECK(test::error_message([] { OptimizerSpec{.lr = -1}.validate(); }) == "lr = -1: must be > 0");
  CHECK(test::error_message([] { OptimizerSpec{.lr = 0}.validate(); }) == "lr = 0: must be > 0");
  CHECK(test::error_message([] { OptimizerSpec{.lr = std::numeric_limits<double>::infinity()}.validate(); }) ==
        "lr = inf: must be > 0");
  CHECK(test::error_message([] { OptimizerSpec{.lr = std::nan("")}.validate(); }) == "lr = nan: must be > 0");
  CHECK(test::error_message([] { OptimizerSpec{.momentum = 1}.validate(); }) == "momentum = 1: must be in [0, 1)");
  CHECK(test::error_message([] { OptimizerSpec{.momentum = -0.5}.validate(); }) ==
        "momentum = -0.5: must be in [0, 1)");
  CHECK(test::error_message([] { OptimizerSpec{.beta1 = 1.5}.validate(); }) == "beta1 = 1.5: must be in [0, 1)");
  CHECK(test::error_message([] { OptimizerSpec{.beta2 = 1}.validate(); }) == "beta2 = 1: must be in [0, 1)");
  CHECK(test::error_message([] { OptimizerSpec{.epsilon = 0}.validate(); }) == "epsilon = 0: must be > 0");
  CHECK(test::error_message([] { OptimizerSpec{.weight_decay = -0.01}.validate(); }) ==
        "weight_decay = -0.01: must be >= 0");
  CHECK(test::error_message([] { OptimizerSpec{.type = "adamw"}.validate(); }) ==
        "type = adamw: unknown optimizer (known: sgd, momentum, adam)");
  // The error carries its key and problem, so YAML readers can add the location.
  try {
    OptimizerSpec{.lr = -1}.validate();
    FAIL("no exception");
  } catch (const InvalidValue& e) {
    CHECK(e.key() == "lr");
    CHECK(e.problem() == "must be > 0");
  }
  // make_optimizer validates before building.
  const Mlp net = small_net();
  CHECK(test::error_message([&] { make_optimizer(OptimizerSpec{.beta2 = 2}, net); }) ==
        "beta2 = 2: must be in [0, 1)");
  for (const auto& name : optimizer_names()) {
    CAPTURE(name);
    CHECK(make_optimizer(OptimizerSpec{.type = name}, net) != nullptr);
  }
}

}  // TEST_SUITE
