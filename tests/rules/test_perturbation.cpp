// Weight and node perturbation (rules/weight_perturbation, rules/node_perturbation): their
// estimates average to the backprop gradient at small σ, are unbiased at any σ when the loss
// is quadratic in what they perturb, fill every layer, repeat from a cloned state; and the
// variance argument (rules/perturbation_variance), in the slow suite.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>

#include "lib/train.hpp"
#include "rules/node_perturbation.hpp"
#include "rules/perturbation_variance.hpp"
#include "rules/weight_perturbation.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

double dot(const Gradients& a, const Gradients& b) {
  double s = 0.0;
  for (std::size_t l = 0; l < a.dW.size(); ++l) {
    s += (a.dW[l].cast<double>().array() * b.dW[l].cast<double>().array()).sum();
    s += (a.db[l].cast<double>().array() * b.db[l].cast<double>().array()).sum();
  }
  return s;
}

double cosine(const Gradients& a, const Gradients& b) { return dot(a, b) / std::sqrt(dot(a, a) * dot(b, b)); }

// ‖a − b‖² over every layer.
double squared_distance(const Gradients& a, const Gradients& b) {
  double s = 0.0;
  for (std::size_t l = 0; l < a.dW.size(); ++l)
    s += (a.dW[l] - b.dW[l]).cast<double>().squaredNorm() + (a.db[l] - b.db[l]).cast<double>().squaredNorm();
  return s;
}

struct Averaged {
  Gradients mean;       // mean of the estimates
  double mse = 0.0;     // mean of ‖estimate − exact‖²
};

// `samples` estimates of one batch's gradient by `rule`, their mean and their spread around `exact`.
Averaged average_estimates(const LearningRule& rule, const Mlp& net, const test::Pass& pass, const Matrix& target,
                           const Gradients& exact, int samples, std::uint64_t seed) {
  auto state = rule.make_state(net, pass.cache.capacity(), RandomStream(seed, Purpose::perturbation));
  Averaged a{Gradients::like(net), 0.0};
  for (int k = 0; k < samples; ++k) {
    const Gradients g = test::rule_update(rule, *state, net, pass, target);
    for (std::size_t l = 0; l < g.dW.size(); ++l) {
      a.mean.dW[l] += g.dW[l] / static_cast<float>(samples);
      a.mean.db[l] += g.db[l] / static_cast<float>(samples);
    }
    a.mse += squared_distance(g, exact) / samples;
  }
  return a;
}

struct Estimator {
  std::string name;
  std::shared_ptr<const LearningRule> rule;
};

std::vector<Estimator> estimators(float sigma) {
  return {{"weight_perturbation", std::make_shared<WeightPerturbation>(sigma, false)},
          {"weight_perturbation antithetic", std::make_shared<WeightPerturbation>(sigma, true)},
          {"node_perturbation", std::make_shared<NodePerturbation>(sigma)}};
}

}  // namespace

TEST_SUITE("rules/perturbation") {

TEST_CASE("at small sigma the mean of many estimates is the backprop gradient (tanh net, both losses)") {
  for (Loss loss : {Loss::softmax_cross_entropy, Loss::mse}) {
    CAPTURE(to_string(loss));
    const Mlp net = test::random_mlp({3, 4, 2}, Activation::tanh, Activation::linear, 5);
    const test::Batch batch = test::random_batch(net, loss, 4, 6);
    const test::Pass pass = test::run_forward(net, loss, batch.x, batch.y, 4);
    const Gradients exact = test::exact_gradient(net, pass);
    for (const auto& e : estimators(1e-3f)) {
      CAPTURE(e.name);
      constexpr int kSamples = 20000;
      const Averaged a = average_estimates(*e.rule, net, pass, batch.y, exact, kSamples, 7);
      CHECK(cosine(a.mean, exact) > 0.95);
      // Every layer on its own points the same way, hidden layer included.
      for (int l = 0; l < net.num_layers(); ++l) {
        CAPTURE(l);
        Gradients one = Gradients::like(net), ref = Gradients::like(net);
        one.dW[l] = a.mean.dW[l];
        ref.dW[l] = exact.dW[l];
        CHECK(cosine(one, ref) > 0.9);
      }
      // The remaining error is the estimator's noise: ‖mean − g‖² ≈ E‖ĝ − g‖²/K, no bias on top.
      CHECK(squared_distance(a.mean, exact) < 4.0 * a.mse / kSamples);
    }
  }
}

TEST_CASE("with a loss quadratic in the perturbation (linear net, squared loss) the estimates are unbiased at any sigma") {
  // L(W + ψ) − L(W) = g·ψ + ½ψᵀHψ exactly; the ψ-odd moments vanish, so E[ΔL ψ]/σ² = g even
  // at σ = 0.5, where a nonlinear network's estimate is visibly biased (the control below).
  constexpr int kSamples = 20000;
  const Mlp net = test::random_mlp({3, 2}, Activation::tanh, Activation::linear, 8);
  const test::Batch batch = test::random_batch(net, Loss::mse, 4, 9);
  const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y, 4);
  const Gradients exact = test::exact_gradient(net, pass);
  for (const auto& e : estimators(0.5f)) {
    CAPTURE(e.name);
    const Averaged a = average_estimates(*e.rule, net, pass, batch.y, exact, kSamples, 10);
    const double noise = a.mse / kSamples;   // E‖mean − g‖² of an unbiased estimator
    CAPTURE(noise);
    // The ratio has mean 1 for an unbiased estimator (0.1 to 3.1 over seeds 10 to 15).
    CHECK(squared_distance(a.mean, exact) < 4.0 * noise);
    CHECK(cosine(a.mean, exact) > 0.99);
  }
  {  // Control: a saturating network at large sigma is biased beyond its noise.
    const Mlp deep = test::random_mlp({3, 4, 2}, Activation::tanh, Activation::tanh, 8, 1.5f);
    const test::Batch b = test::random_batch(deep, Loss::mse, 4, 9);
    const test::Pass p = test::run_forward(deep, Loss::mse, b.x, b.y, 4);
    const Gradients g = test::exact_gradient(deep, p);
    const Averaged a = average_estimates(WeightPerturbation(2.0f, false), deep, p, b.y, g, kSamples, 10);
    CHECK(squared_distance(a.mean, g) > 10.0 * a.mse / kSamples);
  }
}

