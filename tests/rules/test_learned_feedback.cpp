// Learned feedback (Lansdell, Prakash & Kording 2020; rules/learned_feedback): the hidden
// updates are filled and shaped; with β = 0 it is FA (or DFA) with the same matrices, and with
// B_l = W_lᵀ it is backprop; the node-perturbation estimate λ̂ averages to the true error at the
// hidden activity; B_l learns W_lᵀ on a teacher (far below FA's angle), the direct topology
// learns too, and a seed fixes every weight. That a training step allocates nothing is checked
// for every registered rule (this one with its defaults) by lib/train's malloc counter.
#include <doctest/doctest.h>

#include <cmath>

#include "lib/train.hpp"
#include "rules/direct_feedback_alignment.hpp"
#include "rules/feedback_alignment.hpp"
#include "rules/learned_feedback.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

std::shared_ptr<const LearningRule> learned(ParamValues p = {}) { return rule_registry().make("learned_feedback", p); }

// ∠(B_l, W_lᵀ) in degrees, for the layer-to-layer topology.
double feedback_angle(const Mlp& net, RuleState& state, int layer) {
  return angle_degrees(LearnedFeedback::feedback(state, layer), net.weight(layer).transpose());
}

// A small regression task: a random tanh teacher, 20 inputs, 10 outputs. Ten output errors
// span the 8 units of the student's top hidden layer, so every direction of B_1 (32 × 8) is
// seen by the regression (with fewer errors than units, B is only identified on their span).
Task teacher_task(int train_size) {
  return task_registry()
      .make("mlp_teacher", {{"train_size", train_size}, {"test_size", 200}, {"outputs", 10}})
      ->sample(3, 0, Split::meta_train);
}

double cosine(const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Matrix>& b) {
  const double dot = (a.cast<double>().array() * b.cast<double>().array()).sum();
  return dot / (a.cast<double>().norm() * b.cast<double>().norm());
}

}  // namespace

TEST_SUITE("rules/learned_feedback") {

TEST_CASE("hidden-layer updates are non-zero, finite and shaped like W_l; the feedback has the shape it maps") {
  const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::sigmoid, Activation::sigmoid, 8);
  const test::Batch batch = test::random_batch(net, Loss::mse, 6, 9);
  const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y, 8);
  const Gradients bp = test::exact_gradient(net, pass);
  for (double topology : {0.0, 1.0}) {
    CAPTURE(topology);
    const auto rule = learned({{"topology", topology}});
    auto state = rule->make_state(net, 8, RandomStream(2, Purpose::feedback));
    const Gradients g = test::rule_update(*rule, *state, net, pass, batch.y);
    REQUIRE(g.all_finite());
    for (int l = 0; l < net.num_layers(); ++l) {
      CAPTURE(l);
      CHECK(g.dW[l].rows() == net.weight(l).rows());
      CHECK(g.dW[l].cols() == net.weight(l).cols());
      CHECK(test::max_abs(g.dW[l]) > 1e-6);
      if (l + 1 < net.num_layers()) CHECK(angle_degrees(g.dW[l], bp.dW[l]) > 5.0);   // random feedback: not backprop
    }
    CHECK(g.dW[2] == bp.dW[2]);   // the output layer's update is exact
    if (topology == 0.0) {
      for (int l = 1; l < net.num_layers(); ++l) {
        CHECK(LearnedFeedback::feedback(*state, l).rows() == net.weight(l).cols());
        CHECK(LearnedFeedback::feedback(*state, l).cols() == net.weight(l).rows());
        REQUIRE(rule->feedback_matrix(*state, l).has_value());
        CHECK(*rule->feedback_matrix(*state, l) == LearnedFeedback::feedback(*state, l));
      }
      CHECK_FALSE(rule->feedback_matrix(*state, 0).has_value());
    } else {
      for (int l = 0; l + 1 < net.num_layers(); ++l) {
        CHECK(LearnedFeedback::feedback(*state, l).rows() == net.weight(l).rows());
        CHECK(LearnedFeedback::feedback(*state, l).cols() == net.output_size());
      }
      CHECK_FALSE(rule->feedback_matrix(*state, 1).has_value());   // D_l skips layers: no ∠(W_lᵀ, B_l)
    }
    // One step moved the feedback (β > 0), and λ̂ is filled for every hidden activity.
    for (int k = 1; k < net.num_layers(); ++k) {
      CAPTURE(k);
      const Matrix& lambda = LearnedFeedback::error_estimate(*state, k);
      CHECK(lambda.cols() == net.weight(k).cols());
      CHECK(lambda.topRows(6).allFinite());
      CHECK(test::max_abs(lambda.topRows(6)) > 0.0);
    }
  }
}

