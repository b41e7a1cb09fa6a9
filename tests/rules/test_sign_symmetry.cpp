// Sign-concordant feedback (Liao, Leibo & Poggio 2016; Xiao et al. 2018): uSF, brSF, frSF.
// Golden numbers on a hand-checked 2-2-1 net, the cases in which uSF is backprop exactly, signs
// that follow the current weights, and the batchwise / fixed magnitudes of brSF and frSF.
#include <doctest/doctest.h>

#include <cmath>

#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "rules/sign_symmetry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

// A non-square 5-7-4-3 tanh net with a batch of 6 in a cache of 8.
struct Fixture {
  Mlp net;
  test::Batch batch;
  test::Pass pass;
  explicit Fixture(Mlp n, Loss loss = Loss::softmax_cross_entropy, std::uint64_t seed = 21)
      : net(std::move(n)), batch(test::random_batch(net, loss, 6, seed + 1)),
        pass(test::run_forward(net, loss, batch.x, batch.y, 8)) {}
  Fixture() : Fixture(test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 21)) {}
};

std::shared_ptr<const LearningRule> make(const char* name, double scale = 1.0) {
  return rule_registry().make(name, {{"scale", scale}});
}

}  // namespace

TEST_SUITE("rules/sign_symmetry") {

TEST_CASE("golden: uSF's first update on a 2-2-1 net, by hand") {
  // m_1 = mean|W_1| = 1.25, sign(W_1) = [1, −1], so B_1ᵀ = [1.25, −1.25];
  // δ_0 = δ_out B_1ᵀ = [1.25, −1.25];  dW_0 = δ_0ᵀ x = [[1.25, 1.25], [−1.25, −1.25]].
  // h_1 = x W_0ᵀ = [−1, 1.5], so dW_1 = δ_outᵀ h_1 = [[−1, 1.5]] (backprop's, as for every rule).
  test::HandNet t;
  const auto usf = make("usf");
  auto state = usf->make_state(t.net, 1, RandomStream(1, Purpose::feedback));
  const Gradients g = test::rule_update(*usf, *state, t.net, t.pass, t.y);
  Matrix dw0(2, 2), dw1(1, 2), b1(2, 1);
  dw0 << 1.25f, 1.25f, -1.25f, -1.25f;
  dw1 << -1.0f, 1.5f;
  b1 << 1.25f, -1.25f;
  CHECK(g.dW[0] == dw0);
  CHECK(g.dW[1] == dw1);
  CHECK(g.db[0](0) == 1.25f);
  CHECK(g.db[0](1) == -1.25f);
  CHECK(SignSymmetry::feedback(*state, 1) == b1);
  // Backprop would give δ_0 = W_1 = [2, −0.5]: same signs, uniform magnitude.
  const Gradients bp = test::exact_gradient(t.net, t.pass);
  CHECK(bp.dW[0](0, 0) == 2.0f);
  CHECK(bp.dW[0](1, 0) == -0.5f);
  // scale multiplies B: scale 2 gives dW_0 twice as large.
  const auto usf2 = make("usf", 2.0);
  auto state2 = usf2->make_state(t.net, 1, RandomStream(1, Purpose::feedback));
  CHECK(test::rule_update(*usf2, *state2, t.net, t.pass, t.y).dW[0] == (2.0f * dw0).eval());
}

TEST_CASE("golden: brSF and frSF's first update on a 2-2-1 net, B = 1.25 sign(W_1)ᵀ ⊙ |R|") {
  test::HandNet t;
  for (const char* name : {"brsf", "frsf"}) {
    CAPTURE(name);
    const auto rule = make(name);
    auto state = rule->make_state(t.net, 1, RandomStream(1, Purpose::feedback));
    const Gradients g = test::rule_update(*rule, *state, t.net, t.pass, t.y);
    const Matrix b = SignSymmetry::feedback(*state, 1);
    // Signs of W_1ᵀ, magnitudes 1.25·U(0, 2): in (0, 2.5).
    CHECK(b(0, 0) > 0.0f);
    CHECK(b(0, 0) < 2.5f);
    CHECK(b(1, 0) < 0.0f);
    CHECK(b(1, 0) > -2.5f);
    // dW_0 = (δ_out B_1ᵀ)ᵀ x: row i is B_1(i, 0) in both columns (x = [1, 1]).
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 2; ++j) CHECK(g.dW[0](i, j) == b(i, 0));
  }
  // The draws themselves, pinned (a change of stream or transform shows up here).
  auto br = make("brsf")->make_state(t.net, 1, RandomStream(1, Purpose::feedback));
  auto fr = make("frsf")->make_state(t.net, 1, RandomStream(1, Purpose::feedback));
  test::rule_update(*make("brsf"), *br, t.net, t.pass, t.y);
  test::rule_update(*make("frsf"), *fr, t.net, t.pass, t.y);
  MESSAGE("brsf B_1 = " << SignSymmetry::feedback(*br, 1).transpose() << ", frsf B_1 = "
                        << SignSymmetry::feedback(*fr, 1).transpose());
  CHECK(SignSymmetry::feedback(*br, 1)(0, 0) == doctest::Approx(1.27186).epsilon(1e-5));
  CHECK(SignSymmetry::feedback(*br, 1)(1, 0) == doctest::Approx(-1.94421).epsilon(1e-5));
  CHECK(SignSymmetry::feedback(*fr, 1)(0, 0) == doctest::Approx(2.01212).epsilon(1e-5));
  CHECK(SignSymmetry::feedback(*fr, 1)(1, 0) == doctest::Approx(-2.35407).epsilon(1e-5));
}