TEST_CASE("every layer gets a finite, well-shaped, non-zero update; the noise repeats from a clone and moves on") {
  const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 11);
  const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 6, 12);
  const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 8);
  for (const auto& e : estimators(1e-2f)) {
    CAPTURE(e.name);
    auto state = e.rule->make_state(net, 8, RandomStream(13, Purpose::feedback));
    auto copy = state->clone();
    const Gradients g = test::rule_update(*e.rule, *state, net, pass, batch.y);
    for (int l = 0; l < net.num_layers(); ++l) {
      CAPTURE(l);
      CHECK(g.dW[l].rows() == net.weight(l).rows());
      CHECK(g.dW[l].cols() == net.weight(l).cols());
      CHECK(g.db[l].size() == net.bias(l).size());
      CHECK(g.dW[l].allFinite());
      CHECK(g.db[l].allFinite());
      CHECK(test::max_abs(g.dW[l]) > 0.0);
      CHECK(test::max_abs(Matrix(g.db[l])) > 0.0);
    }
    const Gradients same = test::rule_update(*e.rule, *copy, net, pass, batch.y);
    const Gradients next = test::rule_update(*e.rule, *state, net, pass, batch.y);
    for (int l = 0; l < net.num_layers(); ++l) {
      CHECK(same.dW[l] == g.dW[l]);
      CHECK(next.dW[l] != g.dW[l]);
    }
  }
}

TEST_CASE("node perturbation's weight update is the outer product of its noise with the clean activity") {
  // Each layer's update lies in the span of the clean inputs h_l: with a batch of one it is
  // rank one, update_l = c ε_lᵀ h_l, so every row is a multiple of h_l.
  const Mlp net = test::random_mlp({4, 5, 3}, Activation::tanh, Activation::linear, 14);
  const test::Batch batch = test::random_batch(net, Loss::mse, 1, 15);
  const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y, 1);
  const NodePerturbation rule(1e-2f);
  auto state = rule.make_state(net, 1, RandomStream(16, Purpose::feedback));
  const Gradients g = test::rule_update(rule, *state, net, pass, batch.y);
  for (int l = 0; l < net.num_layers(); ++l) {
    CAPTURE(l);
    const Matrix h = pass.cache.h(l);
    // dW_l = db_lᵀ h_l exactly (both are c ε_l).
    const Matrix expected = g.db[l].transpose() * h;
    CHECK(test::relative_difference(g.dW[l], expected) < 1e-5);
  }
}

TEST_CASE("without the task's loss (control tasks) a perturbation rule says so") {
  const Mlp net = test::random_mlp({3, 2}, Activation::tanh, Activation::linear, 17);
  const test::Batch batch = test::random_batch(net, Loss::mse, 2, 18);
  const test::Pass pass = test::run_forward(net, Loss::mse, batch.x, batch.y, 2);
  for (const auto& e : estimators(1e-2f)) {
    CAPTURE(e.name);
    auto state = e.rule->make_state(net, 2, RandomStream(19, Purpose::feedback));
    Gradients g = Gradients::like(net);
    const Eigen::Ref<const Matrix> d(pass.delta), t(batch.y);
    const std::string msg =
        test::error_message([&] { e.rule->compute_update(StepSignals{net, pass.cache, d, t, 0}, *state, g); });
    CHECK(msg.find("needs the task's loss") != std::string::npos);
  }
}