TEST_CASE("beta = 0 is feedback alignment (or DFA) with the very same matrices, step after step") {
  const Task task = teacher_task(640);
  StudentSpec spec;
  spec.hidden = {16, 12};
  for (int topology : {0, 1}) {
    CAPTURE(topology);
    const auto rule = learned({{"beta", 0.0}, {"topology", topology}});
    const auto classic = rule_registry().make(topology == 0 ? "feedback_alignment" : "direct_feedback_alignment");
    Student a = make_student(task, spec, *rule, OptimizerSpec{}, 32, 4);
    Student b = make_student(task, spec, *classic, OptimizerSpec{}, 32, 4);
    StepWorkspace wa(a.net, 32), wb(b.net, 32);
    for (int step = 0; step < 10; ++step) {
      const Matrix x = task.train->x.middleRows(32 * step, 32), y = task.train->y.middleRows(32 * step, 32);
      train_step(a, *rule, task, x, y, wa, static_cast<std::uint64_t>(step));
      train_step(b, *classic, task, x, y, wb, static_cast<std::uint64_t>(step));
    }
    for (int l = 0; l < a.net.num_layers(); ++l) {
      CAPTURE(l);
      CHECK(a.net.weight(l) == b.net.weight(l));
      CHECK(a.net.bias(l) == b.net.bias(l));
    }
  }
}

TEST_CASE("with B_l = W_lᵀ and beta = 0 the update is backprop's, for both losses") {
  for (Loss loss : {Loss::softmax_cross_entropy, Loss::mse}) {
    CAPTURE(to_string(loss));
    const Activation out = loss == Loss::mse ? Activation::sigmoid : Activation::linear;
    const Mlp net = test::random_mlp({6, 9, 7, 4}, Activation::sigmoid, out, 11);
    const test::Batch batch = test::random_batch(net, loss, 5, 12);
    const test::Pass pass = test::run_forward(net, loss, batch.x, batch.y, 8);
    const Gradients bp = test::exact_gradient(net, pass);
    const auto rule = learned({{"beta", 0.0}});
    auto state = rule->make_state(net, 8, RandomStream(13, Purpose::feedback));
    for (int l = 1; l < net.num_layers(); ++l) LearnedFeedback::feedback(*state, l) = net.weight(l).transpose();
    const Gradients g = test::rule_update(*rule, *state, net, pass, batch.y);
    for (int l = 0; l < net.num_layers(); ++l) {
      CAPTURE(l);
      CHECK(test::relative_difference(g.dW[l], bp.dW[l]) < 1e-5);
      CHECK(test::relative_difference(Matrix(g.db[l]), Matrix(bp.db[l])) < 1e-5);
    }
    // β = 0 leaves B alone.
    for (int l = 1; l < net.num_layers(); ++l) CHECK(feedback_angle(net, *state, l) < 1e-3);
  }
}

