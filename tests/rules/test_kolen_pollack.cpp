// Kolen–Pollack (Kolen & Pollack 1994; Akrout et al. 2019): hand-checked golden numbers for one
// step and its mirror, W − Bᵀ shrinking by exactly (1 − decay) a step under any optimizer,
// backprop exactly when B starts at Wᵀ without decay, and W and Bᵀ driven together on a teacher.
#include <doctest/doctest.h>

#include <cmath>

#include "lib/optimizer.hpp"
#include "lib/train.hpp"
#include "rules/feedback_alignment.hpp"
#include "rules/kolen_pollack.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

std::shared_ptr<const LearningRule> kolen_pollack(double decay) {
  return rule_registry().make("kolen_pollack", {{"decay", decay}});
}

// ∠(B_l, W_lᵀ) in degrees.
double feedback_angle(const Mlp& net, RuleState& state, int layer) {
  return angle_degrees(KolenPollack::feedback(state, layer), net.weight(layer).transpose());
}

// A small regression task: a random tanh teacher, 20 inputs, 5 outputs.
Task teacher_task(int train_size = 4000) {
  return task_registry().make("mlp_teacher", {{"train_size", train_size}, {"test_size", 200}})->sample(3, 0, Split::meta_train);
}

}  // namespace

TEST_SUITE("rules/kolen_pollack") {

TEST_CASE("golden: one step of a 2-2-1 net by hand, then the mirror and the decay") {
  // W_0 = [[1, −2], [0.5, 1]], W_1 = [[2, −0.5]], B_1 = [1, 1]ᵀ, x = [[1, 1]], δ_out = [[1]].
  test::HandNet hand;
  Mlp& net = hand.net;
  const test::Pass& pass = hand.pass;
  const Matrix& y = hand.y;
  const auto kp = kolen_pollack(1.0);   // λ = 1 with η = 0.1: both shrink by 1 − λη = 0.9
  auto state = kp->make_state(net, 1, RandomStream(1, Purpose::feedback));
  KolenPollack::feedback(*state, 1) << 1.0f, 1.0f;
  // δ_0 = δ_out B_1ᵀ = [1, 1]: dW_0 = [[1, 1], [1, 1]]; h_1 = x W_0ᵀ = [−1, 1.5]: dW_1 = [[−1, 1.5]].
  const Gradients g = test::rule_update(*kp, *state, net, pass, y);
  Matrix dw0(2, 2), dw1(1, 2);
  dw0 << 1.0f, 1.0f, 1.0f, 1.0f;
  dw1 << -1.0f, 1.5f;
  CHECK(g.dW[0] == dw0);
  CHECK(g.dW[1] == dw1);
  // SGD with lr 0.1: W_1 → [2.1, −0.65], W_0 → [[0.9, −2.1], [0.4, 0.9]]. Then the rule mirrors
  // ΔW_1ᵀ = [0.1, −0.15] into B_1, reads η = ‖ΔW_1‖/‖dW_1‖ = 0.1 off the step and decays both by 1 − λη = 0.9:
  // B_1 = 0.9 [1.1, 0.85] = [0.99, 0.765],  W_1 = [1.89, −0.585],  W_0 = [[0.81, −1.89], [0.36, 0.81]].
  OptimizerSpec sgd;
  sgd.lr = 0.1;
  auto opt = make_optimizer(sgd, net);
  opt->apply(net, g);
  kp->after_update(net, *state);
  const Matrix& b = KolenPollack::feedback(*state, 1);
  CHECK(b(0, 0) == doctest::Approx(0.99).epsilon(1e-6));
  CHECK(b(1, 0) == doctest::Approx(0.765).epsilon(1e-6));
  CHECK(net.weight(1)(0, 0) == doctest::Approx(1.89).epsilon(1e-6));
  CHECK(net.weight(1)(0, 1) == doctest::Approx(-0.585).epsilon(1e-6));
  // W_0 has no feedback matrix and does not decay.
  CHECK(net.weight(0)(0, 0) == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(net.weight(0)(0, 1) == doctest::Approx(-2.1).epsilon(1e-6));
  CHECK(net.weight(0)(1, 0) == doctest::Approx(0.4).epsilon(1e-6));
  CHECK(net.weight(0)(1, 1) == doctest::Approx(0.9).epsilon(1e-6));
  // A second after_update without a new compute_update changes nothing (no step to mirror).
  const Matrix b_before = b, w_before = net.weight(1);
  kp->after_update(net, *state);
  CHECK(KolenPollack::feedback(*state, 1) == b_before);
  CHECK(net.weight(1) == w_before);
}

TEST_CASE("hidden-layer updates are non-zero, finite and shaped like W_l") {
  const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 8);
  const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 6, 9);
  const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 8);
  const auto kp = rule_registry().make("kolen_pollack");
  auto state = kp->make_state(net, 8, RandomStream(2, Purpose::feedback));
  const Gradients g = test::rule_update(*kp, *state, net, pass, batch.y);
  const Gradients bp = test::exact_gradient(net, pass);
  REQUIRE(g.all_finite());
  for (int l = 0; l + 1 < net.num_layers(); ++l) {
    CAPTURE(l);
    CHECK(g.dW[l].rows() == net.weight(l).rows());
    CHECK(g.dW[l].cols() == net.weight(l).cols());
    CHECK(test::max_abs(g.dW[l]) > 1e-4);
    CHECK(angle_degrees(g.dW[l], bp.dW[l]) > 10.0);   // random B at the start: not backprop yet
  }
  // The output layer gets backprop's update.
  CHECK(g.dW[2] == bp.dW[2]);
  // B_l has the shape of W_lᵀ.
  for (int l = 1; l < net.num_layers(); ++l) {
    CHECK(KolenPollack::feedback(*state, l).rows() == net.weight(l).cols());
    CHECK(KolenPollack::feedback(*state, l).cols() == net.weight(l).rows());
  }
}

