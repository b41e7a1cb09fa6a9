// The ABCD rule (rules/abcd.hpp, Najarro & Risi 2020, eq. 1): hand-computed updates at every
// sharing level, θ's size and names, normalization, the registered `abcd` rule and its space.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "lib/error.hpp"
#include "lib/train.hpp"
#include "rules/abcd.hpp"
#include "rules/registry.hpp"
#include "rules/rule_space.hpp"

using namespace plast;

namespace {

// A linear 2-2-2 network with identity weights: post = pre in both layers, so the activity
// of every layer is the input and updates are easy to compute by hand.
Mlp identity_net() {
  Mlp net(MlpShape{{2, 2, 2}, Activation::linear, Activation::linear});
  net.weight(0) = Matrix::Identity(2, 2);
  net.weight(1) = Matrix::Identity(2, 2);
  return net;
}

// The rule's update (−Δw/η, the sign optimizers subtract) for a batch x.
Gradients update_of(const LearningRule& rule, const Mlp& net, const Matrix& x) {
  ForwardCache cache(net.shape(), static_cast<int>(x.rows()));
  forward(net, x, cache);
  Gradients out = Gradients::like(net);
  const Matrix zero = Matrix::Zero(x.rows(), net.output_size());
  const Eigen::Ref<const Matrix> z(zero);
  auto state = rule.make_state(net, static_cast<int>(x.rows()), RandomStream(1, Purpose::feedback));
  rule.compute_update(StepSignals{net, cache, z, z, 0}, *state, out);
  return out;
}

Matrix mat(std::initializer_list<std::initializer_list<float>> rows) {
  Matrix m(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows.begin()->size()));
  Eigen::Index i = 0;
  for (const auto& r : rows) {
    Eigen::Index j = 0;
    for (float v : r) m(i, j++) = v;
    ++i;
  }
  return m;
}

Eigen::VectorXd vec(std::initializer_list<double> v) {
  Eigen::VectorXd out(static_cast<Eigen::Index>(v.size()));
  Eigen::Index i = 0;
  for (double x : v) out(i++) = x;
  return out;
}

const MlpShape kShape{{2, 2, 2}, Activation::linear, Activation::linear};

}  // namespace