TEST_CASE("the node-perturbation estimate averages to the true error at each hidden activity (cosine > 0.9)") {
  // λ̂_{k,n} = (L_n(ξ) − L_n) ξ_{k,n} / σ² against dL_n/dh_k = n (δ_k W_k)_n from backprop.
  const Mlp net = test::random_mlp({6, 9, 7, 4}, Activation::sigmoid, Activation::sigmoid, 21);
  const test::Batch batch = test::random_batch(net, Loss::mse, 4, 22);
  const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y, 4);
  DeltaBuffers buffers(net.shape(), 4);
  Gradients bp = Gradients::like(net);
  backprop_gradient(net, pass.cache, pass.delta, buffers, bp);
  const auto rule = learned({{"sigma", 0.01}, {"beta", 0.0}});
  auto state = rule->make_state(net, 4, RandomStream(23, Purpose::feedback));
  std::vector<Matrix> mean(static_cast<std::size_t>(net.num_layers()));
  for (int k = 1; k < net.num_layers(); ++k) mean[static_cast<std::size_t>(k)] = Matrix::Zero(4, net.weight(k).cols());
  constexpr int kDraws = 4000;
  double single = 0.0;   // the cosine of one draw, for contrast
  for (int draw = 0; draw < kDraws; ++draw) {
    test::rule_update(*rule, *state, net, pass, batch.y);
    for (int k = 1; k < net.num_layers(); ++k)
      mean[static_cast<std::size_t>(k)] += LearnedFeedback::error_estimate(*state, k).topRows(4) / float{kDraws};
    if (draw == 0) {
      const Matrix truth = 4.0f * (buffers.delta[1].topRows(4) * net.weight(1));
      single = cosine(LearnedFeedback::error_estimate(*state, 1).topRows(4), truth);
    }
  }
  for (int k = 1; k < net.num_layers(); ++k) {
    CAPTURE(k);
    const Matrix truth = 4.0f * (buffers.delta[static_cast<std::size_t>(k)].topRows(4) * net.weight(k));
    const double c = cosine(mean[static_cast<std::size_t>(k)], truth);
    MESSAGE("hidden activity " << k << ": cosine(mean of " << kDraws << " estimates, dL/dh) = " << c
                               << " (one draw: " << single << " for k = 1)");
    CHECK(c > 0.9);
    CHECK(mean[static_cast<std::size_t>(k)].norm() == doctest::Approx(truth.norm()).epsilon(0.25));
  }
  CHECK(single < 0.9);   // one draw alone is noise: the averaging is what the regression does
}

TEST_CASE("on a tanh teacher B_l learns W_lᵀ: ~90 degrees to well below, and far below FA's") {
  const Task task = teacher_task(16000);
  StudentSpec spec;
  spec.hidden = {32, 8};
  const OptimizerSpec momentum = test::momentum(0.01);
  const TrainBudget budget = test::quiet_budget(2, 32);
  const auto rule = learned();
  const auto fa = rule_registry().make("feedback_alignment");
  Student s = make_student(task, spec, *rule, momentum, budget.batch, 6);
  Student f = make_student(task, spec, *fa, momentum, budget.batch, 6);
  for (int l = 1; l < s.net.num_layers(); ++l) {
    const double start = feedback_angle(s.net, *s.rule_state, l);
    CAPTURE(start);
    CHECK(start > 70.0);
    CHECK(start < 110.0);
    CHECK(LearnedFeedback::feedback(*s.rule_state, l) == FeedbackAlignment::feedback(*f.rule_state, l));
  }
  const TrainResult r = train(s, *rule, task, budget);
  const TrainResult rf = train(f, *fa, task, budget);
  REQUIRE(r.outcome == Outcome::ok);
  CHECK(r.last().test_loss < 0.5 * r.curve.front().test_loss);
  CHECK(r.last().test_loss < rf.last().test_loss);
  for (int l = 1; l < s.net.num_layers(); ++l) {
    CAPTURE(l);
    const double learned_angle = feedback_angle(s.net, *s.rule_state, l);
    const double fa_angle = angle_degrees(FeedbackAlignment::feedback(*f.rule_state, l), f.net.weight(l).transpose());
    CAPTURE(learned_angle);
    CAPTURE(fa_angle);
    MESSAGE("layer " << l << ": angle(B, W^T) learned " << learned_angle << " deg, FA " << fa_angle << " deg");
    // The top B regresses on the exact output error and gets close; B_1 regresses on the error
    // that B_2 sends, so it follows behind (the same setup under `plast train`, seeds 1-6:
    // 34-43 deg against FA's 54-58; top layer 8-10 against 44-50).
    CHECK(learned_angle < 50.0);
    CHECK(learned_angle < fa_angle - 8.0);
    if (l == s.net.num_layers() - 1) {
      CHECK(learned_angle < 20.0);
      CHECK(learned_angle < fa_angle - 25.0);
    }
  }
}