TEST_CASE("telemetry golden: the SNR per layer is |g_l|^2 / (N_l |g|^2 + |g_l|^2) for weight perturbation") {
  // Antithetic weight perturbation of a linear net at small σ is ĝ = (g·ε) ε, ε ~ N(0, I) over
  // all N parameters (the even orders cancel, the cubic is negligible). For layer l's N_l
  // weights, E‖ĝ_l − g_l‖² = Σ_{i∈l} E[(g·ε)² ε_i²] − ‖g_l‖² = N_l ‖g‖² + ‖g_l‖² (Isserlis).
  // 4000 draws: the mean noise is known to about 2.2% (one draw's relative sd is about √2).
  const Task task = task_registry().make("linear_teacher", {{"inputs", 4}, {"outputs", 2}, {"train_size", 64}})
                        ->sample(1, 0, Split::meta_train);
  Mlp net = test::random_mlp({4, 3, 2}, Activation::linear, Activation::linear, 21);
  const Matrix x = task.train->x.topRows(16), y = task.train->y.topRows(16);
  const WeightPerturbation wp(1e-3f, true);
  auto state = wp.make_state(net, 16, RandomStream(22, Purpose::perturbation));
  const Telemetry t = probe_telemetry(net, wp, *state, task, x, y, 4000);
  REQUIRE(t.snr.size() == 2);   // hidden layer 1 and the output
  CHECK(t.feedback_angle_deg.empty());
  const test::Pass pass = test::run_forward(net, Loss::mse, x, y, 16);
  const Gradients g = test::exact_gradient(net, pass);
  double all = 0.0;
  for (int l = 0; l < net.num_layers(); ++l)
    all += g.dW[l].cast<double>().squaredNorm() + g.db[l].cast<double>().squaredNorm();
  for (int l = 0; l < net.num_layers(); ++l) {
    CAPTURE(l);
    const double gl = g.dW[l].cast<double>().squaredNorm();
    const double expected = gl / (static_cast<double>(g.dW[l].size()) * all + gl);
    CHECK(t.snr[static_cast<std::size_t>(l)] == doctest::Approx(expected).epsilon(0.1));
  }
}

TEST_CASE("telemetry: the perturbation SNR is finite and positive in training curves, grows with the batch for node "
          "perturbation and with smaller sigma for weight perturbation") {
  // A teacher task, so the batch gradient is mostly the common direction and not the batch's noise.
  const Task task = task_registry().make("mlp_teacher", {{"train_size", 512}, {"test_size", 64}})->sample(2, 0, Split::meta_train);
  StudentSpec spec;
  spec.hidden = {16, 8};
  TrainBudget budget;
  budget.epochs = 1;
  budget.batch = 32;
  for (const auto& e : estimators(1e-2f)) {
    CAPTURE(e.name);
    CHECK(e.rule->estimates_gradient());
    Student s = make_student(task, spec, *e.rule, OptimizerSpec{}, budget.batch, 3);
    const TrainResult r = train(s, *e.rule, task, budget);
    for (const auto& p : r.curve) {
      REQUIRE(p.snr.size() == 3);   // h1, h2 and the output
      for (double v : p.snr) {
        CHECK(std::isfinite(v));
        CHECK(v > 0.0);
      }
      CHECK(p.feedback_angle_deg.empty());
    }
  }
  const Mlp net = make_student(task, spec, NodePerturbation(1e-2f), OptimizerSpec{}, 64, 4).net;
  auto snr = [&](const LearningRule& rule, int rows) {
    auto state = rule.make_state(net, rows, RandomStream(5, Purpose::perturbation));
    return probe_telemetry(net, rule, *state, task, task.train->x.topRows(rows), task.train->y.topRows(rows), 64).snr;
  };
  // Node perturbation: every sample has its own noise, so a batch of 64 averages 8 times as
  // many draws as one of 8 (the ratio would be 8 if the batch gradient did not change).
  const auto small = snr(NodePerturbation(1e-2f), 8), large = snr(NodePerturbation(1e-2f), 64);
  for (std::size_t l = 0; l < small.size(); ++l) {
    CAPTURE(l);
    CHECK(large[l] > 3.0 * small[l]);
  }
  // Weight perturbation: one noise for the whole batch, so the batch does not help; a smaller
  // σ does, on a curved (tanh) network, by removing the second-order term (σ/2) εᵀHε ε.
  const auto coarse = snr(WeightPerturbation(1.0f, false), 32), fine = snr(WeightPerturbation(1e-2f, false), 32);
  for (std::size_t l = 0; l < coarse.size(); ++l) {
    CAPTURE(l);
    CHECK(fine[l] > 2.0 * coarse[l]);
  }
}