TEST_SUITE("rules/abcd") {
  TEST_CASE("dimension() and names() agree at every sharing level, in the documented order") {
    const MlpShape shape{{3, 2, 2}, Activation::tanh, Activation::tanh};
    CHECK(AbcdRule::dimension(shape, Sharing::global) == 4);
    CHECK(AbcdRule::dimension(shape, Sharing::layer) == 8);
    CHECK(AbcdRule::dimension(shape, Sharing::neuron) == 4 * (2 + 2));
    CHECK(AbcdRule::dimension(shape, Sharing::synapse) == 4 * (3 * 2 + 2 * 2));
    for (Sharing s : {Sharing::global, Sharing::layer, Sharing::neuron, Sharing::synapse}) {
      CAPTURE(sharing_name(s));
      const auto names = AbcdRule::names(shape, s);
      CHECK(static_cast<int>(names.size()) == AbcdRule::dimension(shape, s));
      CHECK(std::set<std::string>(names.begin(), names.end()).size() == names.size());
      CHECK(parse_sharing(sharing_name(s)) == s);
    }
    CHECK(AbcdRule::names(shape, Sharing::global) == std::vector<std::string>{"A", "B", "C", "D"});
    const auto layer = AbcdRule::names(shape, Sharing::layer);
    CHECK(layer[0] == "A[l0]");
    CHECK(layer[7] == "D[l1]");
    const auto neuron = AbcdRule::names(shape, Sharing::neuron);
    CHECK(neuron[5] == "B[l0][i1]");
    CHECK(neuron[15] == "D[l1][i1]");
    const auto synapse = AbcdRule::names(shape, Sharing::synapse);
    CHECK(synapse[0] == "A[l0][i0][j0]");
    CHECK(synapse[4 * 4 + 2] == "C[l0][i1][j1]");   // synapse (1, 1) of a 2×3 matrix is the 5th
    CHECK(synapse.back() == "D[l1][i1][j1]");
    // A 4-32-16-2 policy with per-synapse coefficients (the CartPole study): 4·672 values.
    CHECK(AbcdRule::dimension(MlpShape{{4, 32, 16, 2}}, Sharing::synapse) == 2688);
    CHECK_THROWS_WITH_AS(parse_sharing("cell"), doctest::Contains("sharing = cell: unknown sharing level"),
                         InvalidValue);
  }

  TEST_CASE("global: −η·(A·pre·post + B·pre + C·post + D), averaged over the batch, by hand") {
    const Mlp net = identity_net();
    // pre = post = (1, 2): Δw_00 = 1+2+3+4 = 10, Δw_01 = 2+4+3+4 = 13, Δw_10 = 2+2+6+4 = 14, Δw_11 = 4+4+6+4 = 18.
    const AbcdRule rule(MlpShape{}, Sharing::global, vec({1, 2, 3, 4}), false);
    const Gradients g = update_of(rule, net, mat({{1, 2}}));
    CHECK(g.dW[0] == mat({{-10, -13}, {-14, -18}}));
    CHECK(g.dW[1] == mat({{-10, -13}, {-14, -18}}));
    CHECK(g.db[0].isZero());
    CHECK(g.db[1].isZero());
    // Batch of two rows (1, 2) and (−1, 0): mean post⊗pre = [[1, 1], [1, 2]], mean pre = (0, 1).
    const Matrix batch = mat({{1, 2}, {-1, 0}});
    CHECK(update_of(AbcdRule(MlpShape{}, Sharing::global, vec({1, 0, 0, 0}), false), net, batch).dW[0] ==
          mat({{-1, -1}, {-1, -2}}));
    CHECK(update_of(AbcdRule(MlpShape{}, Sharing::global, vec({0, 1, 0, 0}), false), net, batch).dW[0] ==
          mat({{0, -1}, {0, -1}}));
    CHECK(update_of(AbcdRule(MlpShape{}, Sharing::global, vec({0, 0, 1, 0}), false), net, batch).dW[0] ==
          mat({{0, 0}, {-1, -1}}));
  }

  TEST_CASE("layer: each weight layer its own (A, B, C, D)") {
    const Mlp net = identity_net();
    const AbcdRule rule(kShape, Sharing::layer, vec({1, 2, 3, 4, 0, 0, 0, 1}), false);
    const Gradients g = update_of(rule, net, mat({{1, 2}}));
    CHECK(g.dW[0] == mat({{-10, -13}, {-14, -18}}));
    CHECK(g.dW[1] == mat({{-1, -1}, {-1, -1}}));
  }

  TEST_CASE("neuron: one (A, B, C, D) per postsynaptic neuron (row of W)") {
    const Mlp net = identity_net();
    // l0: i0 A = 1, i1 B = 1; l1: i0 C = 1, i1 D = −1.
    const AbcdRule rule(kShape, Sharing::neuron, vec({1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, -1}), false);
    const Gradients g = update_of(rule, net, mat({{1, 2}}));
    CHECK(g.dW[0] == mat({{-1, -2}, {-1, -2}}));   // row 0: pre_j·post_0; row 1: pre_j
    CHECK(g.dW[1] == mat({{-1, -1}, {1, 1}}));     // row 0: post_0 = 1; row 1: −D = +1
  }

  TEST_CASE("synapse: one (A, B, C, D) per weight, row-major over W") {
    const Mlp net = identity_net();
    // l0: (0,0) A = 1 → pre_0·post_0 = 1; (0,1) B = 1 → pre_1 = 2; (1,0) C = 1 → post_1 = 2; (1,1) D = 1.
    // l1: (1,0) A = 3 → 3·pre_0·post_1 = 6; the rest 0.
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(32);
    theta(0) = 1;          // A[l0][i0][j0]
    theta(4 + 1) = 1;      // B[l0][i0][j1]
    theta(8 + 2) = 1;      // C[l0][i1][j0]
    theta(12 + 3) = 1;     // D[l0][i1][j1]
    theta(16 + 8) = 3;     // A[l1][i1][j0]
    CHECK(AbcdRule::names(kShape, Sharing::synapse)[24] == "A[l1][i1][j0]");
    const AbcdRule rule(kShape, Sharing::synapse, theta, false);
    const Gradients g = update_of(rule, net, mat({{1, 2}}));
    CHECK(g.dW[0] == mat({{-1, -2}, {-2, -1}}));
    CHECK(g.dW[1] == mat({{0, 0}, {-6, 0}}));
  }

  TEST_CASE("θ of the wrong size, non-finite θ and a student of another shape are errors") {
    CHECK_THROWS_WITH_AS(AbcdRule(kShape, Sharing::layer, vec({1, 2, 3}), false),
                         doctest::Contains("must have 8 values for layer sharing"), InvalidValue);
    CHECK_THROWS_WITH_AS(AbcdRule(kShape, Sharing::global, vec({1, 2, std::nan(""), 4}), false),
                         doctest::Contains("C = nan: must be finite"), InvalidValue);
    const AbcdRule rule(kShape, Sharing::neuron, Eigen::VectorXd::Zero(16), false);
    const Mlp other(MlpShape{{2, 3, 2}});
    CHECK_THROWS_WITH_AS(rule.make_state(other, 1, RandomStream(1, Purpose::feedback)),
                         doctest::Contains("coefficients are for 2-2-2"), Error);
    // Global coefficients fit any student.
    CHECK_NOTHROW(AbcdRule(kShape, Sharing::global, vec({1, 0, 0, 0}), false).make_state(other, 1, RandomStream(1, Purpose::feedback)));
  }

  TEST_CASE("normalize: after each update every layer's largest |w| is exactly 1; off, the weights are left alone") {
    Mlp net(MlpShape{{4, 5, 3}, Activation::tanh, Activation::tanh});
    RandomStream rng(3, Purpose::init_weights);
    net.init_glorot(rng, 2.0f);
    net.weight(1) *= 7.0f;
    Mlp zero = net;
    zero.weight(1).setZero();
    const AbcdRule on(MlpShape{}, Sharing::global, vec({1, 0, 0, 0}), true);
    auto state = on.make_state(net, 1, RandomStream(1, Purpose::feedback));
    const Matrix before = net.weight(0);
    on.after_update(net, *state);
    for (int l = 0; l < 2; ++l) CHECK(net.weight(l).cwiseAbs().maxCoeff() == 1.0f);
    CHECK((net.weight(0) * before.cwiseAbs().maxCoeff() - before).cwiseAbs().maxCoeff() < 1e-6f);
    on.after_update(zero, *state);   // an all-zero layer stays zero (no 0/0)
    CHECK(zero.weight(1).isZero());
    CHECK(zero.weight(0).cwiseAbs().maxCoeff() == 1.0f);
    Mlp untouched = net;
    untouched.weight(0) *= 3.0f;
    const Matrix kept = untouched.weight(0);
    AbcdRule(MlpShape{}, Sharing::global, vec({1, 0, 0, 0}), false).after_update(untouched, *state);
    CHECK(untouched.weight(0) == kept);
  }

  TEST_CASE("a training step through SGD adds η·Δw to the weights and never touches the biases") {
    Task task;
    task.name = "probe";
    task.input_size = 2;
    task.output_size = 2;
    const auto rule = std::make_shared<AbcdRule>(MlpShape{}, Sharing::global, vec({1, 2, 3, 4}), false);
    OptimizerSpec sgd;
    sgd.lr = 0.5;
    Student s = make_student(task, StudentSpec{.hidden = {2}, .activation = Activation::linear}, *rule, sgd, 1, 1);
    s.net.weight(0) = Matrix::Identity(2, 2);
    s.net.weight(1) = Matrix::Identity(2, 2);
    StepWorkspace ws(s.net, 1);
    const Matrix x = mat({{1, 2}}), y = Matrix::Zero(1, 2);
    train_step(s, *rule, task, x, y, ws, 0);
    CHECK(s.net.weight(0) == mat({{6, 6.5f}, {7, 10}}));   // I + 0.5·[[10, 13], [14, 18]]
    CHECK(s.net.bias(0).isZero());
    CHECK(s.net.bias(1).isZero());
  }

  TEST_CASE("the registered `abcd` rule is global sharing with named A, B, C, D and normalize") {
    const auto& entry = rule_registry().get("abcd");
    std::vector<std::string> names;
    for (const auto& p : entry.params) names.push_back(p.name);
    CHECK(names == std::vector<std::string>{"A", "B", "C", "D", "normalize"});
    const auto rule = rule_registry().make("abcd", {{"A", 1}, {"B", 2}, {"C", 3}, {"D", 4}, {"normalize", 0}});
    CHECK(rule->name() == "abcd");
    CHECK(update_of(*rule, identity_net(), mat({{1, 2}})).dW[0] == mat({{-10, -13}, {-14, -18}}));
    const auto& abcd = dynamic_cast<const AbcdRule&>(*rule_registry().make("abcd"));
    CHECK(abcd.normalize());
    CHECK(abcd.sharing() == Sharing::global);
  }

  TEST_CASE("abcd_space: θ's names are the rule's, make(θ) is the rule of θ") {
    const auto space = abcd_space(kShape, Sharing::synapse, false);
    CHECK(space->names() == AbcdRule::names(kShape, Sharing::synapse));
    CHECK(space->dimension() == 32);
    CHECK(space->rule() == "abcd");
    CHECK(space->parameters(Eigen::VectorXd::Zero(32)).empty());
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(32);
    theta(4 + 1) = 1;   // B[l0][i0][j1]
    const auto rule = space->make(theta);
    CHECK(update_of(*rule, identity_net(), mat({{1, 2}})).dW[0] == mat({{0, -2}, {0, 0}}));
    CHECK_THROWS_AS(space->make(Eigen::VectorXd::Zero(31)), InvalidValue);
  }

  TEST_CASE("normalize keeps the largest |w| exactly 1 and no weight above it, at any scale") {
    // after_update multiplies by 1/max rather than dividing (rules/abcd.cpp): the product can
    // round a hair below or above 1, which the rule must correct.
    const AbcdRule on(MlpShape{}, Sharing::global, vec({1, 0, 0, 0}), true);
    Mlp net(MlpShape{{4, 32, 16, 2}, Activation::tanh, Activation::tanh});
    auto state = on.make_state(net, 1, RandomStream(1, Purpose::feedback));
    int rounded_off = 0;
    for (std::uint64_t trial = 0; trial < 2000; ++trial) {
      RandomStream rng(trial, Purpose::init_weights);
      net.init_glorot(rng, 1.0f);
      const float scale = std::exp(static_cast<float>(rng.normal()) * 4.0f);
      for (int l = 0; l < 3; ++l) net.weight(l) *= scale;
      const Matrix before = net.weight(1);
      const float m = before.cwiseAbs().maxCoeff();
      if (m * (1.0f / m) != 1.0f) ++rounded_off;
      on.after_update(net, *state);
      for (int l = 0; l < 3; ++l) REQUIRE(net.weight(l).cwiseAbs().maxCoeff() == 1.0f);
      // Every weight is the quotient w/m to within one ulp.
      CHECK(((net.weight(1) - before / m).cwiseAbs().array() <= 1.2e-7f).all());
    }
    CHECK(rounded_off > 0);   // the correction above was exercised
  }

  TEST_CASE("apply_sgd_step (the one-sample fused path) equals compute_update + SGD + after_update") {
    // 4 inputs take the fixed-width path of the synapse terms, 5 and 3 the run-time one.
    const MlpShape shape{{4, 5, 3}, Activation::tanh, Activation::tanh};
    for (Sharing sharing : {Sharing::global, Sharing::layer, Sharing::neuron, Sharing::synapse}) {
      for (bool normalize : {false, true}) {
        CAPTURE(sharing_name(sharing));
        CAPTURE(normalize);
        RandomStream rng(7, Purpose::data);
        Eigen::VectorXd theta(AbcdRule::dimension(shape, sharing));
        for (Eigen::Index k = 0; k < theta.size(); ++k) theta(k) = rng.normal();
        const AbcdRule rule(shape, sharing, theta, normalize);
        Mlp net(shape);
        RandomStream init(8, Purpose::init_weights);
        net.init_glorot(init, 1.0f);
        Mlp fused = net;
        Matrix x(1, 4);
        for (Eigen::Index j = 0; j < 4; ++j) x(0, j) = static_cast<float>(rng.normal());
        ForwardCache cache(shape, 1);
        forward(net, x, cache);
        const Matrix zero = Matrix::Zero(1, 3);
        const Eigen::Ref<const Matrix> z(zero);
        auto state = rule.make_state(net, 1, RandomStream(1, Purpose::feedback));
        OptimizerSpec sgd;
        sgd.lr = 0.3;
        auto optimizer = make_optimizer(sgd, net);
        REQUIRE(optimizer->plain_step_size() == 0.3f);
        Gradients update = Gradients::like(net);
        rule.compute_update(StepSignals{net, cache, z, z, 0}, *state, update);
        optimizer->apply(net, update);
        rule.after_update(net, *state);
        REQUIRE(rule.apply_sgd_step(StepSignals{fused, cache, z, z, 0}, *state, 0.3f, fused));
        for (int l = 0; l < 2; ++l) {
          CHECK((fused.weight(l) - net.weight(l)).cwiseAbs().maxCoeff() < 1e-6f);
          CHECK(fused.bias(l) == net.bias(l));
        }
      }
    }
    // Batches take the generic path; weight decay is not a plain step.
    const AbcdRule rule(shape, Sharing::global, vec({1, 0, 0, 0}), true);
    Mlp net(shape);
    ForwardCache cache(shape, 2);
    forward(net, Matrix::Ones(2, 4), cache);
    const Matrix zero = Matrix::Zero(2, 3);
    const Eigen::Ref<const Matrix> z(zero);
    auto state = rule.make_state(net, 2, RandomStream(1, Purpose::feedback));
    CHECK_FALSE(rule.apply_sgd_step(StepSignals{net, cache, z, z, 0}, *state, 0.3f, net));
    OptimizerSpec decayed;
    decayed.weight_decay = 1e-3;
    CHECK_FALSE(make_optimizer(decayed, net)->plain_step_size().has_value());
  }
}
