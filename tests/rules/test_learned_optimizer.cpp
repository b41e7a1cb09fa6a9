// The learned optimizer (rules/learned_optimizer.hpp; Andrychowicz et al. 2016, Metz et al.
// 2019/2020): θ = 0 reduces to plain SGD (bitwise) and to Adam (to float rounding), golden
// values of the per-parameter function by hand, the three traces and the MLP of the vectorized
// update against a double-precision scalar reference over several steps, one θ for any student
// width, the study's `rule:` section (terms: all) with its YAML round trip and file:line:col
// errors, and determinism of scores across thread counts.
#include <doctest/doctest.h>
#include <tbb/global_control.h>
#include <tbb/parallel_for.h>

#include <array>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "lib/error.hpp"
#include "lib/store.hpp"
#include "lib/train.hpp"
#include "rules/learned_optimizer.hpp"
#include "rules/registry.hpp"
#include "rules/rule_space.hpp"
#include "search/evaluator.hpp"
#include "search/registry.hpp"
#include "search/rule_spec.hpp"
#include "search/study.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

using Theta = Eigen::VectorXd;
constexpr int kDim = LearnedOptimizer::kDimension;

LearnedOptimizerOptions opts(int base, double lr = 1.0) {
  LearnedOptimizerOptions o;
  o.base = base;
  o.lr = lr;
  return o;
}

Theta random_theta(std::uint64_t seed, double scale) {
  RandomStream rng(seed, Purpose::probe);
  Theta t(kDim);
  for (int k = 0; k < kDim; ++k) t(k) = scale * (2.0 * rng.uniform_double() - 1.0);
  return t;
}

int index_of(const std::string& name) {
  const auto& n = LearnedOptimizer::names();
  for (std::size_t k = 0; k < n.size(); ++k)
    if (n[k] == name) return static_cast<int>(k);
  FAIL("no coefficient " << name);
  return -1;
}

// θ whose MLP input weights W̄ + θ_W equal `w_in` (so hand-checked cases do not depend on W̄).
Theta with_input_weights(Theta theta, const Eigen::Matrix<float, 8, 7>& w_in, std::uint64_t init_seed = 0) {
  const auto base = LearnedOptimizer::base_input_weights(init_seed);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 7; ++j) theta(8 + 7 * i + j) = static_cast<double>(w_in(i, j)) - static_cast<double>(base(i, j));
  return theta;
}

Mlp trained(const LearningRule& rule, const OptimizerSpec& optimizer, int epochs) {
  const Task task = test::fixed_regression_task(3, 2, {4}, 16);
  StudentSpec spec;
  spec.hidden = {4};
  Student s = make_student(task, spec, rule, optimizer, 4, 7);
  TrainBudget budget;
  budget.epochs = epochs;
  budget.batch = 4;
  budget.alignment = false;
  train(s, rule, task, budget);
  return s.net;
}

RuleSpec load_spec(const std::string& yaml) { return read_rule_spec(ConfigNode::load_string(yaml, "r.yaml")); }
std::string spec_error(const std::string& yaml) {
  return test::error_message([&] { load_spec(yaml); });
}

}  // namespace