TEST_CASE("uSF is backprop exactly when every weight of a layer has one magnitude (W_l = ±c_l)") {
  for (const bool positive : {true, false}) {
    CAPTURE(positive);
    Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 5);
    const float magnitude[] = {0.3f, 0.45f, 0.6f};
    for (int l = 0; l < net.num_layers(); ++l) {
      Matrix& w = net.weight(l);
      for (Eigen::Index i = 0; i < w.size(); ++i)
        w.data()[i] = positive || w.data()[i] >= 0.0f ? magnitude[l] : -magnitude[l];
    }
    // Squared error: with cross-entropy δ_out sums to zero over the outputs, so δ W_2 of an
    // all-equal W_2 would be zero up to rounding and the comparison meaningless.
    const Fixture f(net, Loss::mse);
    const auto usf = make("usf");
    auto state = usf->make_state(f.net, 8, RandomStream(2, Purpose::feedback));
    const Gradients g = test::rule_update(*usf, *state, f.net, f.pass, f.batch.y);
    const Gradients bp = test::exact_gradient(f.net, f.pass);
    for (int l = 0; l < f.net.num_layers(); ++l) {
      CAPTURE(l);
      CHECK(test::relative_difference(g.dW[l], bp.dW[l]) <= 1e-6);
      CHECK(test::relative_difference(Matrix(g.db[l]), Matrix(bp.db[l])) <= 1e-6);
    }
    // With scale s every hidden δ picks up s per layer above it: dW_1 is s·backprop's.
    const auto usf3 = make("usf", 3.0);
    auto s3 = usf3->make_state(f.net, 8, RandomStream(2, Purpose::feedback));
    CHECK(test::relative_difference(test::rule_update(*usf3, *s3, f.net, f.pass, f.batch.y).dW[1],
                                    (3.0f * bp.dW[1]).eval()) <= 1e-6);
  }
}

TEST_CASE("on a Glorot net sign symmetry points near backprop: hidden angles well below 90 degrees") {
  const Fixture f(test::random_mlp({30, 40, 30, 10}, Activation::tanh, Activation::linear, 6));
  const Gradients bp = test::exact_gradient(f.net, f.pass);
  for (const char* name : {"usf", "brsf", "frsf"}) {
    CAPTURE(name);
    const auto rule = make(name);
    auto state = rule->make_state(f.net, 8, RandomStream(3, Purpose::feedback));
    const Gradients g = test::rule_update(*rule, *state, f.net, f.pass, f.batch.y);
    for (int l = 0; l + 1 < f.net.num_layers(); ++l) {
      CAPTURE(l);
      const double angle = angle_degrees(g.dW[l], bp.dW[l]);
      CAPTURE(angle);
      CHECK(angle < 60.0);
      CHECK(angle > 1.0);   // and it is not backprop
      CHECK(g.dW[l].rows() == f.net.weight(l).rows());
      CHECK(g.dW[l].cols() == f.net.weight(l).cols());
    }
  }
}

TEST_CASE("the signs follow the current forward weights at every step") {
  Fixture f;
  for (const char* name : {"usf", "brsf", "frsf"}) {
    CAPTURE(name);
    const auto rule = make(name);
    Mlp net = f.net;
    auto state = rule->make_state(net, 8, RandomStream(4, Purpose::feedback));
    test::rule_update(*rule, *state, net, f.pass, f.batch.y, 0);
    const Matrix before = SignSymmetry::feedback(*state, 2);
    CHECK((before.array() * net.weight(2).transpose().array() > 0.0f).all());
    net.weight(2) *= -1.0f;   // the weights change sign after the state was made
    test::rule_update(*rule, *state, net, f.pass, f.batch.y, 0);
    const Matrix after = SignSymmetry::feedback(*state, 2);
    CHECK((after.array() * net.weight(2).transpose().array() > 0.0f).all());
    // Same step, same magnitudes (mean |W| is unchanged by the flip): only the signs moved.
    CHECK(after == (-before).eval());
  }
}