TEST_CASE("W_l - B_lᵀ only shrinks, never turns: by (1 - decay*lr) a step with SGD, by the step taken with momentum and Adam") {
  const Task task = teacher_task(640);
  StudentSpec spec;
  spec.hidden = {16, 12};
  for (const std::string type : {"sgd", "momentum", "adam"}) {
    CAPTURE(type);
    // Adam's steps are large against its raw update (it divides by √v̂), so its η_t is too.
    const double decay = type == "adam" ? 0.01 : 1.0, lr = 0.01;
    const auto kp = kolen_pollack(decay);
    OptimizerSpec o;
    o.type = type;
    o.lr = lr;
    Student s = make_student(task, spec, *kp, o, 32, 4);
    StepWorkspace ws(s.net, 32);
    auto difference = [&](int l) { return Matrix(s.net.weight(l) - KolenPollack::feedback(*s.rule_state, l).transpose()); };
    std::vector<Matrix> start;
    for (int l = 1; l < s.net.num_layers(); ++l) start.push_back(difference(l));
    std::vector<double> previous(start.size(), 1.0);
    const int steps = 10;
    for (int step = 0; step < steps; ++step) {
      const Matrix x = task.train->x.middleRows(32 * step, 32), y = task.train->y.middleRows(32 * step, 32);
      train_step(s, *kp, task, x, y, ws, static_cast<std::uint64_t>(step));
      for (int l = 1; l < s.net.num_layers(); ++l) {
        CAPTURE(l);
        const Matrix& d0 = start[static_cast<std::size_t>(l - 1)];
        const Matrix d = difference(l);
        const double ratio = d.norm() / d0.norm();
        CHECK(ratio > 0.0);
        CHECK(ratio < previous[static_cast<std::size_t>(l - 1)]);
        CHECK(angle_degrees(d, d0) < 0.05);   // W and B got the same step: their difference only scales
        previous[static_cast<std::size_t>(l - 1)] = ratio;
      }
    }
    if (type == "sgd")
      for (int l = 1; l < s.net.num_layers(); ++l)
        CHECK(previous[static_cast<std::size_t>(l - 1)] == doctest::Approx(std::pow(1.0 - decay * lr, steps)).epsilon(1e-4));
  }
}

