// The teacher_signal rule (rules/teacher_signal.hpp): θ's layout, golden values of the teaching
// signal on a hand-checked 2-2-1 net, the reductions to DFA (θ = 0) and to backprop (a linear
// teacher that maps e through W_outᵀ), the error-only teacher (exactly silent at e = 0), a study's
// rule section and its errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "lib/error.hpp"
#include "lib/random_matrix.hpp"
#include "rules/direct_feedback_alignment.hpp"
#include "rules/registry.hpp"
#include "rules/rule_space.hpp"
#include "rules/teacher_signal.hpp"
#include "search/rule_spec.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

TeacherSignalOptions opts(double feedback_scale, int hidden, bool linear, bool error_only = false,
                          bool forward_model = false) {
  TeacherSignalOptions o;
  o.feedback_scale = feedback_scale;
  o.hidden = hidden;
  o.linear = linear;
  o.error_only = error_only;
  o.forward_model = forward_model;
  return o;
}

// The golden tests' 2-2-1 linear net: x = (1, 2), W0 = I, b0 = 0, so h1 = (1, 2); W1 = (1, 1),
// b1 = 0, so ŷ = z_out = 3; the target y = 1 (mse: e = 2).
struct GoldenNet {
  Mlp net{MlpShape{{2, 2, 1}, Activation::linear, Activation::linear}};
  Matrix x{1, 2}, y{1, 1};
  GoldenNet() {
    net.weight(0) << 1.0f, 0.0f, 0.0f, 1.0f;
    net.weight(1) << 1.0f, 1.0f;
    x << 1.0f, 2.0f;
    y << 1.0f;
  }
};

// Each rule's update equals DFA's (scale 1, the same feedback stream) bit for bit, on every layer,
// for two steps on the same batch of a 6-5-4-3 tanh student.
void check_is_dfa(const std::vector<const LearningRule*>& rules) {
  const Mlp net = test::random_mlp({6, 5, 4, 3}, Activation::tanh, Activation::linear, 2);
  const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 7, 3);
  const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 8);
  const RandomStream rng(4, Purpose::feedback);
  for (const LearningRule* rule : rules) {
    const DirectFeedbackAlignment dfa(1.0f);
    auto dfa_state = dfa.make_state(net, 8, rng);
    auto state = rule->make_state(net, 8, rng);
    for (int step = 0; step < 2; ++step) {
      const Gradients want = test::rule_update(dfa, *dfa_state, net, pass, batch.y);
      const Gradients got = test::rule_update(*rule, *state, net, pass, batch.y);
      for (int l = 0; l < 3; ++l) {
        CAPTURE(l);
        CHECK(got.dW[l] == want.dW[l]);
        CHECK(got.db[l] == want.db[l]);
      }
    }
  }
}

RuleSpec load_spec(const std::string& yaml) { return read_rule_spec(ConfigNode::load_string(yaml, "r.yaml")); }

std::string spec_error(const std::string& yaml) {
  return test::error_message([&] { load_spec(yaml); });
}

}  // namespace

