// Persistent, truncated and full-unroll ES on unrolled computation graphs (search/pes.hpp).
//
// The toy problem: θ = log η, the learning rate of 100 steps of gradient
// descent (full-batch SGD) on the ill-conditioned quadratic f(x) = ½(x₁² + 0.1 x₂²) from
// x₀ = (1, 1); the meta-loss is the sum of the losses after every step, Σ_{t=1}^{100} f(x_t),
// and the truncation is 10 steps. A quadratic with a learned learning rate is the setting of
// Wu et al. 2018 ("Understanding short-horizon bias in stochastic meta-optimization", ICLR;
// their noisy quadratic, here without noise so that the exact derivative is known); Vicol et al.
// 2021 show the same truncation bias on influence balancing and on learning-rate tuning. At
// η = 0.1 the slow direction (h = 0.1) still carries loss at step 100, and a larger η lowers
// every later window's starting point, which truncated ES cannot see: its mean is about half
// the true derivative.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "lib/error.hpp"
#include "search/pes.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

struct QuadraticState final : UnrollState {
  Eigen::Vector2d x;
  long steps_done = 0;
  std::unique_ptr<UnrollState> clone() const override { return std::make_unique<QuadraticState>(*this); }
};

// Gradient descent on f(x) = ½ Σ h_i x_i². θ is log η (one entry: one learning rate) or one
// log learning rate per coordinate (two entries).
class QuadraticLr final : public UnrolledSystem {
 public:
  static constexpr long kHorizon = 100;
  const Eigen::Vector2d h{1.0, 0.1};
  const Eigen::Vector2d x0{1.0, 1.0};

  long horizon() const override { return kHorizon; }
  std::unique_ptr<UnrollState> initial_state(std::uint64_t, std::uint64_t) const override {
    auto s = std::make_unique<QuadraticState>();
    s->x = x0;
    return s;
  }
  double unroll(UnrollState& state, const Eigen::VectorXd& theta, long first, long steps) const override {
    auto& s = static_cast<QuadraticState&>(state);
    if (first != s.steps_done) throw std::logic_error("a particle's state did not persist");
    const Eigen::Vector2d eta = theta.size() == 1 ? Eigen::Vector2d::Constant(std::exp(theta(0)))
                                                  : Eigen::Vector2d(theta.array().exp());
    double loss = 0.0;
    for (long t = 0; t < steps; ++t) {
      s.x -= (eta.array() * h.array() * s.x.array()).matrix();
      loss += 0.5 * (h.array() * s.x.array().square()).sum();
    }
    s.steps_done += steps;
    return loss;
  }

  // The meta-loss of the whole unroll, and of one window from a given start (for the
  // derivative that truncated ES estimates).
  double total(const Eigen::VectorXd& theta) const {
    QuadraticState s;
    s.x = x0;
    return unroll(s, theta, 0, kHorizon);
  }
  // ∂/∂θ Σ_t f(x_t) by central finite differences of the full unroll (double precision).
  Eigen::VectorXd exact_gradient(const Eigen::VectorXd& theta) const {
    Eigen::VectorXd g(theta.size());
    for (Eigen::Index i = 0; i < theta.size(); ++i) {
      Eigen::VectorXd a = theta, b = theta;
      a(i) += 1e-6;
      b(i) -= 1e-6;
      g(i) = (total(a) - total(b)) / 2e-6;
    }
    return g;
  }
  // The closed form for one shared η: Σ_t Σ_i ½ h_i x0_i² (1 − η h_i)^{2t}, differentiated in log η.
  double closed_form_gradient(double theta) const {
    const double eta = std::exp(theta);
    double g = 0.0;
    for (long t = 1; t <= kHorizon; ++t)
      for (int i = 0; i < 2; ++i)
        g += 0.5 * h(i) * x0(i) * x0(i) * 2.0 * static_cast<double>(t) * std::pow(1.0 - eta * h(i), 2 * t - 1) *
             (-h(i) * eta);
    return g;
  }
  // What truncated ES estimates for small σ: the derivative of each 10-step window's loss with
  // its start state held fixed, summed over the windows.
  double window_local_gradient(double theta, long window) const {
    Eigen::VectorXd th(1), a(1), b(1);
    th << theta;
    a << theta + 1e-6;
    b << theta - 1e-6;
    QuadraticState s;
    s.x = x0;
    double g = 0.0;
    for (long first = 0; first < kHorizon; first += window) {
      QuadraticState sa = s, sb = s;
      g += (unroll(sa, a, first, window) - unroll(sb, b, first, window)) / 2e-6;
      unroll(s, th, first, window);
    }
    return g;
  }
};

struct MeanSe {
  Eigen::VectorXd mean, se;
};