TEST_SUITE("rules/learned_optimizer") {
  TEST_CASE("θ has 88 named coefficients, the registered rule's coefficients in the same order") {
    const auto& n = LearnedOptimizer::names();
    REQUIRE(n.size() == 88);
    CHECK(kDim == 88);
    CHECK(n[0] == "dir_g");
    CHECK(n[3] == "dir_w");
    CHECK(n[4] == "log_lr");
    CHECK(n[7] == "log_lr_t1000");
    CHECK(n[8] == "mlp_in[0][g]");
    CHECK(n[14] == "mlp_in[0][t1000]");
    CHECK(n[15] == "mlp_in[1][g]");
    CHECK(n[63] == "mlp_in[7][t1000]");
    CHECK(n[64] == "mlp_bias[0]");
    CHECK(n[72] == "mlp_dir[0]");
    CHECK(n[87] == "mlp_mag[7]");
    std::vector<std::string> coefficients;
    for (const auto& p : rule_registry().get("learned_optimizer").params)
      if (p.coefficient) coefficients.push_back(p.name);
    CHECK(coefficients == n);
    // The registered entry is θ = 0 with base 1 (Adam).
    const auto rule = rule_registry().make("learned_optimizer");
    const auto& lo = dynamic_cast<const LearnedOptimizer&>(*rule);
    CHECK(lo.options().base == 1);
    CHECK(lo.update_of(0.3, {0.5, -0.7, 0.2, 1.5}, 1) == doctest::Approx(-0.7).epsilon(1e-12));
  }

  TEST_CASE("golden values of the per-parameter function, by hand") {
    // One hidden unit reads only g/ρ: h_0 = tanh(x_0); the others get zero input and bias (h = 0).
    Eigen::Matrix<float, 8, 7> w_in = Eigen::Matrix<float, 8, 7>::Zero();
    w_in(0, 0) = 1.0f;
    Theta theta = with_input_weights(Theta::Zero(kDim), w_in);
    theta(index_of("dir_g")) = 2.0;
    theta(index_of("dir_w")) = -1.0;
    theta(index_of("log_lr")) = std::log(2.0);
    theta(index_of("mlp_dir[0]")) = 1.0;
    const std::array<double, 4> x{0.5, 1.0, -2.0, 0.25};   // g/ρ, m̂_f/ρ, m̂_s/ρ, w
    {
      // base 1: d = m̂_f/ρ + 2·0.5 − 0.25 + tanh(0.5) = 1.75 + 0.46211715726 = 2.21211715726; s = ln 2.
      const LearnedOptimizer rule(opts(1), theta);
      CHECK(rule.update_of(9.0, x, 1) == doctest::Approx(2.0 * 2.21211715726).epsilon(1e-7));
    }
    {
      // base 0: d = g + 0.75 + tanh(0.5) with g = 9 (the raw gradient): 10.21211715726; lr 0.5.
      const LearnedOptimizer rule(opts(0, 0.5), theta);
      CHECK(rule.update_of(9.0, x, 1) == doctest::Approx(0.5 * 2.0 * 10.21211715726).epsilon(1e-7));
    }
    {
      // Time features: s = log_lr_t100 · tanh(t/100) + mlp_mag[0]·h_0 with h_0 = tanh(0.5 + 1·tanh(t/10)).
      Eigen::Matrix<float, 8, 7> w = Eigen::Matrix<float, 8, 7>::Zero();
      w(0, 0) = 1.0f;
      w(0, 4) = 1.0f;
      Theta t2 = with_input_weights(Theta::Zero(kDim), w);
      t2(index_of("log_lr_t100")) = 1.0;
      t2(index_of("mlp_mag[0]")) = -0.5;
      const LearnedOptimizer rule(opts(1), t2);
      const double h = std::tanh(0.5 + std::tanh(3.0));   // t = 30
      CHECK(rule.update_of(9.0, x, 30) == doctest::Approx(1.0 * std::exp(std::tanh(0.3) - 0.5 * h)).epsilon(1e-7));
    }
    {
      // The log step is clamped to ±10.
      Theta t3 = Theta::Zero(kDim);
      t3(index_of("log_lr")) = 100.0;
      const LearnedOptimizer rule(opts(1), t3);
      CHECK(rule.update_of(0.0, x, 1) == doctest::Approx(std::exp(10.0)).epsilon(1e-12));
    }
  }

  TEST_CASE("the first Adam step (θ = 0, base 1) is sign(g) per parameter; base 0 returns g itself") {
    const Mlp net = test::random_mlp({3, 5, 2}, Activation::tanh, Activation::linear, 3);
    const test::Batch batch = test::random_batch(net, Loss::mse, 6, 4);
    const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y);
    const Gradients g = test::exact_gradient(net, pass);
    const LearnedOptimizer adam(opts(1), Theta::Zero(kDim)), sgd(opts(0), Theta::Zero(kDim));
    auto s1 = adam.make_state(net, 6, RandomStream(1, Purpose::feedback));
    auto s0 = sgd.make_state(net, 6, RandomStream(1, Purpose::feedback));
    const Gradients u1 = test::rule_update(adam, *s1, net, pass, batch.y);
    const Gradients u0 = test::rule_update(sgd, *s0, net, pass, batch.y);
    for (int l = 0; l < 2; ++l) {
      CHECK((u0.dW[l].array() == g.dW[l].array()).all());
      CHECK((u0.db[l].array() == g.db[l].array()).all());
      for (Eigen::Index k = 0; k < g.dW[l].size(); ++k) {
        const float gk = g.dW[l].data()[k];
        CHECK(u1.dW[l].data()[k] == doctest::Approx(gk > 0 ? 1.0 : -1.0).epsilon(1e-5));
      }
    }
  }

  TEST_CASE("θ = 0, base 0 with optimizer sgd trains exactly as backprop with sgd (bitwise)") {
    const auto backprop = rule_registry().make("backprop");
    const LearnedOptimizer rule(opts(0), Theta::Zero(kDim));
    const OptimizerSpec sgd{.type = "sgd", .lr = 0.1};
    const Mlp a = trained(*backprop, sgd, 4), b = trained(rule, sgd, 4);
    for (int l = 0; l < a.num_layers(); ++l) {
      CHECK((a.weight(l).array() == b.weight(l).array()).all());
      CHECK((a.bias(l).array() == b.bias(l).array()).all());
    }
    // ... and lr 0.5 with log_lr = ln 2 is the same step size again (to rounding).
    Theta t = Theta::Zero(kDim);
    t(index_of("log_lr")) = std::log(2.0);
    const LearnedOptimizer half(opts(0, 0.5), t);
    const Mlp c = trained(half, sgd, 4);
    for (int l = 0; l < a.num_layers(); ++l) CHECK((a.weight(l) - c.weight(l)).cwiseAbs().maxCoeff() < 1e-6f);
  }

  TEST_CASE("θ = 0, base 1 with optimizer sgd at rate η trains as backprop with Adam at η (to float rounding)") {
    const auto backprop = rule_registry().make("backprop");
    const LearnedOptimizer rule(opts(1), Theta::Zero(kDim));
    OptimizerSpec adam{.type = "adam", .lr = 0.01};
    const Mlp a = trained(*backprop, adam, 5), b = trained(rule, OptimizerSpec{.type = "sgd", .lr = 0.01}, 5);
    const Mlp start = trained(*backprop, adam, 1);   // 16 more steps of size ≈ η apart: not a vacuous check
    for (int l = 0; l < a.num_layers(); ++l) {
      CAPTURE(l);
      CHECK((a.weight(l) - b.weight(l)).cwiseAbs().maxCoeff() < 2e-6f);
      CHECK((a.bias(l) - b.bias(l)).cwiseAbs().maxCoeff() < 2e-6f);
      CHECK((a.weight(l) - start.weight(l)).cwiseAbs().maxCoeff() > 0.01f);
    }
  }

  TEST_CASE("traces, features and the MLP of the vectorized update match a double-precision reference over 5 steps") {
    // 3-70-2: layer 0 has 210 weights, so blocks of 64 and a tail are both exercised.
    const Mlp net = test::random_mlp({3, 70, 2}, Activation::tanh, Activation::linear, 11);
    for (int base : {0, 1}) {
      CAPTURE(base);
      const LearnedOptimizerOptions o = opts(base, 0.7);
      const LearnedOptimizer rule(o, random_theta(20 + static_cast<std::uint64_t>(base), 0.6));
      auto state = rule.make_state(net, 8, RandomStream(1, Purpose::feedback));
      std::vector<std::vector<double>> mf(4), ms(4), v(4);   // dW0, db0, dW1, db1 as flat arrays
      for (int t = 1; t <= 5; ++t) {
        CAPTURE(t);
        const test::Batch batch = test::random_batch(net, Loss::mse, 8, 100 + static_cast<std::uint64_t>(t));
        const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y);
        const Gradients g = test::exact_gradient(net, pass);
        const Gradients u = test::rule_update(rule, *state, net, pass, batch.y);
        const double cf = 1 - std::pow(0.9, t), cs = 1 - std::pow(0.99, t), cv = 1 - std::pow(0.999, t);
        double worst = 0.0;
        for (int part = 0; part < 4; ++part) {
          const int l = part / 2;
          const bool bias = part % 2 == 1;
          const float* gp = bias ? g.db[l].data() : g.dW[l].data();
          const float* up = bias ? u.db[l].data() : u.dW[l].data();
          const float* wp = bias ? net.bias(l).data() : net.weight(l).data();
          const Eigen::Index n = bias ? g.db[l].size() : g.dW[l].size();
          auto& f = mf[static_cast<std::size_t>(part)];
          auto& s = ms[static_cast<std::size_t>(part)];
          auto& q = v[static_cast<std::size_t>(part)];
          f.resize(static_cast<std::size_t>(n));
          s.resize(static_cast<std::size_t>(n));
          q.resize(static_cast<std::size_t>(n));
          double err = 0.0, scale = 0.0;   // max |u − expected| relative to the tensor's largest update
          for (Eigen::Index k = 0; k < n; ++k) {
            const auto K = static_cast<std::size_t>(k);
            const double gk = gp[k];
            f[K] = 0.9 * f[K] + 0.1 * gk;
            s[K] = 0.99 * s[K] + 0.01 * gk;
            q[K] = 0.999 * q[K] + 0.001 * gk * gk;
            const double rho = std::sqrt(q[K] / cv) + 1e-8;
            const double expected = rule.update_of(gk, {gk / rho, f[K] / cf / rho, s[K] / cs / rho, wp[k]}, t);
            err = std::max(err, std::abs(up[k] - expected));
            scale = std::max(scale, std::abs(expected));
          }
          worst = std::max(worst, err / scale);
        }
        CHECK(worst < 1e-4);   // float32 features, Eigen's vectorized tanh and exp: a few 1e-5
      }
      // A clone carries the traces: the next update from a clone equals the original's.
      auto copy = state->clone();
      const test::Batch batch = test::random_batch(net, Loss::mse, 8, 200);
      const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y);
      const Gradients a = test::rule_update(rule, *state, net, pass, batch.y);
      const Gradients b = test::rule_update(rule, *copy, net, pass, batch.y);
      CHECK(a.dW[0] == b.dW[0]);
    }
  }

  TEST_CASE("one θ runs on any student width (per-parameter and shared)") {
    const RuleSpec spec = load_spec("type: learned_optimizer\nterms: all\neach: {init: 0, lower: -3, upper: 3}\n");
    const MlpShape narrow{{4, 6, 2}, Activation::tanh, Activation::linear};
    const MlpShape wide{{4, 60, 2}, Activation::tanh, Activation::linear};
    const auto a = make_rule_space(spec, narrow), b = make_rule_space(spec, wide);
    CHECK(a->dimension() == 88);
    CHECK(b->dimension() == 88);
    CHECK(a->names() == LearnedOptimizer::names());
    CHECK(a->rule() == "learned_optimizer");
    const auto rule = a->make(random_theta(5, 0.5));
    for (int width : {6, 60, 300}) {
      CAPTURE(width);
      const Mlp net = test::random_mlp({4, width, 2}, Activation::tanh, Activation::linear, 9);
      const test::Batch batch = test::random_batch(net, Loss::mse, 5, 10);
      const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y);
      auto state = rule->make_state(net, 5, RandomStream(1, Purpose::feedback));
      CHECK(test::rule_update(*rule, *state, net, pass, batch.y).all_finite());
    }
  }

  TEST_CASE("a study's rule section: terms all (or a list) and search, YAML round trip") {
    const RuleSpec s = load_spec(
        "type: learned_optimizer\nbase: 0\nlr: 0.5\nterms: all\neach: {init: 0, lower: -2, upper: 2}\n"
        "search:\n  log_lr: {init: 0.5, lower: -6, upper: 6}\nl1: 0.001\n");
    CHECK(s.type == "learned_optimizer");
    REQUIRE(s.searched.size() == 88);
    CHECK(s.searched[4] == SearchedParam{"log_lr", 0.5, -6, 6});
    CHECK(s.searched[0] == SearchedParam{"dir_g", 0, -2, 2});
    CHECK(s.fixed.at("base") == 0.0);
    CHECK(s.fixed.at("lr") == 0.5);
    const RuleSpec again = load_spec(rule_spec_yaml(s));
    CHECK(again == s);
    // The space's θ = init gives base 0 at lr 0.5 with log_lr 0.5.
    const auto space = make_rule_space(s, MlpShape{{2, 3, 1}, Activation::tanh, Activation::linear});
    const auto rule = space->make(s.init(88));
    const auto& lo = dynamic_cast<const LearnedOptimizer&>(*rule);
    CHECK(lo.options().base == 0);
    CHECK(lo.update_of(2.0, {0, 0, 0, 0}, 1) == doctest::Approx(0.5 * std::exp(0.5) * 2.0).epsilon(1e-7));
    // A subset: only the linear part searched.
    const RuleSpec lin = load_spec("type: learned_optimizer\nterms: [dir_g, dir_m_fast, log_lr]\neach: {init: 0}\n");
    CHECK(lin.searched.size() == 3);
    CHECK(load_spec(rule_spec_yaml(lin)) == lin);
  }

  TEST_CASE("bad learned_optimizer specs are file:line:col errors") {
    CHECK(spec_error("type: learned_optimizer\nterms: [dir_gg]\neach: {init: 0}\n") ==
          "r.yaml:2:9: terms[0] = dir_gg: unknown term (did you mean 'dir_g'?)");
    CHECK(spec_error("type: learned_optimizer\nbase: 2\nterms: all\neach: {init: 0}\n") ==
          "r.yaml:2:7: base = 2: must be in [0, 1]");
    CHECK(spec_error("type: learned_optimizer\nterms: [lr]\neach: {init: 0}\n") ==
          "r.yaml:2:9: terms[0] = lr: not a coefficient of rule learned_optimizer (search it under `search:`)");
    CHECK(spec_error("type: learned_optimizer\nterms: all\neach: {init: 0, lower: -200}\n") ==
          "r.yaml:3:24: each.lower = -200: must be in [-100, 100]");
    // In a study file: the file's own name, line and column.
    const std::string path = std::string(PLAST_TEST_DATA) + "/yaml/learned_optimizer_bad_beta.yaml";
    CHECK(test::error_message([&] { load_study(path); }) ==
          path + ":9:14: rule.beta_slow = 1: must be in [0, 0.9999]");
  }

  TEST_CASE("determinism: scores of a population are bitwise equal on 1 and 4 threads, and the students are too") {
    const RuleSpec rs = load_spec("type: learned_optimizer\nterms: all\neach: {init: 0, lower: -3, upper: 3}\n");
    EvaluationSpec spec;
    spec.space = make_rule_space(rs, MlpShape{});
    spec.tasks = task_registry().make(
        "mlp_teacher", {{"inputs", 4}, {"outputs", 2}, {"teacher_width", 3}, {"train_size", 96}, {"test_size", 32}});
    spec.tasks_per_generation = 3;
    spec.student = {.spec = {.hidden = {6}}, .hidden_given = true, .activation_given = true};
    spec.optimizer = OptimizerSpec{.type = "sgd", .lr = 0.01};
    spec.budget.epochs = 2;
    spec.budget.batch = 8;
    spec.budget.alignment = false;
    const Evaluator evaluator(spec);
    Eigen::MatrixXd population(3, kDim);
    population.row(0).setZero();
    population.row(1) = random_theta(1, 0.5).transpose();
    population.row(2) = random_theta(2, 0.5).transpose();
    std::vector<CandidateResult> first, second;
    {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
      first = evaluator.evaluate(population, 3, 0, Split::meta_train);
    }
    {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 4);
      second = evaluator.evaluate(population, 3, 0, Split::meta_train);
    }
    for (std::size_t m = 0; m < 3; ++m) {
      CAPTURE(m);
      CHECK(first[m].status == CandidateStatus::ok);
      CHECK(std::isfinite(first[m].fitness));
      CHECK(first[m].fitness == second[m].fitness);
      CHECK(first[m].task_losses == second[m].task_losses);
    }
    CHECK(first[0].fitness != first[1].fitness);

    // The same student trained on four threads at once and on this one.
    const LearnedOptimizer rule(opts(1), random_theta(3, 0.5));
    std::vector<Mlp> nets(4);
    tbb::parallel_for(0, 4, [&](int i) { nets[static_cast<std::size_t>(i)] = trained(rule, spec.optimizer, 3); });
    const Mlp here = trained(rule, spec.optimizer, 3);
    for (const auto& net : nets)
      for (int l = 0; l < here.num_layers(); ++l) CHECK((net.weight(l).array() == here.weight(l).array()).all());
  }

  TEST_CASE("options out of range and θ of the wrong size or non-finite are refused with one line") {
    CHECK(test::error_message([] { LearnedOptimizer(opts(1), Theta::Zero(87)); }) ==
          "theta = 87: must have 88 values");
    Theta bad = Theta::Zero(kDim);
    bad(72) = std::nan("");
    CHECK(test::error_message([&] { LearnedOptimizer(opts(1), bad); }) == "mlp_dir[0] = nan: must be finite");
    CHECK(test::error_message([] { LearnedOptimizer(opts(2), Theta::Zero(kDim)); }) ==
          "base = 2: must be 0 (sgd) or 1 (adam)");
    CHECK(test::error_message([] { rule_registry().make("learned_optimizer", {{"beta_fast", 1.0}}); }) ==
          "beta_fast = 1: must be in [0, 0.9999]");
  }
}