TEST_SUITE("rules/teacher_signal") {
  TEST_CASE("θ's size and names: gains, then A per hidden layer, then V, c and U per hidden layer") {
    const MlpShape shape{{4, 3, 2, 2}, Activation::tanh, Activation::linear};   // m = 2: 6 teacher inputs
    // gains 2; A: 6·3 + 6·2 = 30; V 6·4 = 24, c 4, U: 4·3 + 4·2 = 20.
    CHECK(TeacherSignal::dimension(shape, opts(1, 4, true)) == 2 + 30 + 24 + 4 + 20);
    CHECK(TeacherSignal::dimension(shape, opts(1, 0, true)) == 32);
    CHECK(TeacherSignal::dimension(shape, opts(1, 4, false)) == 50);
    const auto names = TeacherSignal::names(shape, opts(1, 4, true));
    REQUIRE(names.size() == 80);
    CHECK(names[0] == "g_h1");
    CHECK(names[1] == "g_h2");
    CHECK(names[2] == "A_h1[y0][0]");
    CHECK(names[3] == "A_h1[y0][1]");
    CHECK(names[2 + 3 * 2] == "A_h1[yhat0][0]");
    CHECK(names[2 + 3 * 5 + 2] == "A_h1[e1][2]");
    CHECK(names[2 + 18] == "A_h2[y0][0]");
    CHECK(names[32] == "V[y0][0]");
    CHECK(names[32 + 23] == "V[e1][3]");
    CHECK(names[56] == "c[0]");
    CHECK(names[60] == "U_h1[0][0]");
    CHECK(names[79] == "U_h2[3][1]");
    CHECK(teacher_signal_space(shape, opts(1, 4, true))->dimension() == 80);
    CHECK(teacher_signal_space(shape, opts(1, 4, true))->rule() == "teacher_signal");
  }

  TEST_CASE("golden values: the linear map and the tanh MLP of [y, ŷ, e] on a 2-2-1 linear net") {
    // x = (1, 2), W0 = I, b0 = 0, linear hidden units: h1 = (1, 2); W1 = (1, 1), b1 = 0: ŷ = 3.
    // y = 1, mse (½ error²): e = dL/dz_out = 2; the teacher's input u = (y, ŷ, e) = (1, 3, 2).
    // Linear map A (rows y, ŷ, e) = [[1, 0], [0, 0.5], [0, −1]]: u A = (1, −0.5).
    // MLP with k = 1: V = (0, 0, 0.5)ᵀ, c = 0: t = tanh(u V) = tanh(1); U = (1, 2): t U = tanh(1)·(1, 2).
    // No random pathway (feedback_scale 0). s = (1 + tanh 1, −0.5 + 2 tanh 1); f' = 1, so
    // dW0 = sᵀ x, db0 = s; the output layer learns from its own error: dW1 = e·h1 = (2, 4), db1 = 2.
    const GoldenNet g;
    const MlpShape& shape = g.net.shape();
    const Mlp& net = g.net;
    const Matrix &x = g.x, &y = g.y;
    const auto o = opts(0.0, 1, true);
    REQUIRE(TeacherSignal::dimension(shape, o) == 1 + 6 + 3 + 1 + 2);
    // θ in Glorot units: A in glorot(3, 2), V and c in glorot(3, 1), U in glorot(1, 2).
    const double ua = glorot_limit(3, 2), uv = glorot_limit(3, 1), uu = glorot_limit(1, 2);
    Eigen::VectorXd theta(13);
    theta << 0.0,                                                  // g_h1
        1.0 / ua, 0.0, 0.0, 0.5 / ua, 0.0, -1.0 / ua,              // A: y, ŷ, e rows
        0.0, 0.0, 0.5 / uv,                                        // V
        0.0,                                                       // c
        1.0 / uu, 2.0 / uu;                                        // U
    const TeacherSignal rule(shape, o, theta);
    const double t = std::tanh(1.0);
    const double s0 = 1.0 + t, s1 = -0.5 + 2.0 * t;
    for (int rows : {1, 2}) {   // two copies of the sample: the batch mean is the same update
      CAPTURE(rows);
      const Matrix xs = x.replicate(rows, 1), ys = y.replicate(rows, 1);
      const test::Pass pass = test::run_forward(net, Loss::mse, xs, ys, 4);
      auto state = rule.make_state(net, 4, RandomStream(1, Purpose::feedback));
      const Gradients u = test::rule_update(rule, *state, net, pass, ys);
      const double eps = 1e-6;
      CHECK(u.dW[0](0, 0) == doctest::Approx(s0).epsilon(eps));
      CHECK(u.dW[0](0, 1) == doctest::Approx(2 * s0).epsilon(eps));
      CHECK(u.dW[0](1, 0) == doctest::Approx(s1).epsilon(eps));
      CHECK(u.dW[0](1, 1) == doctest::Approx(2 * s1).epsilon(eps));
      CHECK(u.db[0](0) == doctest::Approx(s0).epsilon(eps));
      CHECK(u.db[0](1) == doctest::Approx(s1).epsilon(eps));
      CHECK(u.dW[1](0, 0) == doctest::Approx(2.0).epsilon(eps));
      CHECK(u.dW[1](0, 1) == doctest::Approx(4.0).epsilon(eps));
      CHECK(u.db[1](0) == doctest::Approx(2.0).epsilon(eps));
    }
  }

  TEST_CASE("θ = 0 is direct feedback alignment, bit for bit; a gain g is DFA at scale exp(g)") {
    const Mlp net = test::random_mlp({6, 5, 4, 3}, Activation::tanh, Activation::linear, 2);
    const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 7, 3);
    const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 8);
    const RandomStream rng(4, Purpose::feedback);
    for (double scale : {1.0, 0.5}) {
      CAPTURE(scale);
      const DirectFeedbackAlignment dfa(static_cast<float>(scale));
      auto dfa_state = dfa.make_state(net, 8, rng);
      const Gradients want = test::rule_update(dfa, *dfa_state, net, pass, batch.y);
      // The registered rule (shape-free) and the searched one at θ = 0, MLP and linear parts on.
      const auto registered = rule_registry().make("teacher_signal", {{"feedback_scale", scale}});
      const auto o = opts(scale, 4, true);
      const auto zero = teacher_signal_space(net.shape(), o)->make(Eigen::VectorXd::Zero(TeacherSignal::dimension(net.shape(), o)));
      for (const auto* rule : {registered.get(), zero.get()}) {
        auto state = rule->make_state(net, 8, rng);
        const Gradients got = test::rule_update(*rule, *state, net, pass, batch.y);
        for (int l = 0; l < 3; ++l) {
          CAPTURE(l);
          CHECK(got.dW[l] == want.dW[l]);
          CHECK(got.db[l] == want.db[l]);
        }
      }
    }
    // g = ln 2 on both hidden layers: DFA at twice the scale (powers of two scale exactly).
    const auto o = opts(1.0, 0, false);
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(TeacherSignal::dimension(net.shape(), o));
    theta(0) = theta(1) = std::log(2.0);
    const TeacherSignal doubled(net.shape(), o, theta);
    const DirectFeedbackAlignment dfa2(2.0f);
    auto s1 = doubled.make_state(net, 8, rng);
    auto s2 = dfa2.make_state(net, 8, rng);
    const Gradients a = test::rule_update(doubled, *s1, net, pass, batch.y);
    const Gradients b = test::rule_update(dfa2, *s2, net, pass, batch.y);
    for (int l = 0; l < 3; ++l) CHECK(test::relative_difference(a.dW[l], b.dW[l]) < 1e-6);
  }

  TEST_CASE("a linear teacher that sends e through W_outᵀ is backprop (one hidden layer)") {
    // Backprop's hidden signal is ∂ℓ/∂h = e W1 for a linear output: the teacher's A rows for e are
    // W1 (in Glorot units), everything else 0, no random pathway.
    const Mlp net = test::random_mlp({5, 6, 3}, Activation::tanh, Activation::linear, 7);
    for (Loss loss : {Loss::mse, Loss::softmax_cross_entropy}) {
      const test::Batch batch = test::random_batch(net, loss, 9, 8);
      const test::Pass pass = test::run_forward(net, loss, batch.x, batch.y, 9);
      const auto o = opts(0.0, 0, true);
      Eigen::VectorXd theta = Eigen::VectorXd::Zero(TeacherSignal::dimension(net.shape(), o));
      const double unit = glorot_limit(9, 6);
      for (int k = 0; k < 3; ++k)      // A row e_k (θ index 1 + (6 + k)·6 + j)
        for (int j = 0; j < 6; ++j) theta(1 + (6 + k) * 6 + j) = net.weight(1)(k, j) / unit;
      const TeacherSignal rule(net.shape(), o, theta);
      auto state = rule.make_state(net, 9, RandomStream(1, Purpose::feedback));
      const Gradients got = test::rule_update(rule, *state, net, pass, batch.y);
      const Gradients want = test::exact_gradient(net, pass);
      for (int l = 0; l < 2; ++l) {
        CAPTURE(l);
        CHECK(test::relative_difference(got.dW[l], want.dW[l]) < 1e-5);
        CHECK(test::relative_difference(got.db[l], want.db[l]) < 1e-5);
      }
    }
  }

  TEST_CASE("error_only: θ's size and names count the m error inputs only") {
    const MlpShape shape{{4, 3, 2, 2}, Activation::tanh, Activation::linear};   // m = 2: 2 teacher inputs
    // gains 2; A: 2·3 + 2·2 = 10; V 2·4 = 8, c 4, U: 4·3 + 4·2 = 20.
    CHECK(TeacherSignal::dimension(shape, opts(1, 4, true, true)) == 2 + 10 + 8 + 4 + 20);
    const auto names = TeacherSignal::names(shape, opts(1, 4, true, true));
    REQUIRE(names.size() == 44);
    CHECK(names[2] == "A_h1[e0][0]");
    CHECK(names[2 + 3 + 2] == "A_h1[e1][2]");
    CHECK(names[12] == "V[e0][0]");
    CHECK(names[19] == "V[e1][3]");
    CHECK(names[20] == "c[0]");
    CHECK(names[43] == "U_h2[3][1]");
  }

  TEST_CASE("error_only golden values: e A + (tanh(e V + c) − tanh(c)) U on the 2-2-1 linear net") {
    // As the golden test above: h1 = (1, 2), ŷ = 3, y = 1, e = 2, but the teacher sees e only.
    // A = (0.5, −1): e A = (1, −2). V = 0.5, c = 0.3: tanh(1.3) − tanh(0.3) = d; U = (1, 2).
    // s = (1 + d, −2 + 2d); dW0 = sᵀ x, db0 = s; the output layer: dW1 = e·h1 = (2, 4), db1 = 2.
    const GoldenNet g;
    const MlpShape& shape = g.net.shape();
    const Mlp& net = g.net;
    const Matrix &x = g.x, &y = g.y;
    const auto o = opts(0.0, 1, true, true);
    REQUIRE(TeacherSignal::dimension(shape, o) == 1 + 2 + 1 + 1 + 2);
    const double ua = glorot_limit(1, 2), uv = glorot_limit(1, 1), uu = glorot_limit(1, 2);
    Eigen::VectorXd theta(7);
    theta << 0.0, 0.5 / ua, -1.0 / ua, 0.5 / uv, 0.3 / uv, 1.0 / uu, 2.0 / uu;
    const TeacherSignal rule(shape, o, theta);
    const double d = std::tanh(1.3) - std::tanh(0.3);
    const double s0 = 1.0 + d, s1 = -2.0 + 2.0 * d;
    const test::Pass pass = test::run_forward(net, Loss::mse, x, y, 2);
    auto state = rule.make_state(net, 2, RandomStream(1, Purpose::feedback));
    const Gradients u = test::rule_update(rule, *state, net, pass, y);
    const double eps = 1e-5;
    CHECK(u.dW[0](0, 0) == doctest::Approx(s0).epsilon(eps));
    CHECK(u.dW[0](0, 1) == doctest::Approx(2 * s0).epsilon(eps));
    CHECK(u.dW[0](1, 0) == doctest::Approx(s1).epsilon(eps));
    CHECK(u.dW[0](1, 1) == doctest::Approx(2 * s1).epsilon(eps));
    CHECK(u.db[0](0) == doctest::Approx(s0).epsilon(eps));
    CHECK(u.db[0](1) == doctest::Approx(s1).epsilon(eps));
    CHECK(u.dW[1](0, 1) == doctest::Approx(4.0).epsilon(eps));
  }

  TEST_CASE("error_only: for random θ the whole update is exactly 0 where e = 0, and not otherwise") {
    const Mlp net = test::random_mlp({6, 5, 4, 3}, Activation::tanh, Activation::linear, 5);
    const test::Batch batch = test::random_batch(net, Loss::mse, 7, 6);
    // The targets the student already hits: e = ŷ − y = 0 on every sample.
    Matrix fitted;
    {
      const test::Pass first = test::run_forward(net, Loss::mse, batch.x, batch.y, 8);
      fitted = first.cache.output().topRows(7);
    }
    const test::Pass zero = test::run_forward(net, Loss::mse, batch.x, fitted, 8);
    REQUIRE(zero.delta.cwiseAbs().maxCoeff() == 0.0f);
    const test::Pass some = test::run_forward(net, Loss::mse, batch.x, batch.y, 8);
    for (std::uint64_t seed : {1, 2, 3}) {
      CAPTURE(seed);
      for (bool error_only : {true, false}) {
        CAPTURE(error_only);
        const auto o = opts(1.0, 4, true, error_only);
        const int n = TeacherSignal::dimension(net.shape(), o);
        const TeacherSignal rule(net.shape(), o, test::random_vector(n, seed, 2.0));
        auto state = rule.make_state(net, 8, RandomStream(seed, Purpose::feedback));
        const Gradients at_zero = test::rule_update(rule, *state, net, zero, fitted);
        const Gradients away = test::rule_update(rule, *state, net, some, batch.y);
        double largest = 0.0;
        for (int l = 0; l < 3; ++l) largest = std::max({largest, test::max_abs(at_zero.dW[l]), test::max_abs(at_zero.db[l])});
        // The full teacher still reacts to y and ŷ when e = 0; the error-only one is silent.
        if (error_only) CHECK(largest == 0.0);
        else CHECK(largest > 1e-3);
        CHECK(test::max_abs(away.dW[0]) > 1e-3);
      }
    }
  }

  TEST_CASE("error_only at θ = 0 is direct feedback alignment, bit for bit") {
    const MlpShape shape{{6, 5, 4, 3}, Activation::tanh, Activation::linear};
    const auto o = opts(1.0, 4, true, true);
    const auto zero = teacher_signal_space(shape, o)->make(Eigen::VectorXd::Zero(TeacherSignal::dimension(shape, o)));
    const auto registered = rule_registry().make("teacher_signal", {{"error_only", 1.0}});
    check_is_dfa({zero.get(), registered.get()});
  }

  TEST_CASE("a student of another shape, a θ of the wrong size or a gain that overflows is refused") {
    const MlpShape shape{{3, 4, 2}, Activation::tanh, Activation::linear};
    const auto o = opts(1.0, 2, true);
    const int n = TeacherSignal::dimension(shape, o);
    const TeacherSignal rule(shape, o, Eigen::VectorXd::Zero(n));
    const Mlp other = test::random_mlp({3, 5, 2}, Activation::tanh, Activation::linear, 1);
    CHECK(test::error_message([&] { rule.make_state(other, 4, RandomStream(1, Purpose::feedback)); }) ==
          "rule teacher_signal: the teacher is for 3-4-2 tanh, the student is 3-5-2 tanh");
    CHECK_THROWS_AS(TeacherSignal(shape, o, Eigen::VectorXd::Zero(n + 1)), InvalidValue);
    Eigen::VectorXd big = Eigen::VectorXd::Zero(n);
    big(0) = 500.0;
    CHECK(test::error_message([&] { TeacherSignal(shape, o, big); }) ==
          "g_h1 = 500: gives a gain exp(g) that is not a finite float");
    big(0) = std::nan("");
    CHECK_THROWS_AS(TeacherSignal(shape, o, big), InvalidValue);
    CHECK(test::error_message([&] { teacher_signal_space(MlpShape{{3, 2}}, o); }) ==
          "rule teacher_signal: the student 3-2 tanh has no hidden layer to teach");
  }

  TEST_CASE("a study's rule section: search_teacher with parameters, round trip, the space it builds") {
    const RuleSpec s = load_spec(
        "type: teacher_signal\nsearch_teacher: true\nhidden: 3\nfeedback_scale: 0.5\n"
        "each: {init: 0, lower: -4, upper: 4}\nl1: 0.001\n");
    CHECK(s.space == SpaceOptions{{"search_teacher", "true"}});
    CHECK(s.array_space());
    CHECK(s.each == SearchedParam{"each", 0.0, -4.0, 4.0});
    const RuleSpec back = load_spec(rule_spec_yaml(s));
    CHECK(back == s);
    const MlpShape shape{{3, 4, 2}, Activation::tanh, Activation::linear};
    const auto space = make_rule_space(s, shape);
    CHECK(space->dimension() == TeacherSignal::dimension(shape, opts(0.5, 3, true)));
    CHECK(space->dimension() == 1 + 6 * 4 + 6 * 3 + 3 + 3 * 4);
    const auto rule = std::dynamic_pointer_cast<const TeacherSignal>(space->make(test::random_vector(space->dimension(), 2)));
    REQUIRE(rule);
    CHECK(rule->options().feedback_scale == 0.5);
    CHECK(rule->options().hidden == 3);
    CHECK(rule->teacher().u.size() == 1);
    CHECK(s.init(space->dimension()).size() == space->dimension());
  }

  TEST_CASE("a study's rule section with error_only: the space's θ count is the error-only teacher's") {
    const RuleSpec s = load_spec(
        "type: teacher_signal\nsearch_teacher: true\nhidden: 3\nfeedback_scale: 0.5\nerror_only: 1\n"
        "each: {init: 0, lower: -4, upper: 4}\n");
    const MlpShape shape{{3, 4, 2}, Activation::tanh, Activation::linear};   // m = 2 error inputs
    const auto space = make_rule_space(s, shape);
    CHECK(space->dimension() == TeacherSignal::dimension(shape, opts(0.5, 3, true, true)));
    CHECK(space->dimension() == 1 + 2 * 4 + 2 * 3 + 3 + 3 * 4);
    CHECK(space->names()[1] == "A_h1[e0][0]");
    const auto rule = std::dynamic_pointer_cast<const TeacherSignal>(space->make(test::random_vector(space->dimension(), 2)));
    REQUIRE(rule);
    CHECK(rule->options().error_only);
    CHECK(spec_error("type: teacher_signal\nsearch_teacher: true\nerror_only: 2\neach: {init: 0}\n") ==
          "r.yaml:3:13: error_only = 2: must be in [0, 1]");
  }

  TEST_CASE("bad teacher specs are file:line:col errors") {
    CHECK(spec_error("type: direct_feedback_alignment\nsearch_teacher: true\neach: {init: 0}\n") ==
          "r.yaml:2:17: search_teacher = true: rule direct_feedback_alignment has no teacher to search (teacher_signal "
          "has)");
    CHECK(spec_error("type: teacher_signal\nsearch_teacher: true\nterms: all\neach: {init: 0}\n") ==
          "r.yaml:3:8: terms = all: a searched teacher is an array space: use `each`");
    CHECK(spec_error("type: teacher_signal\nsearch_teacher: true\nhidden: -1\neach: {init: 0}\n") ==
          "r.yaml:3:9: hidden = -1: must be in [0, 4096]");
    CHECK(spec_error("type: teacher_signal\nsearch_teacher: true\nhiden: 2\neach: {init: 0}\n") ==
          "r.yaml:3:1: hiden: unknown key (did you mean 'hidden'?)");
    CHECK(spec_error("type: teacher_signal\nsearch_teacher: true\neach: {init: 9, lower: -1, upper: 1}\n") ==
          "r.yaml:3:14: each.init = 9: must be in [-1, 1]");
    CHECK(spec_error("type: teacher_signal\nsearch_teacher: true\n").find("r.yaml:1:1:") == 0);
    CHECK(spec_error("type: teacher_signal\nsearch_techer: true\neach: {init: 0}\n") ==
          "r.yaml:2:1: search_techer: unknown key (did you mean 'search_teacher'?)");
  }

  TEST_CASE("forward_model: θ gains β and ℓ per hidden layer, after U") {
    const MlpShape shape{{4, 3, 2, 2}, Activation::tanh, Activation::linear};
    const auto o = opts(1, 4, true, true, true);
    // error-only teacher of the same shape: 2 + 10 + 8 + 4 + 20 = 44, then 2 per hidden layer.
    CHECK(TeacherSignal::dimension(shape, o) == 44 + 4);
    const auto names = TeacherSignal::names(shape, o);
    REQUIRE(names.size() == 48);
    CHECK(names[43] == "U_h2[3][1]");
    CHECK(names[44] == "model_h1");
    CHECK(names[45] == "model_memory_h1");
    CHECK(names[46] == "model_h2");
    CHECK(names[47] == "model_memory_h2");
    CHECK(teacher_signal_space(shape, o)->dimension() == 48);
  }

  TEST_CASE("forward_model golden values: the ridge least-squares model of one sample, then β e Mᵀ") {
    // The 2-2-1 linear net of the golden test above: h1 = (1, 2), z_out = 3, y = 1, e = 2. No
    // other pathway (feedback_scale 0, no A, no MLP). v = h̃ = (1, 2, 1): C = vᵀv, D = 3vᵀ,
    // ε = 10⁻⁴·tr C/3 = 2·10⁻⁴, and (C + εI)⁻¹ vᵀ = vᵀ/(‖v‖² + ε), so M̃ = 3vᵀ/(6 + ε): M = k·(0.5, 1)ᵀ
    // with k = 6/(6 + ε). With β = 1.5 the signal is s = β e Mᵀ = k·(1.5, 3); f' = 1: dW0 = sᵀ x,
    // db0 = s. A second step (λ = σ(0) = 0.5) scales C, D and ε alike by 1.5: the same M.
    const GoldenNet g;
    const MlpShape& shape = g.net.shape();
    const Mlp& net = g.net;
    const Matrix &x = g.x, &y = g.y;
    const auto o = opts(0.0, 0, false, true, true);
    REQUIRE(TeacherSignal::dimension(shape, o) == 3);
    Eigen::VectorXd theta(3);
    theta << 0.0, 1.5, 0.0;   // g_h1, model_h1, model_memory_h1
    const TeacherSignal rule(shape, o, theta);
    CHECK(rule.teacher().model_memory[0] == 0.5f);
    const test::Pass pass = test::run_forward(net, Loss::mse, x, y, 4);
    auto state = rule.make_state(net, 4, RandomStream(1, Purpose::feedback));
    const double k = 6.0 / (6.0 + 2e-4);
    for (int step = 0; step < 2; ++step) {
      CAPTURE(step);
      const Gradients u = test::rule_update(rule, *state, net, pass, y);
      const double eps = 1e-6;
      CHECK(u.dW[0](0, 0) == doctest::Approx(1.5 * k).epsilon(eps));
      CHECK(u.dW[0](0, 1) == doctest::Approx(3.0 * k).epsilon(eps));
      CHECK(u.dW[0](1, 0) == doctest::Approx(3.0 * k).epsilon(eps));
      CHECK(u.dW[0](1, 1) == doctest::Approx(6.0 * k).epsilon(eps));
      CHECK(u.db[0](0) == doctest::Approx(1.5 * k).epsilon(eps));
      CHECK(u.db[0](1) == doctest::Approx(3.0 * k).epsilon(eps));
      CHECK(u.dW[1](0, 1) == doctest::Approx(4.0).epsilon(eps));   // the output layer: e·h1
    }
  }

  TEST_CASE("forward_model: the model of the last hidden layer converges to W_outᵀ, and β = 1 is backprop") {
    // A fixed student watched on fresh random batches of 9: h̃ has 13 dimensions, so one batch
    // cannot pin the model down, but two (λ = 0.5 keeps the last one at half weight) do:
    // z_out = h W_outᵀ + b_out is identified up to the ridge and the hidden layer's update is
    // backprop's (only the model pathway: feedback_scale 0). The input has more dimensions than
    // the hidden layer, so h spans all 12 of its own; a 5-12-3 student's h lies near a
    // 5-dimensional subspace and only W_outᵀ's projection on it is identified (measured: the
    // update stays 0.29 from backprop's).
    const Mlp net = test::random_mlp({14, 12, 3}, Activation::tanh, Activation::linear, 7);
    const auto o = opts(0.0, 0, false, true, true);
    Eigen::VectorXd theta(3);
    theta << 0.0, 1.0, 0.0;   // β = 1, λ = 0.5
    const TeacherSignal searched(net.shape(), o, theta);
    // The registered rule with `model: 1` is the same hand-set teacher without θ.
    const auto registered = rule_registry().make("teacher_signal", {{"feedback_scale", 0.0}, {"model", 1.0}});
    for (const LearningRule* rule : {static_cast<const LearningRule*>(&searched), registered.get()}) {
      auto state = rule->make_state(net, 9, RandomStream(1, Purpose::feedback));
      auto hidden_error = [&](std::uint64_t seed) {
        const test::Batch batch = test::random_batch(net, Loss::mse, 9, seed);
        const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y, 9);
        const Gradients got = test::rule_update(*rule, *state, net, pass, batch.y);
        return test::relative_difference(got.dW[0], test::exact_gradient(net, pass).dW[0]);
      };
      const double first = hidden_error(100);
      CHECK(first > 0.1);   // one batch in, the model is far from W_outᵀ
      for (std::uint64_t seed = 101; seed < 104; ++seed) CHECK(hidden_error(seed) < 1e-3);
    }
    CHECK(test::error_message([&] {
            TeacherSignal(net.shape(), TeacherSignalOptions{0.0, 0, false, true, true, 1.0}, theta);
          }) == "model = 1: a teacher with θ learns its model pathway in θ (model_hK)");
  }

  TEST_CASE("forward_model at θ = 0 is direct feedback alignment, bit for bit (no model is learned)") {
    const MlpShape shape{{6, 5, 4, 3}, Activation::tanh, Activation::linear};
    const auto o = opts(1.0, 4, true, true, true);
    check_is_dfa({teacher_signal_space(shape, o)->make(Eigen::VectorXd::Zero(TeacherSignal::dimension(shape, o))).get()});
    CHECK(spec_error("type: teacher_signal\nsearch_teacher: true\nforward_model: 0.5\neach: {init: 0}\n") ==
          "r.yaml:3:16: forward_model = 0.5: must be an integer");
    CHECK(spec_error("type: teacher_signal\nsearch_teacher: true\nforward_model: 1\nmodel: 1\neach: {init: 0}\n") ==
          "r.yaml:4:8: model = 1: a searched teacher learns its model pathway in θ (model_hK); `model` sets "
          "it for the registered rule only");
  }
}
