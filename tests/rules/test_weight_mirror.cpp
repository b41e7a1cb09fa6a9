// Weight mirrors (Akrout et al. 2019, section 4): a hand-checked first update, the mirror's
// estimate E[x yᵀ] = σ² Wᵀ on a large noise batch, feedback alignment when no mirror step runs,
// and B_l aligning with W_lᵀ while a student learns a teacher.
#include <doctest/doctest.h>

#include <cmath>

#include "lib/train.hpp"
#include "rules/feedback_alignment.hpp"
#include "rules/registry.hpp"
#include "rules/weight_mirror.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

std::shared_ptr<const LearningRule> mirror(const ParamValues& p = {}) { return rule_registry().make("weight_mirror", p); }

double feedback_angle(const Mlp& net, RuleState& state, int layer) {
  return angle_degrees(WeightMirror::feedback(state, layer), net.weight(layer).transpose());
}

}  // namespace

TEST_SUITE("rules/weight_mirror") {

TEST_CASE("golden: with silent noise (sigma 0) a mirror step only decays B, then FA through it") {
  // 2-2-1 linear net: W_0 = [[1, −2], [0.5, 1]], W_1 = [[2, −0.5]], B_1 = [1, 3]ᵀ, x = [[1, 1]],
  // δ_out = [[1]]. Decay 0.5: B_1 → [0.5, 1.5]ᵀ; δ_0 = δ_out B_1ᵀ = [0.5, 1.5];
  // dW_0 = δ_0ᵀ x = [[0.5, 0.5], [1.5, 1.5]]; h_1 = [−1, 1.5]: dW_1 = [[−1, 1.5]].
  test::HandNet hand;
  Mlp& net = hand.net;
  const test::Pass& pass = hand.pass;
  const Matrix& y = hand.y;
  const auto wm = mirror({{"sigma", 0.0}, {"decay", 0.5}});
  auto state = wm->make_state(net, 1, RandomStream(1, Purpose::feedback));
  WeightMirror::feedback(*state, 1) << 1.0f, 3.0f;
  const Gradients g = test::rule_update(*wm, *state, net, pass, y);
  Matrix dw0(2, 2), dw1(1, 2), b1(2, 1);
  dw0 << 0.5f, 0.5f, 1.5f, 1.5f;
  dw1 << -1.0f, 1.5f;
  b1 << 0.5f, 1.5f;
  CHECK(WeightMirror::feedback(*state, 1) == b1);
  CHECK(g.dW[0] == dw0);
  CHECK(g.dW[1] == dw1);
  // Two mirror steps a training step: decayed twice.
  const auto twice = mirror({{"sigma", 0.0}, {"decay", 0.5}, {"mirror_steps", 2}});
  auto state2 = twice->make_state(net, 1, RandomStream(1, Purpose::feedback));
  WeightMirror::feedback(*state2, 1) << 1.0f, 3.0f;
  test::rule_update(*twice, *state2, net, pass, y);
  CHECK(WeightMirror::feedback(*state2, 1) == (0.5f * b1).eval());
}

TEST_CASE("one mirror step over a large noise batch estimates sigma^2 W_lᵀ (mirror_lr = decay = 1)") {
  // B ← (1 − 1)B + xᵀ(x Wᵀ)/n = (xᵀx/n) Wᵀ, and xᵀx/n → σ² I. With n = 4096 each entry of
  // xᵀx/n has sd ≈ σ²/√n·... so the estimate is within a few percent and degrees of σ² Wᵀ.
  const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 7);
  const int n = 4096;
  const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, n, 8);
  const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, n);
  for (double sigma : {1.0, 2.0}) {
    CAPTURE(sigma);
    const auto wm = mirror({{"sigma", sigma}, {"mirror_lr", 1.0}, {"decay", 1.0}});
    auto state = wm->make_state(net, n, RandomStream(2, Purpose::feedback));
    test::rule_update(*wm, *state, net, pass, batch.y);
    for (int l = 1; l < net.num_layers(); ++l) {
      CAPTURE(l);
      const Matrix expected = static_cast<float>(sigma * sigma) * net.weight(l).transpose();
      const Matrix& b = WeightMirror::feedback(*state, l);
      CHECK(feedback_angle(net, *state, l) < 5.0);
      CHECK(b.norm() / expected.norm() == doctest::Approx(1.0).epsilon(0.05));
    }
  }
}

TEST_CASE("mirror_steps = 0 is feedback alignment of the same seed, bit for bit") {
  const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 9);
  const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 6, 10);
  const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 8);
  const auto wm = mirror({{"mirror_steps", 0}});
  const FeedbackAlignment fa(1.0f);
  auto ws = wm->make_state(net, 8, RandomStream(3, Purpose::feedback));
  auto fs = fa.make_state(net, 8, RandomStream(3, Purpose::feedback));
  const Gradients a = test::rule_update(*wm, *ws, net, pass, batch.y);
  const Gradients b = test::rule_update(fa, *fs, net, pass, batch.y);
  for (int l = 0; l < net.num_layers(); ++l) {
    CHECK(a.dW[l] == b.dW[l]);
    CHECK(a.db[l] == b.db[l]);
  }
}