TEST_CASE("the variance study rejects bad options and fits power laws") {
  PerturbationVarianceOptions o;
  o.samples = 0;
  CHECK(test::error_message([&] { perturbation_variance(o); }) == "samples = 0: must be >= 1");
  o.samples = 10;
  o.sigma = 0.0;
  CHECK(test::error_message([&] { perturbation_variance(o); }) == "sigma = 0: must be > 0");
  CHECK(loglog_slope({1, 10, 100}, {3, 30, 300}) == doctest::Approx(1.0));
  CHECK(loglog_slope({1, 10, 100}, {2, 2 * std::sqrt(10.0), 20}) == doctest::Approx(0.5));
}

}  // TEST_SUITE

TEST_SUITE("slow") {

TEST_CASE("the variance argument: weight perturbation's error grows with the weights, node perturbation's with the units") {
  // Reproduce: build/tests/plast_tests -ts=slow -tc="*variance argument*"
  std::vector<double> n, m, wp, wpa, np;
  auto table = [&](const char* title, const PerturbationVarianceOptions& o) {
    const auto rows = perturbation_variance(o);
    std::printf("%s (%d single-sample estimates per row, sigma %g)\n", title, o.samples, o.sigma);
    std::printf("  %-9s %7s %5s %12s %12s %12s   (E|g^ - g|^2 / |g|^2; theory N+1, M+1)\n", "shape", "N", "M",
                "WP", "WP antith.", "NP");
    for (const auto& r : rows) {
      std::printf("  %4dx%-4d %7ld %5ld %12.1f %12.1f %12.2f\n", r.inputs, r.outputs, r.parameters, r.units,
                  r.weight_perturbation, r.weight_perturbation_antithetic, r.node_perturbation);
    }
    return rows;
  };
  PerturbationVarianceOptions square;   // n x n linear students, N = n² + n from 12 to 10,100
  square.samples = 2000;
  square.shapes = {{3, 3}, {5, 5}, {10, 10}, {20, 20}, {50, 50}, {100, 100}};
  for (const auto& r : table("square linear students n x n", square)) {
    n.push_back(static_cast<double>(r.parameters));
    m.push_back(static_cast<double>(r.units));
    wp.push_back(r.weight_perturbation);
    wpa.push_back(r.weight_perturbation_antithetic);
    np.push_back(r.node_perturbation);
  }
  const double wp_slope = loglog_slope(n, wp), wpa_slope = loglog_slope(n, wpa);
  const double np_slope_units = loglog_slope(m, np), np_slope_weights = loglog_slope(n, np);
  std::printf("  log-log slopes: WP vs N %.3f, WP antithetic vs N %.3f, NP vs M %.3f, NP vs N %.3f\n", wp_slope,
              wpa_slope, np_slope_units, np_slope_weights);
  CHECK(std::abs(wp_slope - 1.0) < 0.15);
  CHECK(std::abs(wpa_slope - 1.0) < 0.15);
  CHECK(std::abs(np_slope_units - 1.0) < 0.15);
  CHECK(std::abs(np_slope_weights - 0.5) < 0.1);
  // The theory's constant too: E‖ĝ − g‖²/‖g‖² = N + 1 (WP), M + 1 (NP), within sampling error.
  for (std::size_t i = 0; i < n.size(); ++i) {
    CAPTURE(n[i]);
    CHECK(wp[i] / (n[i] + 1) == doctest::Approx(1.0).epsilon(0.25));
    CHECK(np[i] / (m[i] + 1) == doctest::Approx(1.0).epsilon(0.25));
  }

  // Fan-in alone: 4 output units fed by 10 to 1,000 inputs. WP pays for every weight, NP
  // (which perturbs only the 4 units) does not.
  PerturbationVarianceOptions fan_in;
  fan_in.samples = 2000;
  fan_in.shapes = {{10, 4}, {30, 4}, {100, 4}, {300, 4}, {1000, 4}};
  std::vector<double> n2, wp2, np2;
  for (const auto& r : table("fan-in sweep, 4 output units", fan_in)) {
    n2.push_back(static_cast<double>(r.parameters));
    wp2.push_back(r.weight_perturbation);
    np2.push_back(r.node_perturbation);
  }
  const double wp_fan = loglog_slope(n2, wp2), np_fan = loglog_slope(n2, np2);
  std::printf("  log-log slopes: WP vs N %.3f, NP vs N %.3f\n", wp_fan, np_fan);
  CHECK(std::abs(wp_fan - 1.0) < 0.15);
  CHECK(std::abs(np_fan) < 0.15);
}

}  // TEST_SUITE