TEST_CASE("the direct topology learns, and its top D learns the top layer's W^T") {
  // dL/dh_{L−1} = e W_{L−1} exactly, so the top hidden layer's D regresses onto W_{L−1}ᵀ; lower
  // layers' true maps depend on the input and have no single target.
  const Task task = teacher_task(16000);
  StudentSpec spec;
  spec.hidden = {32, 8};
  const OptimizerSpec momentum = test::momentum(0.01);
  const TrainBudget budget = test::quiet_budget(2, 32);
  const auto rule = learned({{"topology", 1}});
  const auto dfa = rule_registry().make("direct_feedback_alignment");
  Student s = make_student(task, spec, *rule, momentum, budget.batch, 7);
  Student d = make_student(task, spec, *dfa, momentum, budget.batch, 7);
  const int top = s.net.num_layers() - 1;
  const double start = angle_degrees(LearnedFeedback::feedback(*s.rule_state, top - 1), s.net.weight(top).transpose());
  CHECK(start > 70.0);
  const TrainResult r = train(s, *rule, task, budget);
  const TrainResult rd = train(d, *dfa, task, budget);
  REQUIRE(r.outcome == Outcome::ok);
  CHECK(r.last().test_loss < 0.5 * r.curve.front().test_loss);
  const double learned_angle =
      angle_degrees(LearnedFeedback::feedback(*s.rule_state, top - 1), s.net.weight(top).transpose());
  const double dfa_angle =
      angle_degrees(DirectFeedbackAlignment::feedback(*d.rule_state, top - 1), d.net.weight(top).transpose());
  MESSAGE("top hidden layer: angle(D, W^T) learned " << learned_angle << " deg, DFA " << dfa_angle
                                                     << " deg; test loss " << r.last().test_loss << " vs DFA "
                                                     << rd.last().test_loss);
  CHECK(learned_angle < 30.0);
  CHECK(learned_angle < dfa_angle - 20.0);
}

TEST_CASE("a seed fixes every weight and feedback matrix; another seed differs; a cloned state repeats the step") {
  const Task task = teacher_task(1000);
  StudentSpec spec;
  spec.hidden = {16, 8};
  TrainBudget budget;
  budget.epochs = 1;
  budget.batch = 32;
  for (int topology : {0, 1}) {
    CAPTURE(topology);
    const auto rule = learned({{"topology", topology}});
    auto run = [&](std::uint64_t seed) {
      Student s = make_student(task, spec, *rule, OptimizerSpec{}, budget.batch, seed);
      train(s, *rule, task, budget);
      return s;
    };
    const Student a = run(5), b = run(5), c = run(6);
    for (int l = 0; l < a.net.num_layers(); ++l) {
      CHECK(a.net.weight(l) == b.net.weight(l));
      CHECK(a.net.bias(l) == b.net.bias(l));
    }
    const int feedback_layer = topology == 0 ? 1 : 0;
    CHECK(LearnedFeedback::feedback(*a.rule_state, feedback_layer) == LearnedFeedback::feedback(*b.rule_state, feedback_layer));
    CHECK_FALSE(a.net.weight(0) == c.net.weight(0));
    // A clone continues exactly as the original (the noise stream is part of the state).
    const test::Pass pass = test::run_forward(a.net, Loss::mse, task.train->x.topRows(32), task.train->y.topRows(32));
    auto copy = a.rule_state->clone();
    const Gradients g1 = test::rule_update(*rule, *a.rule_state, a.net, pass, task.train->y.topRows(32), 99);
    const Gradients g2 = test::rule_update(*rule, *copy, a.net, pass, task.train->y.topRows(32), 99);
    for (int l = 0; l < a.net.num_layers(); ++l) CHECK(g1.dW[l] == g2.dW[l]);
    CHECK(LearnedFeedback::feedback(*a.rule_state, feedback_layer) == LearnedFeedback::feedback(*copy, feedback_layer));
  }
}

TEST_CASE("a task without a loss is one clear error") {
  const Mlp net = test::random_mlp({3, 4, 2}, Activation::tanh, Activation::linear, 1);
  const test::Batch batch = test::random_batch(net, Loss::mse, 2, 2);
  const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y);
  const auto rule = learned();
  auto state = rule->make_state(net, 2, RandomStream(3, Purpose::feedback));
  Gradients g = Gradients::like(net);
  const Eigen::Ref<const Matrix> delta(pass.delta), target(batch.y);
  CHECK_THROWS_WITH_AS(rule->compute_update(StepSignals{net, pass.cache, delta, target, 0, std::nullopt}, *state, g),
                       "learned_feedback: needs the task's loss (control tasks have none)", Error);
}

}  // TEST_SUITE