TEST_CASE("with B_l = W_lᵀ at the start and no decay, Kolen-Pollack is backprop, step after step") {
  const Task task = teacher_task(1280);
  StudentSpec spec;
  spec.hidden = {16, 12};
  const OptimizerSpec momentum = test::momentum(0.02);
  const auto kp = kolen_pollack(0.0);
  const auto bp = rule_registry().make("backprop");
  Student a = make_student(task, spec, *kp, momentum, 32, 5);
  Student b = make_student(task, spec, *bp, momentum, 32, 5);
  for (int l = 1; l < a.net.num_layers(); ++l) KolenPollack::feedback(*a.rule_state, l) = a.net.weight(l).transpose();
  const Mlp initial = a.net;
  StepWorkspace wa(a.net, 32), wb(b.net, 32);
  for (int step = 0; step < 40; ++step) {
    const Matrix x = task.train->x.middleRows(32 * step, 32), y = task.train->y.middleRows(32 * step, 32);
    train_step(a, *kp, task, x, y, wa, static_cast<std::uint64_t>(step));
    train_step(b, *bp, task, x, y, wb, static_cast<std::uint64_t>(step));
  }
  for (int l = 0; l < a.net.num_layers(); ++l) {
    CAPTURE(l);
    // B = W_old + (W_new − W_old) in float is W_new up to rounding, so equality is to ~1e-6.
    CHECK(test::relative_difference(a.net.weight(l), b.net.weight(l)) < 1e-5);
    CHECK(test::relative_difference(Matrix(a.net.bias(l)), Matrix(b.net.bias(l))) < 1e-5);
    if (l >= 1) CHECK(feedback_angle(a.net, *a.rule_state, l) < 0.1);
  }
  CHECK(test::relative_difference(a.net.weight(0), initial.weight(0)) > 1e-3);   // it did learn
}

TEST_CASE("Kolen-Pollack drives W_lᵀ and B_l together on a tanh teacher: ~90 degrees to < 20") {
  const Task task = teacher_task(20000);
  StudentSpec spec;
  spec.hidden = {32, 32};
  const OptimizerSpec momentum = test::momentum(0.01);
  const TrainBudget budget = test::quiet_budget(3, 32);
  const auto kp = kolen_pollack(0.1);
  const auto fa = rule_registry().make("feedback_alignment");
  Student s = make_student(task, spec, *kp, momentum, budget.batch, 6);
  Student f = make_student(task, spec, *fa, momentum, budget.batch, 6);
  for (int l = 1; l < s.net.num_layers(); ++l) {
    const double start = feedback_angle(s.net, *s.rule_state, l);
    CAPTURE(start);
    CHECK(start > 70.0);
    CHECK(start < 110.0);
    // FA of the same seed starts from the very same B.
    CHECK(KolenPollack::feedback(*s.rule_state, l) == FeedbackAlignment::feedback(*f.rule_state, l));
  }
  const TrainResult r = train(s, *kp, task, budget);
  train(f, *fa, task, budget);
  REQUIRE(r.outcome == Outcome::ok);
  CHECK(r.last().test_loss < 0.5 * r.curve.front().test_loss);
  for (int l = 1; l < s.net.num_layers(); ++l) {
    CAPTURE(l);
    const double kp_angle = feedback_angle(s.net, *s.rule_state, l);
    const double fa_angle = angle_degrees(FeedbackAlignment::feedback(*f.rule_state, l), f.net.weight(l).transpose());
    CAPTURE(kp_angle);
    CAPTURE(fa_angle);
    MESSAGE("layer " << l << ": angle(B, W^T) KP " << kp_angle << " deg, FA " << fa_angle << " deg");
    CHECK(kp_angle < 20.0);
    CHECK(kp_angle < fa_angle - 20.0);
  }
}

}  // TEST_SUITE
