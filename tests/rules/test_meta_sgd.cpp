// Meta-SGD (rules/meta_sgd.hpp, Li et al. 2017): the learned initialization lands in the student
// exactly, the update is α ⊙ (backprop's gradient) with hand-computed golden values, θ = 0 is the
// fixed Glorot draw with uniform rates, θ's names and size, the space read from a study's
// `rule:` section, exact errors for bad options, and determinism.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <limits>
#include <string>

#include "lib/episode.hpp"
#include "lib/error.hpp"
#include "lib/random_matrix.hpp"
#include "lib/train.hpp"
#include "rules/meta_sgd.hpp"
#include "rules/registry.hpp"
#include "rules/rule_space.hpp"
#include "search/evaluator.hpp"
#include "search/rule_spec.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

const MlpShape kTiny{{2, 3, 1}, Activation::tanh, Activation::linear};   // P = 6 + 3 + 3 + 1 = 13

MetaSgdOptions opts(MetaSgdLearn learn, RateSharing rates = RateSharing::parameter, double lr = 1.0,
                    std::uint64_t seed = 0, double gain = 1.0) {
  MetaSgdOptions o;
  o.learn = learn;
  o.rates = rates;
  o.lr = lr;
  o.init_seed = seed;
  o.gain = gain;
  return o;
}

RuleSpec load_spec(const std::string& yaml) { return read_rule_spec(ConfigNode::load_string(yaml, "r.yaml")); }

std::string spec_error(const std::string& yaml) {
  return test::error_message([&] { load_spec(yaml); });
}

}  // namespace