// Mean and standard error of the whole-problem estimates over `episodes` inner problems.
MeanSe measure(const UnrolledSystem& system, const Eigen::VectorXd& theta, UnrolledEsOptions options, int episodes,
               std::uint64_t seed) {
  UnrolledEs es(system, theta.size(), options, seed);
  Eigen::MatrixXd samples(episodes, theta.size());
  for (int r = 0; r < episodes; ++r) samples.row(r) = es.episode_gradient(theta).transpose();
  MeanSe m;
  m.mean = samples.colwise().mean().transpose();
  const Eigen::MatrixXd centred = samples.rowwise() - m.mean.transpose();
  m.se = (centred.colwise().squaredNorm().array() / (episodes - 1.0) / episodes).sqrt().matrix().transpose();
  return m;
}

UnrolledEsOptions options(EsVariant v, int pairs = 4, double sigma = 0.01, long truncation = 10) {
  UnrolledEsOptions o;
  o.variant = v;
  o.pairs = pairs;
  o.sigma = sigma;
  o.truncation = truncation;
  return o;
}

}  // namespace

TEST_SUITE("search/pes") {

TEST_CASE("the toy problem's exact derivative: finite differences of the full unroll match the closed form") {
  const QuadraticLr system;
  const double theta = std::log(0.1);
  const double closed = system.closed_form_gradient(theta);
  CHECK(system.exact_gradient(Eigen::VectorXd::Constant(1, theta))(0) == doctest::Approx(closed).epsilon(1e-6));
  // The truncation bias is large here: the window-local derivative is about half the true one.
  CHECK(closed == doctest::Approx(-3.9915).epsilon(1e-4));
  CHECK(system.window_local_gradient(theta, 10) == doctest::Approx(-2.0673).epsilon(1e-4));
}

TEST_CASE("PES's mean gradient matches full-unroll ES and the exact derivative; truncated ES is biased (100 steps, truncation 10)") {
  const QuadraticLr system;
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, std::log(0.1));
  const double exact = system.exact_gradient(theta)(0);
  constexpr int kEpisodes = 2000;   // × 4 antithetic pairs each
  const MeanSe pes = measure(system, theta, options(EsVariant::persistent), kEpisodes, 1);
  const MeanSe tes = measure(system, theta, options(EsVariant::truncated), kEpisodes, 2);
  const MeanSe full = measure(system, theta, options(EsVariant::full), kEpisodes, 3);
  MESSAGE("exact " << exact << "; PES " << pes.mean(0) << " ± " << pes.se(0) << "; full-unroll ES " << full.mean(0)
                   << " ± " << full.se(0) << "; truncated ES " << tes.mean(0) << " ± " << tes.se(0)
                   << " (window-local derivative " << system.window_local_gradient(theta(0), 10) << ")");
  const double pes_vs_full = std::hypot(pes.se(0), full.se(0)), tes_vs_full = std::hypot(tes.se(0), full.se(0));
  CHECK(std::abs(pes.mean(0) - full.mean(0)) < 2.0 * pes_vs_full);
  CHECK(std::abs(pes.mean(0) - exact) < 2.0 * pes.se(0));
  CHECK(std::abs(full.mean(0) - exact) < 2.0 * full.se(0));
  CHECK(std::abs(tes.mean(0) - full.mean(0)) > 5.0 * tes_vs_full);
  CHECK(std::abs(tes.mean(0) - exact) > 5.0 * tes.se(0));
  // Truncated ES is not noise: it estimates the window-local derivative.
  CHECK(std::abs(tes.mean(0) - system.window_local_gradient(theta(0), 10)) < 3.0 * tes.se(0));
}

TEST_CASE("with one learning rate per coordinate (θ in R²) PES is unbiased in every component, truncated ES is not") {
  const QuadraticLr system;
  const Eigen::VectorXd theta = Eigen::Vector2d(std::log(0.5), std::log(0.1));
  const Eigen::VectorXd exact = system.exact_gradient(theta);
  const MeanSe pes = measure(system, theta, options(EsVariant::persistent), 2000, 4);
  const MeanSe tes = measure(system, theta, options(EsVariant::truncated), 2000, 5);
  MESSAGE("exact (" << exact(0) << ", " << exact(1) << "); PES (" << pes.mean(0) << " ± " << pes.se(0) << ", "
                    << pes.mean(1) << " ± " << pes.se(1) << "); truncated ES (" << tes.mean(0) << " ± " << tes.se(0)
                    << ", " << tes.mean(1) << " ± " << tes.se(1) << ")");
  for (int i = 0; i < 2; ++i) {
    CAPTURE(i);
    CHECK(std::abs(pes.mean(i) - exact(i)) < 3.0 * pes.se(i));
  }
  // The slow coordinate (h = 0.1) carries the truncation bias.
  CHECK(std::abs(tes.mean(1) - exact(1)) > 5.0 * tes.se(1));
}