TEST_CASE("brSF redraws its magnitudes every batch, frSF keeps them, uSF has none") {
  const Fixture f;
  for (const char* name : {"usf", "brsf", "frsf"}) {
    CAPTURE(name);
    const auto rule = make(name);
    auto state = rule->make_state(f.net, 8, RandomStream(5, Purpose::feedback));
    test::rule_update(*rule, *state, f.net, f.pass, f.batch.y, 0);
    const Matrix step0 = SignSymmetry::feedback(*state, 1);
    test::rule_update(*rule, *state, f.net, f.pass, f.batch.y, 1);
    const Matrix step1 = SignSymmetry::feedback(*state, 1);
    CHECK((step0.array() * step1.array() > 0.0f).all());   // the signs are W's either way
    const std::string rule_name = name;
    if (rule_name == "brsf") {
      CHECK(step0 != step1);
    } else {
      CHECK(step0 == step1);
    }
    // Magnitudes have mean ≈ mean|W_1| (E|R| = 1): 7·4 = 28 entries of U(0,2)·m, sd of the mean ≈ 0.11·m.
    const double m = f.net.weight(1).cwiseAbs().mean();
    CHECK(step1.cwiseAbs().mean() == doctest::Approx(m).epsilon(0.35));
    if (rule_name == "usf") CHECK((step1.cwiseAbs().array() - static_cast<float>(m)).abs().maxCoeff() < 1e-6f * m);
  }
  // A fresh brSF state of the same stream draws the same magnitudes at the same step.
  const auto brsf = make("brsf");
  auto a = brsf->make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  auto b = brsf->make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  test::rule_update(*brsf, *a, f.net, f.pass, f.batch.y, 7);
  test::rule_update(*brsf, *b, f.net, f.pass, f.batch.y, 7);
  CHECK(SignSymmetry::feedback(*a, 1) == SignSymmetry::feedback(*b, 1));
}

TEST_CASE("the three variants are registered under their BioTorch names with a scale parameter") {
  for (const char* name : {"usf", "brsf", "frsf"}) {
    CAPTURE(name);
    const auto& entry = rule_registry().get(name);
    REQUIRE(entry.params.size() == 1);
    CHECK(entry.params[0].name == "scale");
    CHECK(rule_registry().make(name)->name() == name);
  }
  CHECK(test::error_message([] { rule_registry().make("usf", {{"scale", -1}}); }) == "scale = -1: must be in [0, 100]");
}

TEST_CASE("telemetry: the B each variant builds, read after the probe's update; uSF on W_l = ±c is W_lᵀ itself") {
  Mlp net = test::random_mlp({30, 40, 30, 10}, Activation::tanh, Activation::linear, 5);
  Task task;   // only the loss matters to the probe
  task.loss = Loss::mse;
  const test::Batch batch = test::random_batch(net, Loss::mse, 6, 22);
  for (const char* name : {"usf", "brsf", "frsf"}) {
    CAPTURE(name);
    const auto rule = make(name);
    // A fresh state has not built any B yet: the probe reads B after its own update.
    auto state = rule->make_state(net, 8, RandomStream(2, Purpose::feedback));
    const Telemetry t = probe_telemetry(net, *rule, *state, task, batch.x, batch.y);
    REQUIRE(t.feedback_angle_deg.size() == 2);
    REQUIRE(t.norm_ratio.size() == 2);
    CHECK(t.snr.empty());
    for (std::size_t k = 0; k < 2; ++k) {
      CAPTURE(k);
      // Sign-concordant: every entry of B agrees in sign with Wᵀ, so only the magnitudes differ.
      // For Glorot-uniform W (|w| ~ U(0, g)): uSF's cos = E|w|/√E[w²] = √3/2 (30°); with
      // magnitudes m ~ U(0, 2) independent of W, cos = E|w|E[m]/√(E[w²]E[m²]) = 3/4 (41.4°).
      const double expected = std::string(name) == "usf" ? 30.0 : 41.41;
      CHECK(t.feedback_angle_deg[k] == doctest::Approx(expected).epsilon(0.1));
      // ‖B‖/‖W‖ = E|w|·√E[M²]/√E[w²]: √3/2 for uSF (M = 1), 1 for M ~ U(0, 2).
      CHECK(t.norm_ratio[k] == doctest::Approx(std::string(name) == "usf" ? 0.866 : 1.0).epsilon(0.1));
    }
    // What the hook returns is the B the last update used.
    test::rule_update(*rule, *state, net, test::run_forward(net, Loss::mse, batch.x, batch.y, 8), batch.y);
    for (int l = 1; l < net.num_layers(); ++l) CHECK(*rule->feedback_matrix(*state, l) == SignSymmetry::feedback(*state, l));
  }
  const float magnitude[] = {0.3f, 0.45f, 0.6f};
  for (int l = 0; l < net.num_layers(); ++l) {
    Matrix& w = net.weight(l);
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = w.data()[i] >= 0.0f ? magnitude[l] : -magnitude[l];
  }
  const auto usf = make("usf");
  auto state = usf->make_state(net, 8, RandomStream(2, Purpose::feedback));
  const Telemetry t = probe_telemetry(net, *usf, *state, task, batch.x, batch.y);
  for (std::size_t k = 0; k < 2; ++k) {
    CAPTURE(k);
    CHECK(t.feedback_angle_deg[k] < 0.05);
    CHECK(t.norm_ratio[k] == doctest::Approx(1.0).epsilon(1e-6));
  }
}

}  // TEST_SUITE