TEST_SUITE("rules/meta_sgd") {
  TEST_CASE("θ's size and names: initialization offsets, then rates, layer by layer, W row-major then b") {
    CHECK(MetaSgd::dimension(kTiny, opts(MetaSgdLearn::init)) == 13);
    CHECK(MetaSgd::dimension(kTiny, opts(MetaSgdLearn::rates)) == 13);
    CHECK(MetaSgd::dimension(kTiny, opts(MetaSgdLearn::both)) == 26);
    CHECK(MetaSgd::dimension(kTiny, opts(MetaSgdLearn::rates, RateSharing::layer)) == 4);
    CHECK(MetaSgd::dimension(kTiny, opts(MetaSgdLearn::both, RateSharing::layer)) == 17);
    // Finn et al.'s sinusoid student: 1-40-40-1 has 1,761 parameters.
    const MlpShape sinusoid{{1, 40, 40, 1}, Activation::relu, Activation::linear};
    CHECK(MetaSgd::dimension(sinusoid, opts(MetaSgdLearn::both)) == 2 * 1761);

    const auto both = MetaSgd::names(kTiny, opts(MetaSgdLearn::both));
    REQUIRE(both.size() == 26);
    CHECK(both[0] == "W0[0][0]");
    CHECK(both[1] == "W0[0][1]");
    CHECK(both[2] == "W0[1][0]");
    CHECK(both[5] == "W0[2][1]");
    CHECK(both[6] == "b0[0]");
    CHECK(both[8] == "b0[2]");
    CHECK(both[9] == "W1[0][0]");
    CHECK(both[11] == "W1[0][2]");
    CHECK(both[12] == "b1[0]");
    CHECK(both[13] == "lr_W0[0][0]");
    CHECK(both[19] == "lr_b0[0]");
    CHECK(both[25] == "lr_b1[0]");
    CHECK(MetaSgd::names(kTiny, opts(MetaSgdLearn::both, RateSharing::layer)).back() == "lr_b1");
    CHECK(MetaSgd::names(kTiny, opts(MetaSgdLearn::rates, RateSharing::layer)) ==
          std::vector<std::string>{"lr_W0", "lr_b0", "lr_W1", "lr_b1"});
    const auto space = meta_sgd_space(kTiny, opts(MetaSgdLearn::both, RateSharing::layer));
    CHECK(space->dimension() == 17);
    CHECK(space->names() == MetaSgd::names(kTiny, opts(MetaSgdLearn::both, RateSharing::layer)));
    CHECK(space->rule() == "meta_sgd");
    CHECK(space->parameters(Eigen::VectorXd::Zero(17)).empty());
  }

  TEST_CASE("a given initialization with one rate: the student starts there and steps by lr · gradient") {
    Mlp start(kTiny);
    RandomStream rng(23, Purpose::probe);
    start.init_glorot(rng, 3.0f);
    start.bias(0).setConstant(0.25f);
    const MetaSgd rule(start, 0.5);
    CHECK(rule.shaped());
    CHECK(rule.options().learn == MetaSgdLearn::init);
    CHECK(test::same_net(rule.initial(), start));
    const Task task = test::fixed_regression_task(2, 1, {3}, 8);
    StudentSpec spec;
    spec.hidden = {3};
    const Student s = make_student(task, spec, rule, OptimizerSpec{.type = "sgd", .lr = 1.0}, 8, 99);
    CHECK(test::same_net(s.net, start));
    for (int l = 0; l < 2; ++l) {
      CHECK((rule.rates().dW[l].array() == 0.5f).all());
      CHECK((rule.rates().db[l].array() == 0.5f).all());
    }
    StudentSpec wide;
    wide.hidden = {4};
    CHECK(test::error_message([&] { make_student(task, wide, rule, OptimizerSpec{}, 8, 1); }) ==
          "rule meta_sgd: the initialization and rates are for " + kTiny.str() + ", the student is " +
              MlpShape{{2, 4, 1}, Activation::tanh, Activation::linear}.str());
  }

  TEST_CASE("θ = 0 is the fixed Glorot draw of init_seed (what make_student gives that seed) with rate lr everywhere") {
    for (auto learn : {MetaSgdLearn::init, MetaSgdLearn::rates, MetaSgdLearn::both}) {
      CAPTURE(meta_sgd_learn_name(learn));
      const auto o = opts(learn, RateSharing::parameter, 0.03, 17, 1.0);
      const MetaSgd rule(kTiny, o, Eigen::VectorXd::Zero(MetaSgd::dimension(kTiny, o)));
      Mlp glorot(kTiny);
      RandomStream rng(17, Purpose::init_weights);
      glorot.init_glorot(rng);
      CHECK(test::same_net(rule.initial(), glorot));
      for (int l = 0; l < 2; ++l) {
        CHECK((rule.rates().dW[l].array() == 0.03f).all());
        CHECK((rule.rates().db[l].array() == 0.03f).all());
      }
    }
    // ... and exactly the student that make_student draws for seed 17 under backprop.
    const Task task = test::fixed_regression_task(2, 1, {3}, 8);
    StudentSpec spec;
    spec.hidden = {3};
    const auto o = opts(MetaSgdLearn::both, RateSharing::parameter, 1.0, 17);
    const MetaSgd zero(kTiny, o, Eigen::VectorXd::Zero(26));
    const auto backprop = rule_registry().make("backprop");
    const Student a = make_student(task, spec, zero, OptimizerSpec{.type = "sgd", .lr = 1.0}, 8, 99);
    const Student b = make_student(task, spec, *backprop, OptimizerSpec{.type = "sgd", .lr = 1.0}, 8, 17);
    CHECK(test::same_net(a.net, b.net));
    // A gain scales the draw (and the offsets' unit).
    const MetaSgd gained(kTiny, opts(MetaSgdLearn::init, RateSharing::parameter, 1.0, 17, 2.0), Eigen::VectorXd::Zero(13));
    CHECK(gained.initial().weight(1) == 2.0f * b.net.weight(1));
  }

  TEST_CASE("initialize() puts θ_0 = W̄ + a_l·θ into the student exactly, for every layer and bias") {
    const auto o = opts(MetaSgdLearn::both, RateSharing::parameter, 0.1, 4, 1.5);
    const Eigen::VectorXd theta = test::random_vector(26, 8);
    const MetaSgd rule(kTiny, o, theta);
    const Mlp base = MetaSgd::base_initialization(kTiny, o);
    // By hand: offsets in Glorot units of each layer (a_0 = 1.5·√(6/5), a_1 = 1.5·√(6/4)).
    const double a0 = 1.5 * static_cast<double>(glorot_limit(2, 3)), a1 = 1.5 * static_cast<double>(glorot_limit(3, 1));
    Mlp expected(kTiny);
    int k = 0;
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 2; ++j, ++k)
        expected.weight(0)(i, j) = static_cast<float>(static_cast<double>(base.weight(0)(i, j)) + a0 * theta(k));
    for (int i = 0; i < 3; ++i, ++k) expected.bias(0)(i) = static_cast<float>(a0 * theta(k));
    for (int j = 0; j < 3; ++j, ++k)
      expected.weight(1)(0, j) = static_cast<float>(static_cast<double>(base.weight(1)(0, j)) + a1 * theta(k));
    expected.bias(1)(0) = static_cast<float>(a1 * theta(k++));
    CHECK(k == 13);
    CHECK(test::same_net(rule.initial(), expected));

    Mlp student = test::random_mlp({2, 3, 1}, Activation::tanh, Activation::linear, 77);
    CHECK_FALSE(test::same_net(student, expected));
    rule.initialize(student);
    CHECK(test::same_net(student, expected));
    // make_student calls it: the student starts at θ_0 whatever its own seed.
    const Task task = test::fixed_regression_task(2, 1, {3}, 8);
    StudentSpec spec;
    spec.hidden = {3};
    for (std::uint64_t seed : {1u, 2u}) {
      const Student s = make_student(task, spec, rule, OptimizerSpec{.type = "sgd", .lr = 1.0}, 8, seed);
      CHECK(test::same_net(s.net, expected));
    }
    // Rates: α = lr·exp(θ_lr), per parameter.
    CHECK(rule.rates().dW[0](2, 1) == static_cast<float>(0.1 * std::exp(theta(13 + 5))));
    CHECK(rule.rates().db[0](1) == static_cast<float>(0.1 * std::exp(theta(13 + 7))));
    CHECK(rule.rates().db[1](0) == static_cast<float>(0.1 * std::exp(theta(25))));
  }

  TEST_CASE("the update is α ⊙ backprop's gradient: golden values on a 2-2-1 ReLU net") {
    // x = (1, 2), W0 = [[0.5, 0.25], [−0.5, 0.5]], b0 = (0.1, −0.1): z0 = (1.1, 0.4) = h1.
    // W1 = [1, −2], b1 = 0.5: output 0.8; target 0.3, mse (½ error²): δ1 = 0.5.
    // dW1 = δ1·h1 = (0.55, 0.2), db1 = 0.5; δ0 = δ1·W1 ⊙ relu'(z0) = (0.5, −1);
    // dW0 = δ0ᵀx = [[0.5, 1], [−1, −2]], db0 = (0.5, −1).
    // Per-layer rates with lr = 0.1: θ = (ln 2, 0, −ln 2, ln 3) → α = (0.2, 0.1, 0.05, 0.3).
    const MlpShape shape{{2, 2, 1}, Activation::relu, Activation::linear};
    Mlp net(shape);
    net.weight(0) << 0.5f, 0.25f, -0.5f, 0.5f;
    net.bias(0) << 0.1f, -0.1f;
    net.weight(1) << 1.0f, -2.0f;
    net.bias(1) << 0.5f;
    Matrix x(1, 2), y(1, 1);
    x << 1.0f, 2.0f;
    y << 0.3f;
    const test::Pass pass = test::run_forward(net, Loss::mse, x, y);
    const Eigen::Vector4d theta(std::log(2.0), 0.0, -std::log(2.0), std::log(3.0));
    const MetaSgd rule(shape, opts(MetaSgdLearn::rates, RateSharing::layer, 0.1), theta);
    auto state = rule.make_state(net, 1, RandomStream(1, Purpose::feedback));
    const Gradients u = test::rule_update(rule, *state, net, pass, y);
    const double eps = 1e-6;
    CHECK(u.dW[0](0, 0) == doctest::Approx(0.1).epsilon(eps));
    CHECK(u.dW[0](0, 1) == doctest::Approx(0.2).epsilon(eps));
    CHECK(u.dW[0](1, 0) == doctest::Approx(-0.2).epsilon(eps));
    CHECK(u.dW[0](1, 1) == doctest::Approx(-0.4).epsilon(eps));
    CHECK(u.db[0](0) == doctest::Approx(0.05).epsilon(eps));
    CHECK(u.db[0](1) == doctest::Approx(-0.1).epsilon(eps));
    CHECK(u.dW[1](0, 0) == doctest::Approx(0.0275).epsilon(eps));
    CHECK(u.dW[1](0, 1) == doctest::Approx(0.01).epsilon(eps));
    CHECK(u.db[1](0) == doctest::Approx(0.15).epsilon(eps));

    // Per parameter, on a bigger net and batch: exactly α ⊙ (the gradient of lib/gradient).
    const Mlp big = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 3);
    const MlpShape big_shape = big.shape();
    const auto o = opts(MetaSgdLearn::both, RateSharing::parameter, 0.05);
    const MetaSgd per(big_shape, o, test::random_vector(MetaSgd::dimension(big_shape, o), 9, 2.0));
    const test::Batch batch = test::random_batch(big, Loss::mse, 6, 10);
    const test::Pass big_pass = test::run_forward(big, Loss::mse, batch.x, batch.y, 8);
    auto big_state = per.make_state(big, 8, RandomStream(1, Purpose::feedback));
    const Gradients g = test::exact_gradient(big, big_pass);
    const Gradients v = test::rule_update(per, *big_state, big, big_pass, batch.y);
    for (int l = 0; l < 3; ++l) {
      CAPTURE(l);
      CHECK(v.dW[l] == Matrix(g.dW[l].cwiseProduct(per.rates().dW[l])));
      CHECK(v.db[l] == RowVector(g.db[l].cwiseProduct(per.rates().db[l])));
      CHECK(per.rates().dW[l].minCoeff() != per.rates().dW[l].maxCoeff());   // the rates really differ
    }
  }

  TEST_CASE("with optimizer sgd lr 1 one training step is θ_0 − α ⊙ ∇L (the Meta-SGD inner loop)") {
    const Task task = test::fixed_regression_task(2, 1, {3}, 4);
    StudentSpec spec;
    spec.hidden = {3};
    const auto o = opts(MetaSgdLearn::both, RateSharing::parameter, 0.2, 3);
    const MetaSgd rule(kTiny, o, test::random_vector(26, 12, 0.5));
    Student s = make_student(task, spec, rule, OptimizerSpec{.type = "sgd", .lr = 1.0}, 4, 1);
    const Mlp start = s.net;
    StepWorkspace ws(s.net, 4);
    train_step(s, rule, task, task.train->x, task.train->y, ws, 0);
    const test::Pass pass = test::run_forward(start, Loss::mse, task.train->x, task.train->y);
    const Gradients g = test::exact_gradient(start, pass);
    for (int l = 0; l < 2; ++l) {
      CAPTURE(l);
      CHECK(s.net.weight(l) == Matrix(start.weight(l) - g.dW[l].cwiseProduct(rule.rates().dW[l])));
      CHECK(s.net.bias(l) == RowVector(start.bias(l) - g.db[l].cwiseProduct(rule.rates().db[l])));
    }
  }

  TEST_CASE("the registered meta_sgd rule: plain SGD at rate lr from the fixed draw, on any network") {
    const auto rule = rule_registry().make("meta_sgd", {{"lr", 0.5}, {"init_seed", 11}});
    CHECK(rule->name() == "meta_sgd");
    Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 31);
    rule->initialize(net);
    Mlp glorot(net.shape());
    RandomStream rng(11, Purpose::init_weights);
    glorot.init_glorot(rng);
    CHECK(test::same_net(net, glorot));
    const test::Batch batch = test::random_batch(net, Loss::mse, 6, 32);
    const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y);
    auto state = rule->make_state(net, 6, RandomStream(1, Purpose::feedback));
    const Gradients g = test::exact_gradient(net, pass);
    const Gradients u = test::rule_update(*rule, *state, net, pass, batch.y);
    for (int l = 0; l < 3; ++l) {
      CHECK(u.dW[l] == Matrix(0.5f * g.dW[l]));
      CHECK(u.db[l] == RowVector(0.5f * g.db[l]));
    }
    // The same as the θ = 0 point of any array space with those options.
    const auto o = MetaSgd::options(complete_params("rule meta_sgd", MetaSgd::params(), {{"lr", 0.5}, {"init_seed", 11}}));
    const auto zero = meta_sgd_space(net.shape(), o)->make(Eigen::VectorXd::Zero(MetaSgd::dimension(net.shape(), o)));
    Mlp other = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 2);
    zero->initialize(other);
    CHECK(test::same_net(other, glorot));
  }

  TEST_CASE("control episodes start from the learned initialization too (run_episode calls initialize)") {
    // An environment of 3 steps with no reward: without an error signal the gradient is zero,
    // so the weights stay wherever the episode started.
    struct Still final : Environment {
      int t = 0;
      int observation_size() const override { return 2; }
      int action_count() const override { return 1; }
      void reset(std::uint64_t) override { t = 0; }
      void observe(Eigen::Ref<RowVector> o) const override { o << 0.5f, -0.25f; }
      double step(int) override { return ++t, 0.0; }
      bool done() const override { return t >= 3; }
    };
    Task task = test::fixed_regression_task(2, 1, {3}, 4);
    const auto o = opts(MetaSgdLearn::init, RateSharing::parameter, 1.0, 6);
    const MetaSgd rule(kTiny, o, test::random_vector(13, 2));
    StudentSpec spec;
    spec.hidden = {3};
    Student s = make_student(task, spec, rule, OptimizerSpec{.type = "sgd", .lr = 1.0}, 1, 5);
    Still env;
    EpisodeWorkspace ws(s.net, 2);
    for (std::uint64_t e = 0; e < 2; ++e) {
      s.net.weight(0).setConstant(9.0f);
      run_episode(s, rule, env, ws, e);
      CHECK(test::same_net(s.net, rule.initial()));
    }
  }

  TEST_CASE("a student of another shape, or a θ the rule cannot use, is refused with one clear line") {
    const auto o = opts(MetaSgdLearn::both);
    const MetaSgd rule(kTiny, o, Eigen::VectorXd::Zero(26));
    Mlp wide(MlpShape{{2, 4, 1}, Activation::tanh, Activation::linear});
    CHECK(test::error_message([&] { rule.initialize(wide); }) ==
          "rule meta_sgd: the initialization and rates are for 2-3-1 tanh, the student is 2-4-1 tanh");
    CHECK(test::error_message([&] { rule.make_state(wide, 4, RandomStream(1, Purpose::feedback)); }) ==
          "rule meta_sgd: the initialization and rates are for 2-3-1 tanh, the student is 2-4-1 tanh");
    CHECK(test::error_message([&] { MetaSgd(kTiny, o, Eigen::VectorXd::Zero(25)); }) ==
          "theta = 25: must have 26 values for learn: both, rates: parameter on 2-3-1 tanh");
    CHECK(test::error_message([&] { MetaSgd(kTiny, opts(MetaSgdLearn::init), Eigen::VectorXd::Zero(26)); }) ==
          "theta = 26: must have 13 values for learn: init on 2-3-1 tanh");
    Eigen::VectorXd theta = Eigen::VectorXd::Zero(26);
    theta(7) = std::numeric_limits<double>::quiet_NaN();
    CHECK(test::error_message([&] { MetaSgd(kTiny, o, theta); }) == "b0[1] = nan: must be finite");
    theta(7) = 0.0;
    theta(20) = 800.0;
    CHECK(test::error_message([&] { MetaSgd(kTiny, o, theta); }) ==
          "lr_b0[1] = 800: gives a learning rate lr*exp(theta) that is not finite");
    // The evaluator counts such a θ as a divergence: the error is an InvalidValue.
    CHECK_THROWS_AS(meta_sgd_space(kTiny, o)->make(theta), InvalidValue);
    CHECK(test::error_message([&] { meta_sgd_space(kTiny, opts(MetaSgdLearn::both, RateSharing::layer, 0.0)); }) ==
          "lr = 0: must be > 0");
    CHECK(test::error_message([&] { meta_sgd_space(MlpShape{{3}}, o); }) == "rule meta_sgd: the network has no layers");
  }

  TEST_CASE("a study's rule section: type meta_sgd with learn, rates and parameters, round trip, the space it builds") {
    const std::vector<std::string> specs = {
        "type: meta_sgd\nlearn: both\neach: {init: 0, lower: -5, upper: 5}\n",
        "type: meta_sgd\nlearn: init\ninit_seed: 3\ngain: 0.5\neach: {init: 0, lower: -2, upper: 2}\n",
        "type: meta_sgd\nlearn: rates\nrates: layer\nlr: 0.01\neach: {init: 0, lower: -8, upper: 8}\nl1: 1e-4\n",
        "type: meta_sgd\nlearn: both\nrates: parameter\nlr: 0.25\ninit_seed: 1\neach: {init: 0, lower: -3, upper: 3}\n",
    };
    for (const auto& yaml : specs) {
      CAPTURE(yaml);
      const RuleSpec first = load_spec(yaml);
      CHECK(first.array_space());
      const std::string saved = rule_spec_yaml(first);
      CAPTURE(saved);
      const RuleSpec again = load_spec(saved);
      CHECK(again == first);
      CHECK(rule_spec_yaml(again) == saved);
      const auto a = make_rule_space(first, kTiny), b = make_rule_space(again, kTiny);
      CHECK(a->names() == b->names());
      CHECK(a->rule() == "meta_sgd");
      const Eigen::VectorXd theta = test::random_vector(a->dimension(), 4);
      const auto ra = std::dynamic_pointer_cast<const MetaSgd>(a->make(theta));
      const auto rb = std::dynamic_pointer_cast<const MetaSgd>(b->make(theta));
      REQUIRE(ra);
      REQUIRE(rb);
      CHECK(test::same_net(ra->initial(), rb->initial()));
      CHECK(first.init(a->dimension()).isZero());
    }
    const RuleSpec s = load_spec(specs[2]);
    CHECK(s.space.at("learn") == "rates");
    CHECK(s.space.at("rates") == "layer");
    CHECK(s.fixed.at("lr") == 0.01);
    CHECK(s.l1 == 1e-4);
    CHECK(s.lower(4) == Eigen::VectorXd::Constant(4, -8.0));
    const auto space = make_rule_space(s, kTiny);
    CHECK(space->names() == std::vector<std::string>{"lr_W0", "lr_b0", "lr_W1", "lr_b1"});
    const auto rule = std::dynamic_pointer_cast<const MetaSgd>(space->make(Eigen::Vector4d(0.0, 1.0, 0.0, 0.0)));
    REQUIRE(rule);
    CHECK((rule->rates().dW[0].array() == 0.01f).all());
    CHECK((rule->rates().db[0].array() == static_cast<float>(0.01 * std::exp(1.0))).all());
    CHECK(load_spec(specs[0]).space.at("rates") == "parameter");   // the default
    CHECK(load_spec(specs[1]).space.count("rates") == 0);        // learn: init has none
    const auto init_space = make_rule_space(load_spec(specs[1]), kTiny);
    CHECK(init_space->dimension() == 13);
    const auto init_rule = std::dynamic_pointer_cast<const MetaSgd>(init_space->make(Eigen::VectorXd::Zero(13)));
    CHECK(test::same_net(init_rule->initial(), MetaSgd::base_initialization(kTiny, opts(MetaSgdLearn::init, RateSharing::parameter, 1.0, 3, 0.5))));
  }

  TEST_CASE("bad meta_sgd options are file:line:col errors") {
    CHECK(spec_error("type: meta_sgd\nlearn: everything\neach: {init: 0}\n") ==
          "r.yaml:2:8: learn = everything: unknown choice (known: init, rates, both)");
    CHECK(spec_error("type: backprop\nlearn: both\neach: {init: 0}\n") ==
          "r.yaml:2:8: learn = both: rule backprop has no learned initialization or rates (meta_sgd has)");
    CHECK(spec_error("type: meta_sgd\nlearn: both\nrates: neuron\neach: {init: 0}\n") ==
          "r.yaml:3:8: rates = neuron: unknown sharing of the learning rates (known: parameter, layer)");
    CHECK(spec_error("type: meta_sgd\nlearn: init\nrates: layer\neach: {init: 0}\n") ==
          "r.yaml:3:8: rates = layer: learn: init learns no rates (use learn: rates or both)");
    CHECK(spec_error("type: meta_sgd\nrates: layer\neach: {init: 0}\n") ==
          "r.yaml:2:8: rates = layer: needs `learn: rates` or `learn: both`");
    CHECK(spec_error("type: abcd\nrates: layer\neach: {init: 0}\n") ==
          "r.yaml:2:8: rates = layer: rule abcd has no learned rates (meta_sgd has)");
    CHECK(spec_error("type: meta_sgd\nlearn: both\nsharing: layer\neach: {init: 0}\n") ==
          "r.yaml:3:10: sharing = layer: rule meta_sgd has no sharing levels: its rates are per `rates: parameter` or "
          "`layer`");
    CHECK(spec_error("type: meta_sgd\nlearn: both\nterms: all\neach: {init: 0}\n") ==
          "r.yaml:3:8: terms = all: meta_sgd's initialization and rates are an array space: use `each`");
    CHECK(spec_error("type: meta_sgd\nlearn: both\neach: {init: 0, lower: 1, upper: 2}\n") ==
          "r.yaml:3:14: each.init = 0: must be in [1, 2]");
    CHECK(spec_error("type: meta_sgd\nlearn: both\nlr: 0\neach: {init: 0}\n") ==
          "r.yaml:3:5: lr = 0: must be in [1e-12, 1e+06]");
    CHECK(spec_error("type: meta_sgd\nlern: both\neach: {init: 0}\n") ==
          "r.yaml:2:1: lern: unknown key (did you mean 'learn'?)");
  }

  TEST_CASE("determinism: the same θ gives the same learner and the same scores, on any thread count") {
    const auto o = opts(MetaSgdLearn::both, RateSharing::parameter, 0.3, 2);
    const Eigen::VectorXd theta = test::random_vector(26, 21, 0.5);
    const MetaSgd a(kTiny, o, theta), b(kTiny, o, theta);
    CHECK(test::same_net(a.initial(), b.initial()));
    for (int l = 0; l < 2; ++l) CHECK(a.rates().dW[l] == b.rates().dW[l]);

    // Through the evaluator: the fitness of a population is bitwise repeatable, θ = 0 differs
    // from a searched θ, and every member is scored on the same tasks.
    struct Fixed final : TaskFamily {
      std::string name() const override { return "tiny"; }
      // One row, batch 1: the shuffle (keyed by the student's seed) cannot reorder a sum.
      Task sample(std::uint64_t, std::uint64_t, Split) const override { return test::fixed_regression_task(2, 1, {3}, 1); }
    };
    EvaluationSpec spec;
    spec.space = meta_sgd_space(kTiny, o);
    spec.tasks = std::make_shared<Fixed>();
    spec.tasks_per_generation = 3;
    spec.optimizer = OptimizerSpec{.type = "sgd", .lr = 1.0};
    spec.budget.epochs = 5;
    spec.budget.batch = 1;
    const Evaluator evaluator(spec);
    Eigen::MatrixXd population(3, 26);
    population.row(0).setZero();
    population.row(1) = theta.transpose();
    population.row(2) = test::random_vector(26, 22, 0.5).transpose();
    std::vector<CandidateResult> first, second;
    {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
      first = evaluator.evaluate(population, 1, 0, Split::meta_train);
    }
    {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 4);
      second = evaluator.evaluate(population, 1, 0, Split::meta_train);
    }
    for (int m = 0; m < 3; ++m) {
      CAPTURE(m);
      CHECK(first[static_cast<std::size_t>(m)].status == CandidateStatus::ok);
      CHECK(first[static_cast<std::size_t>(m)].fitness == second[static_cast<std::size_t>(m)].fitness);
      CHECK(std::isfinite(first[static_cast<std::size_t>(m)].fitness));
    }
    CHECK(first[0].fitness != first[1].fitness);
    // A learned init means the student's own seed no longer matters: every task scores the same here.
    CHECK(first[1].task_losses[0] == first[1].task_losses[2]);
  }
}