TEST_CASE("deterministic given the seed; full ES is PES and truncated ES with one truncation per inner problem") {
  const QuadraticLr system;
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, std::log(0.1));
  for (EsVariant v : {EsVariant::persistent, EsVariant::truncated, EsVariant::full}) {
    const std::string name(to_string(v));
    CAPTURE(name);
    UnrolledEs a(system, 1, options(v), 9), b(system, 1, options(v), 9), c(system, 1, options(v), 10);
    for (int k = 0; k < 25; ++k) {
      const UnrollEstimate ea = a.step(theta), eb = b.step(theta), ec = c.step(theta);
      CHECK(ea.gradient == eb.gradient);
      CHECK(ea.loss == eb.loss);
      CHECK(ea.gradient != ec.gradient);
    }
  }
  UnrolledEs full(system, 1, options(EsVariant::full), 11);
  UnrolledEs pes(system, 1, options(EsVariant::persistent, 4, 0.01, 100), 11);
  UnrolledEs tes(system, 1, options(EsVariant::truncated, 4, 0.01, 1000), 11);
  CHECK(full.truncation() == 100);
  CHECK(tes.truncation() == 100);
  for (int k = 0; k < 3; ++k) {
    const UnrollEstimate f = full.step(theta), p = pes.step(theta), t = tes.step(theta);
    CHECK(f.episode_end);
    CHECK(f.gradient == p.gradient);
    CHECK(f.gradient == t.gradient);
  }
}

TEST_CASE("particles persist through the truncations of an inner problem and restart at its end") {
  const QuadraticLr system;   // its unroll throws unless `first` is the state's own step count
  const Eigen::VectorXd theta = Eigen::VectorXd::Constant(1, std::log(0.1));
  UnrolledEs es(system, 1, options(EsVariant::persistent, 3, 0.01, 30), 12);
  const long expected_steps[] = {30, 30, 30, 10, 30};
  double first_window_loss = 0.0;
  for (int k = 0; k < 5; ++k) {
    CAPTURE(k);
    const UnrollEstimate e = es.step(theta);
    CHECK(e.steps == expected_steps[k]);
    CHECK(e.first == (k < 4 ? 30 * k : 0));
    CHECK(e.episode == (k < 4 ? 0u : 1u));
    CHECK(e.episode_end == (k == 3));
    CHECK(e.nonfinite_pairs == 0);
    if (k == 0) first_window_loss = e.loss;
    // A new inner problem starts from x0 again: its first window's loss is the first one's.
    if (k == 4) CHECK(e.loss == doctest::Approx(first_window_loss).epsilon(1e-3));
    if (k > 0 && k < 4) CHECK(e.loss < first_window_loss);   // and did not restart before
  }
  CHECK(es.truncations() == 5);
  CHECK(es.episode() == 1);
  CHECK(es.position() == 30);
}

TEST_CASE("non-finite losses are counted and contribute nothing") {
  struct Cliff final : UnrolledSystem {
    long horizon() const override { return 4; }
    std::unique_ptr<UnrollState> initial_state(std::uint64_t, std::uint64_t) const override {
      return std::make_unique<QuadraticState>();
    }
    double unroll(UnrollState&, const Eigen::VectorXd& theta, long, long steps) const override {
      return theta(0) > 0.0 ? std::numeric_limits<double>::quiet_NaN() : theta(0) * static_cast<double>(steps);
    }
  } cliff;
  UnrolledEs es(cliff, 1, options(EsVariant::persistent, 5, 0.1, 2), 1);
  const UnrollEstimate e = es.step(Eigen::VectorXd::Zero(1));   // one of θ ± ε is always > 0
  CHECK(e.nonfinite_pairs == 5);
  CHECK(e.gradient(0) == 0.0);
  CHECK(std::isnan(e.loss));
  const UnrollEstimate ok = es.step(Eigen::VectorXd::Constant(1, -10.0));
  CHECK(ok.nonfinite_pairs == 0);
  CHECK(std::isfinite(ok.gradient(0)));
}

TEST_CASE("bad options are `key = value: must be ...` errors") {
  const QuadraticLr system;
  CHECK(test::error_message([&] { UnrolledEs(system, 1, options(EsVariant::persistent, 0), 1); }) ==
        "pairs = 0: must be >= 1");
  CHECK(test::error_message([&] { UnrolledEs(system, 1, options(EsVariant::persistent, 1, 0.0), 1); }) ==
        "sigma = 0: must be > 0 and finite");
  CHECK(test::error_message([&] { UnrolledEs(system, 1, options(EsVariant::persistent, 1, 0.1, 0), 1); }) ==
        "truncation = 0: must be >= 1");
  CHECK(test::error_message([&] { UnrolledEs(system, 0, options(EsVariant::persistent), 1); }) ==
        "dimension = 0: must be >= 1");
  UnrolledEs es(system, 1, options(EsVariant::persistent), 1);
  CHECK(test::error_message([&] { es.step(Eigen::VectorXd::Zero(2)); }) ==
        "theta has 2 entries, the estimator was built for 1");
}

}  // TEST_SUITE