// measured (studies/README.md, "Learned optimizer"): the learned optimizer of a
// finished studies/learned-optimizer.yaml store (the search distribution's final mean θ, as
// `plast inspect --theta mean`) against backprop with SGD and with Adam, each rate tuned by the
// mean final loss on 50 meta-train tasks (never held-out ones) over one grid, then all three
// scored on the same 20 held-out tasks: median, mean and the number of tasks won, on the
// meta-training student width and on a wider one (and Adam with a tuned rate and cosine decay). Reads PLAST_LO_STORE (default
// out/learned-optimizer.sqlite) and PLAST_LO_WIDTHS (default "40,160"); without the store it
// only says so. The same numbers as `plast inspect --theta mean --held-out 20 --references
// backprop/sgd,backprop/adam --tune-lr GRID [--student-hidden W]` with GRID the one below, plus the
// per-task wins.
TEST_SUITE("slow") {
  TEST_CASE("learned optimizer vs SGD and Adam with tuned rates on 20 held-out mlp_teacher tasks") {
    const char* env = std::getenv("PLAST_LO_STORE");
    const std::string path = env ? env : "out/learned-optimizer.sqlite";
    if (!std::ifstream(path)) {
      MESSAGE("no store " << path << ": run build/plast run studies/learned-optimizer.yaml first");
      return;
    }
    const Store store = Store::open(path);
    const auto checkpoint = store.checkpoint();
    REQUIRE(checkpoint.has_value());
    StudySpec spec = load_study(ConfigNode::load_string(store.study().yaml, path + " (stored study)"));
    const auto strategy = strategy_registry().make(spec.strategy, spec.strategy_params);
    const Eigen::VectorXd theta =
        strategy->mean(strategy->load(checkpoint->strategy_state)).cwiseMax(spec.lower).cwiseMin(spec.upper);
    const auto learned = spec.evaluation.space->make(theta);
    const std::vector<double> grid{0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0};
    std::vector<int> widths{40, 160};
    if (const char* w = std::getenv("PLAST_LO_WIDTHS")) {
      widths.clear();
      for (std::string s = w; !s.empty();) {
        const auto comma = s.find(',');
        widths.push_back(std::stoi(s.substr(0, comma)));
        s = comma == std::string::npos ? "" : s.substr(comma + 1);
      }
    }
    spec.held_out = 20;
    for (int width : widths) {
      spec.evaluation.student.spec.hidden = {width};
      spec.evaluation.student.hidden_given = spec.evaluation.student.activation_given = true;
      const HeldOut mine = held_out(spec, learned, spec.held_out);
      std::string line = path + "  width " + std::to_string(width) + ": learned median " + std::to_string(mine.median) +
                         " mean " + std::to_string(mine.loss);
      // Adam with cosine decay to zero over the run (Loshchilov & Hutter 2017) as well: the learned
      // optimizer has a learned schedule, so a baseline with a schedule shows what is left.
      for (const std::string opt : {"sgd", "adam", "adam+cosine"}) {
        StudySpec s = spec;
        s.evaluation.optimizer = OptimizerSpec{.type = opt == "sgd" ? "sgd" : "adam", .lr = grid.front(),
                                               .schedule = opt == "adam+cosine" ? "cosine" : "constant"};
        const auto backprop = rule_registry().make("backprop");
        double best = std::numeric_limits<double>::infinity(), chosen = grid.front();
        for (double lr : grid) {
          s.evaluation.optimizer.lr = lr;
          const double loss = score_on(s, backprop, 50, Split::meta_train).loss;
          if (loss < best) {
            best = loss;
            chosen = lr;
          }
        }
        s.evaluation.optimizer.lr = chosen;
        const HeldOut ref = held_out(s, backprop, s.held_out);
        int wins = 0;
        for (std::size_t k = 0; k < ref.task_losses.size(); ++k) wins += mine.task_losses[k] < ref.task_losses[k];
        line += " | " + opt + " (lr " + std::to_string(chosen) + ") median " + std::to_string(ref.median) + " mean " +
                std::to_string(ref.loss) + ", learned wins " + std::to_string(wins) + "/" +
                std::to_string(ref.task_losses.size());
      }
      MESSAGE(line);
      CHECK(std::isfinite(mine.median));
    }
  }
}