TEST_CASE("hidden-layer updates are non-zero, finite and shaped like W_l; mirror costs are counted") {
  const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 11);
  const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 6, 12);
  const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 8);
  const auto wm = mirror();
  auto state = wm->make_state(net, 8, RandomStream(4, Purpose::feedback));
  const Gradients g = test::rule_update(*wm, *state, net, pass, batch.y);
  REQUIRE(g.all_finite());
  for (int l = 0; l + 1 < net.num_layers(); ++l) {
    CAPTURE(l);
    CHECK(g.dW[l].rows() == net.weight(l).rows());
    CHECK(g.dW[l].cols() == net.weight(l).cols());
    CHECK(test::max_abs(g.dW[l]) > 1e-4);
  }
  // Per mirror step: y = x Wᵀ and xᵀy for layers 1 and 2 (7·4 and 4·3 weights), 4 flops per product entry.
  const double extra = 4.0 * 64 * (7 * 4 + 4 * 3);
  CHECK(wm->update_flops(net.shape(), 64) == doctest::Approx(backprop_update_flops(net.shape(), 64) + extra));
  CHECK(mirror({{"mirror_steps", 3}})->update_flops(net.shape(), 64) ==
        doctest::Approx(backprop_update_flops(net.shape(), 64) + 3 * extra));
}

TEST_CASE("B_l aligns with W_lᵀ while a student learns a tanh teacher (~90 degrees to < 20)") {
  const Task task =
      task_registry().make("mlp_teacher", {{"train_size", 20000}, {"test_size", 200}})->sample(3, 0, Split::meta_train);
  StudentSpec spec;
  spec.hidden = {32, 32};
  const OptimizerSpec momentum = test::momentum(0.01);
  const TrainBudget budget = test::quiet_budget(2, 32);
  const auto wm = mirror();
  Student s = make_student(task, spec, *wm, momentum, budget.batch, 6);
  for (int l = 1; l < s.net.num_layers(); ++l) {
    const double start = feedback_angle(s.net, *s.rule_state, l);
    CAPTURE(start);
    CHECK(start > 70.0);
    CHECK(start < 110.0);
  }
  const TrainResult r = train(s, *wm, task, budget);
  REQUIRE(r.outcome == Outcome::ok);
  CHECK(r.last().test_loss < 0.5 * r.curve.front().test_loss);
  for (int l = 1; l < s.net.num_layers(); ++l) {
    CAPTURE(l);
    const double angle = feedback_angle(s.net, *s.rule_state, l);
    const double ratio = WeightMirror::feedback(*s.rule_state, l).norm() / s.net.weight(l).norm();
    CAPTURE(angle);
    CAPTURE(ratio);
    MESSAGE("layer " << l << ": angle(B, W^T) " << angle << " deg, |B|/|W| " << ratio);
    CHECK(angle < 20.0);
    // The defaults' fixed point is B = Wᵀ: B has W's scale, not just its direction.
    CHECK(ratio == doctest::Approx(1.0).epsilon(0.25));
  }
}

TEST_CASE("telemetry: feedback_matrix is B_l as mirrored; the curve's feedback angle falls and |B|/|W| nears 1") {
  const Task task =
      task_registry().make("mlp_teacher", {{"train_size", 4000}, {"test_size", 200}})->sample(3, 0, Split::meta_train);
  StudentSpec spec;
  spec.hidden = {32, 32};
  const OptimizerSpec momentum = test::momentum(0.01);
  TrainBudget budget;
  budget.epochs = 3;
  budget.batch = 32;
  const auto wm = mirror({{"mirror_lr", 0.05}, {"decay", 0.05}});
  Student s = make_student(task, spec, *wm, momentum, budget.batch, 6);
  CHECK_FALSE(wm->feedback_matrix(*s.rule_state, 0).has_value());   // nothing below the first layer
  CHECK_FALSE(wm->feedback_matrix(*s.rule_state, 3).has_value());
  for (int l = 1; l < s.net.num_layers(); ++l) CHECK(*wm->feedback_matrix(*s.rule_state, l) == WeightMirror::feedback(*s.rule_state, l));
  CHECK_FALSE(wm->estimates_gradient());
  const TrainResult r = train(s, *wm, task, budget);
  REQUIRE(r.outcome == Outcome::ok);
  const auto& first = r.curve.front();
  const auto& last = r.last();
  REQUIRE(first.feedback_angle_deg.size() == 2);
  REQUIRE(last.norm_ratio.size() == 2);
  for (std::size_t k = 0; k < 2; ++k) {
    CAPTURE(k);
    CAPTURE(first.feedback_angle_deg[k]);
    CAPTURE(last.feedback_angle_deg[k]);
    CAPTURE(last.norm_ratio[k]);
    CHECK(first.feedback_angle_deg[k] > 60.0);   // one mirror step (the probe's) from a random B
    CHECK(last.feedback_angle_deg[k] < 20.0);
    CHECK(last.norm_ratio[k] == doctest::Approx(1.0).epsilon(0.25));
  }
}

}  // TEST_SUITE
