// NES, OpenAI-ES, PGPE and random search (search/nes.hpp, openai_es.hpp, pgpe.hpp,
// random_search.hpp): each update checked against its paper's equations recomputed here on one
// generation, the matrix exponential of xNES against Eigen's general expm, the statistics of the
// OpenAI-ES gradient estimate, and (suite "slow") evaluation counts on benchmark functions
// against reference numbers.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <Eigen/LU>
#include <unsupported/Eigen/MatrixFunctions>

#include "lib/error.hpp"
#include "search/fitness_shaping.hpp"
#include "search/nes.hpp"
#include "search/openai_es.hpp"
#include "search/pgpe.hpp"
#include "search/random_search.hpp"
#include "search/registry.hpp"
#include "search/test_functions.hpp"

using namespace plast;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

Eigen::VectorXd evaluate(const Objective& f, const Eigen::MatrixXd& pop) {
  Eigen::VectorXd v(pop.rows());
  for (Eigen::Index i = 0; i < pop.rows(); ++i) v(i) = f(pop.row(i).transpose());
  return v;
}

// The NES utility of each row (rank 1 = lowest f), as the paper defines it.
Eigen::VectorXd utilities_of(const Eigen::VectorXd& f) {
  const auto lambda = static_cast<int>(f.size());
  const Eigen::VectorXd by_rank = nes_utilities(lambda);
  Eigen::VectorXd u(lambda);
  const auto order = rank_order(f);
  for (int k = 0; k < lambda; ++k) u(order[static_cast<std::size_t>(k)]) = by_rank(k);
  return u;
}

Eigen::VectorXd vec(std::initializer_list<double> values) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double x : values) v(i++) = x;
  return v;
}

// A function with a long valley along (1, 1): curvature 1 along it, 1000 across it.
double diagonal_valley(const Eigen::VectorXd& x) {
  const double along = x(0) + x(1), across = x(0) - x(1);
  return 0.5 * along * along + 500.0 * across * across;
}

// x0 ~ U[−4, 4]^n from RandomStream(seed, probe): the start points of the reference benchmarks.
Eigen::VectorXd benchmark_start(int n, std::uint64_t seed) {
  RandomStream rng(seed, Purpose::probe);
  Eigen::VectorXd x0(n);
  for (int i = 0; i < n; ++i) x0(i) = static_cast<double>(rng.uniform(-4.0f, 4.0f));
  return x0;
}

struct BenchmarkRuns {
  long median = 0;            // median evaluations to the target (a run that misses counts as ∞)
  int reached = 0;            // runs (of 11) that reached the target
  double median_best = 0.0;   // median best f
};

// Seeds 1 … 11, each from its own x0 (benchmark_start) and its own strategy stream.
BenchmarkRuns run_benchmark(const Strategy& s, const Objective& f, int n, double target, long budget) {
  std::vector<long> evals;
  std::vector<double> best;
  BenchmarkRuns out;
  for (std::uint64_t seed = 1; seed <= 11; ++seed) {
    const MinimizeResult r = minimize(s, f, benchmark_start(n, seed), target, budget, seed);
    evals.push_back(r.reached ? r.evaluations : std::numeric_limits<long>::max());
    best.push_back(r.best);
    out.reached += r.reached ? 1 : 0;
  }
  std::sort(evals.begin(), evals.end());
  std::sort(best.begin(), best.end());
  out.median = evals[5];
  out.median_best = best[5];
  return out;
}

}  // namespace

TEST_SUITE("search/nes") {

TEST_CASE("NES utilities: the paper's formula, summing to zero, best first") {
  // λ = 10: max(0, ln 6 − ln k) / Σ − 1/10
  const Eigen::VectorXd u = nes_utilities(10);
  const double expected[10] = {0.32954404198664977, 0.1633737235132425, 0.06617031847340724, -0.002796594960164739,
                               -0.056291489013135014, -0.1, -0.1, -0.1, -0.1, -0.1};
  for (int k = 0; k < 10; ++k) {
    CAPTURE(k);
    CHECK(u(k) == doctest::Approx(expected[k]).epsilon(1e-12));
  }
  for (int lambda : {2, 3, 7, 10, 17, 100}) {
    CAPTURE(lambda);
    const Eigen::VectorXd w = nes_utilities(lambda);
    CHECK(std::abs(w.sum()) < 1e-12);
    for (int k = 1; k < lambda; ++k) CHECK(w(k) <= w(k - 1));
    CHECK(w(0) > 0.0);
  }
  CHECK(nes_default_population(1) == 4);
  CHECK(nes_default_population(2) == 6);
  CHECK(nes_default_population(5) == 8);
  CHECK(nes_default_population(10) == 10);
  CHECK(nes_default_population(100) == 17);
}

TEST_CASE("expm_symmetric equals the general matrix exponential, and expm of a traceless matrix has det 1") {
  RandomStream rng(11, Purpose::probe);
  for (int n : {1, 2, 5, 10}) {
    CAPTURE(n);
    Eigen::MatrixXd g(n, n);
    for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = static_cast<double>(rng.normal());
    Eigen::MatrixXd s = 0.3 * (g + g.transpose());
    const Eigen::MatrixXd reference = s.exp();
    CHECK((expm_symmetric(s) - reference).cwiseAbs().maxCoeff() < 1e-12 * std::max(1.0, reference.cwiseAbs().maxCoeff()));
    s.diagonal().array() -= s.trace() / n;
    CHECK(expm_symmetric(s).determinant() == doctest::Approx(1.0).epsilon(1e-12));
  }
  CHECK(expm_symmetric(Eigen::MatrixXd::Zero(3, 3)) == Eigen::MatrixXd::Identity(3, 3));
}

TEST_CASE("SNES: one generation follows Schaul et al. 2011, Algorithm 1") {
  const Snes snes(SnesOptions{0.7, 0, 1.0, 0.0});
  const int n = 4;
  StrategyState state = snes.init(vec({1.0, -2.0, 0.5, 3.0}));
  SnesState fields = state.as<SnesState>();
  fields.sigma = vec({0.7, 1.3, 0.2, 2.0});
  state = state.with(fields);
  RandomStream rng(1, Purpose::strategy, {0});
  const Eigen::MatrixXd pop = snes.ask(state, rng);
  CHECK(pop.rows() == nes_default_population(n));
  const Eigen::VectorXd f = evaluate(ellipsoid, pop);
  const StrategyState next = snes.tell(state, pop, f);

  const Eigen::VectorXd mu = state.as<SnesState>().mean, sigma = state.as<SnesState>().sigma;
  const Eigen::VectorXd u = utilities_of(f);
  Eigen::VectorXd grad_mu = Eigen::VectorXd::Zero(n), grad_sigma = Eigen::VectorXd::Zero(n);
  for (Eigen::Index k = 0; k < pop.rows(); ++k) {
    const Eigen::VectorXd s = (pop.row(k).transpose() - mu).cwiseQuotient(sigma);
    grad_mu += u(k) * s;
    grad_sigma += u(k) * (s.array().square() - 1.0).matrix();
  }
  const double eta_sigma = (3.0 + std::log(4.0)) / (5.0 * std::sqrt(4.0));
  CHECK(snes.eta_sigma(n) == doctest::Approx(eta_sigma));
  const Eigen::VectorXd mu_expected = mu + sigma.cwiseProduct(grad_mu);
  const Eigen::VectorXd sigma_expected = sigma.cwiseProduct((0.5 * eta_sigma * grad_sigma).array().exp().matrix());
  const SnesState& got = next.as<SnesState>();
  CHECK((got.mean - mu_expected).cwiseAbs().maxCoeff() < 1e-12);
  CHECK((got.sigma - sigma_expected).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(got.generation == 1);
  CHECK(got.evaluations == pop.rows());
}

TEST_CASE("xNES: a generation from a non-trivial B follows Glasmachers et al. 2010, Algorithm 1, with the true expm") {
  const Xnes xnes;
  const int n = 3;
  StrategyState state = xnes.init(vec({0.5, -1.0, 2.0}));
  // Start from a correlated shape with det B = 1 (expm of a traceless symmetric matrix times a rotation).
  Eigen::MatrixXd s(3, 3);
  s << 0.4, 0.3, -0.1, 0.3, -0.1, 0.2, -0.1, 0.2, -0.3;
  XnesState fields = state.as<XnesState>();
  fields.B = random_rotation(3, 5) * s.exp();
  fields.sigma = 0.8;
  state = state.with(fields);
  RandomStream rng(2, Purpose::strategy, {0});
  const Eigen::MatrixXd pop = xnes.ask(state, rng);
  const Eigen::VectorXd f = evaluate(diagonal_valley, pop);
  const StrategyState next = xnes.tell(state, pop, f);

  const Eigen::VectorXd mu = state.as<XnesState>().mean;
  const Eigen::MatrixXd b = state.as<XnesState>().B;
  const double sigma = state.as<XnesState>().sigma;
  const Eigen::VectorXd u = utilities_of(f);
  const Eigen::MatrixXd b_inv = b.inverse();
  Eigen::VectorXd g_delta = Eigen::VectorXd::Zero(n);
  Eigen::MatrixXd g_m = Eigen::MatrixXd::Zero(n, n);
  for (Eigen::Index k = 0; k < pop.rows(); ++k) {
    const Eigen::VectorXd z = b_inv * (pop.row(k).transpose() - mu) / sigma;
    g_delta += u(k) * z;
    g_m += u(k) * (z * z.transpose() - Eigen::MatrixXd::Identity(n, n));
  }
  const double g_sigma = g_m.trace() / n;
  const Eigen::MatrixXd g_b = g_m - g_sigma * Eigen::MatrixXd::Identity(n, n);
  const double eta = 3.0 * (3.0 + std::log(3.0)) / (5.0 * 3.0 * std::sqrt(3.0));
  CHECK(xnes.eta_sigma(n) == doctest::Approx(eta));
  CHECK(xnes.eta_B(n) == doctest::Approx(eta));
  const Eigen::MatrixXd step = 0.5 * eta * g_b;
  const Eigen::MatrixXd b_expected = b * step.exp();   // Eigen's general (Padé) expm
  const XnesState& got = next.as<XnesState>();
  CHECK((got.mean - (mu + sigma * b * g_delta)).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(got.sigma == doctest::Approx(sigma * std::exp(0.5 * eta * g_sigma)).epsilon(1e-13));
  CHECK((got.B - b_expected).cwiseAbs().maxCoeff() < 1e-12);
  CHECK(got.B.determinant() == doctest::Approx(1.0).epsilon(1e-10));
  // The shape changed off the diagonal too: an element-wise exp would not do this.
  const Eigen::MatrixXd elementwise = b.cwiseProduct(step.array().exp().matrix());
  CHECK((got.B - elementwise).cwiseAbs().maxCoeff() > 1e-3);
}

TEST_CASE("xNES learns a correlation: its covariance aligns with a diagonal valley") {
  const Xnes xnes;
  StrategyState state = xnes.init(vec({3.0, -1.0}));
  for (std::uint64_t g = 0; g < 150; ++g) {
    RandomStream rng(4, Purpose::strategy, {g});
    const Eigen::MatrixXd pop = xnes.ask(state, rng);
    state = xnes.tell(state, pop, evaluate(diagonal_valley, pop));
  }
  const Eigen::MatrixXd& b = state.as<XnesState>().B;
  const Eigen::MatrixXd c = b * b.transpose();
  const double correlation = c(0, 1) / std::sqrt(c(0, 0) * c(1, 1));
  MESSAGE("xNES correlation of the search distribution on the (1,1) valley: ", correlation);
  CHECK(correlation > 0.9);
}

TEST_CASE("NaN candidates share their ranks' mean utility; an all-NaN generation changes no distribution") {
  Eigen::VectorXd u = vec({-0.5, 0.25, 0.5, -0.25, 0.0});
  pool_nan_utilities(vec({1.0, kNaN, kNaN, 0.0, 2.0}), u);
  CHECK(u(1) == 0.375);
  CHECK(u(2) == 0.375);
  CHECK(u(0) == -0.5);
  for (const char* name : {"snes", "xnes"}) {
    CAPTURE(name);
    const auto s = strategy_registry().make(name);
    const StrategyState state = s->init(vec({1.0, 2.0, 3.0}));
    RandomStream rng(9, Purpose::strategy, {0});
    const Eigen::MatrixXd pop = s->ask(state, rng);
    const StrategyState next = s->tell(state, pop, Eigen::VectorXd::Constant(pop.rows(), kNaN));
    // μ, σ (and B) unchanged: the states differ only in their counters.
    CHECK(s->mean(next) == s->mean(state));
    CHECK(s->step_size(next) == s->step_size(state));
    if (std::string(name) == "snes") {
      CHECK(next.as<SnesState>().sigma == state.as<SnesState>().sigma);
    } else {
      CHECK(next.as<XnesState>().B == state.as<XnesState>().B);
    }
  }
}

TEST_CASE("OpenAI-ES: the population is antithetic pairs μ ± σε") {
  OpenAiEsOptions o;
  o.population = 6;
  o.sigma = 0.3;
  const OpenAiEs es(o);
  const Eigen::VectorXd mu = vec({1.0, -2.0, 0.25});
  const StrategyState state = es.init(mu);
  RandomStream rng(1, Purpose::strategy, {0});
  const Eigen::MatrixXd pop = es.ask(state, rng);
  REQUIRE(pop.rows() == 6);
  for (int j = 0; j < 3; ++j) {
    const Eigen::VectorXd plus = pop.row(j).transpose() - mu, minus = pop.row(j + 3).transpose() - mu;
    CHECK((plus + minus).cwiseAbs().maxCoeff() < 1e-15);
    CHECK(plus.norm() > 0.0);
  }
  CHECK(OpenAiEs(OpenAiEsOptions{}).population(10) == 10);
  CHECK(OpenAiEs(OpenAiEsOptions{}).population(5) == 8);
  CHECK(OpenAiEs(OpenAiEsOptions{}).population(2) == 6);
}

TEST_CASE("OpenAI-ES: on a linear function the gradient estimate's mean cosine to ∇f is about √(N/(N+n−1))") {
  // n = 10, λ = 20 (N = 10 antithetic pairs): √(10/19) = 0.725 for the raw-fitness estimate;
  // centered ranks lose a little of that, to 0.71.
  const int n = 10, lambda = 20, draws = 4000;
  const double sigma = 0.05;
  RandomStream arng(99, Purpose::probe);
  Eigen::VectorXd a(n);
  for (int i = 0; i < n; ++i) a(i) = static_cast<double>(arng.normal());
  const Eigen::VectorXd mu = Eigen::VectorXd::Constant(n, 0.3);
  double sum_cos = 0.0, sum_cos2 = 0.0;
  OpenAiEsOptions o;
  o.population = lambda;
  o.sigma = sigma;
  const OpenAiEs es(o);
  for (int d = 0; d < draws; ++d) {
    RandomStream rng(5, Purpose::probe, {static_cast<std::uint64_t>(d)});
    Eigen::MatrixXd eps(lambda, n);
    for (int j = 0; j < lambda / 2; ++j)
      for (int i = 0; i < n; ++i) {
        eps(j, i) = static_cast<double>(rng.normal());
        eps(j + lambda / 2, i) = -eps(j, i);
      }
    Eigen::MatrixXd pop = sigma * eps;
    pop.rowwise() += mu.transpose();
    Eigen::VectorXd f(lambda);
    for (int k = 0; k < lambda; ++k) f(k) = a.dot(pop.row(k).transpose());
    const Eigen::VectorXd g = openai_es_gradient(eps, shape_fitness(Shaping::centered_ranks, f), sigma);
    if (d < 20) CHECK((es.gradient(pop, f) - g).norm() < 1e-9 * g.norm());   // same estimate from the population
    const double c = g.dot(a) / (g.norm() * a.norm());
    sum_cos += c;
    sum_cos2 += c * c;
  }
  const double mean_cos = sum_cos / draws;
  const double sd = std::sqrt(sum_cos2 / draws - mean_cos * mean_cos);
  MESSAGE("OpenAI-ES gradient estimate, n = 10, λ = 20: mean cosine to ∇f = ", mean_cos, " (sd ", sd,
          "; √(N/(N+n−1)) = ", std::sqrt(10.0 / 19.0), ")");
  CHECK(mean_cos > 0.71 - 0.02);
  CHECK(mean_cos < 0.71 + 0.02);
}

TEST_CASE("OpenAI-ES optimizers: SGD takes −lr (g + λ_wd μ); Adam's first step is lr per coordinate; momentum accumulates") {
  const Eigen::VectorXd mu = vec({1.0, -2.0, 0.5, 4.0});
  OpenAiEsOptions o;
  o.population = 8;
  o.sigma = 0.1;
  o.lr = 0.05;
  o.weight_decay = 0.01;
  RandomStream rng(3, Purpose::strategy, {0});
  o.optimizer = EsOptimizer::sgd;
  const OpenAiEs sgd(o);
  const StrategyState s0 = sgd.init(mu);
  const Eigen::MatrixXd pop = sgd.ask(s0, rng);
  const Eigen::VectorXd f = evaluate(sphere, pop);
  const Eigen::VectorXd g = sgd.gradient(pop, f);
  CHECK(g.dot(mu) > 0.0);   // points uphill on the sphere, like ∇f = 2μ
  CHECK((sgd.mean(sgd.tell(s0, pop, f)) - (mu - 0.05 * (g + 0.01 * mu))).cwiseAbs().maxCoeff() < 1e-14);

  o.optimizer = EsOptimizer::adam;
  o.weight_decay = 0.0;
  const OpenAiEs adam(o);
  const Eigen::VectorXd step = adam.mean(adam.tell(adam.init(mu), pop, f)) - mu;
  for (int i = 0; i < 4; ++i) {
    CAPTURE(i);
    CHECK(std::abs(step(i)) == doctest::Approx(0.05).epsilon(1e-6));
    CHECK(step(i) * g(i) < 0.0);
  }

  o.optimizer = EsOptimizer::momentum;
  o.momentum = 0.5;
  const OpenAiEs momentum(o);
  const StrategyState m1 = momentum.tell(momentum.init(mu), pop, f);
  const StrategyState m2 = momentum.tell(m1, pop + (momentum.mean(m1) - mu).transpose().replicate(8, 1), f);
  CHECK((m2.as<OpenAiEsState>().m - 1.5 * g).cwiseAbs().maxCoeff() < 1e-9);
}

TEST_CASE("PGPE: symmetric sampling, the normalised mean step of Sehnke et al. 2010, σ adapted only from the second generation") {
  PgpeOptions o;
  o.population = 6;
  const Pgpe pgpe(o);
  const Eigen::VectorXd mu0 = vec({2.0, -1.0});
  StrategyState state = pgpe.init(mu0);
  PgpeState fields = state.as<PgpeState>();
  fields.sigma = vec({0.5, 1.5});
  state = state.with(fields);
  for (int gen = 0; gen < 2; ++gen) {
    CAPTURE(gen);
    RandomStream rng(8, Purpose::strategy, {static_cast<std::uint64_t>(gen)});
    const Eigen::MatrixXd pop = pgpe.ask(state, rng);
    const Eigen::VectorXd f = evaluate(sphere, pop);
    const StrategyState next = pgpe.tell(state, pop, f);
    const PgpeState& before = state.as<PgpeState>();
    const Eigen::VectorXd mu = before.mean, sigma = before.sigma;
    const double best = std::min(before.best, f.minCoeff());
    const double b = before.baseline;
    Eigen::VectorXd step_mu = Eigen::VectorXd::Zero(2), step_sigma = Eigen::VectorXd::Zero(2);
    double mean_pair = 0.0;
    for (int j = 0; j < 3; ++j) {
      const Eigen::VectorXd e = pop.row(j).transpose() - mu;
      CHECK((pop.row(j + 3).transpose() - (mu - e)).cwiseAbs().maxCoeff() < 1e-15);
      const double fp = f(j), fm = f(j + 3);
      step_mu += (fm - fp) / (fp + fm - 2 * best) * e;
      const double r_s = (b - 0.5 * (fp + fm)) / (b - best);
      if (gen > 0 && r_s > 0) step_sigma += r_s * (e.array().square() - sigma.array().square()).matrix().cwiseQuotient(sigma);
      mean_pair += 0.5 * (fp + fm) / 3.0;
    }
    const PgpeState& got = next.as<PgpeState>();
    CHECK((got.mean - (mu + 0.2 / 3.0 * step_mu)).cwiseAbs().maxCoeff() < 1e-12);
    CHECK((got.sigma - (sigma + 0.1 / 3.0 * step_sigma)).cwiseAbs().maxCoeff() < 1e-12);
    if (gen == 0) CHECK(got.sigma == sigma);
    CHECK(got.baseline == doctest::Approx(gen == 0 ? mean_pair : 0.9 * b + 0.1 * mean_pair));
    CHECK(got.best == best);
    CHECK((got.sigma.array() >= 0.9 * sigma.array()).all());
    state = next;
  }
}

TEST_CASE("random search keeps the best point ever seen, and samples around it (or around θ0)") {
  const RandomSearch rs(RandomSearchOptions{0.5, 4, true});
  StrategyState state = rs.init(vec({3.0, 3.0}));
  Eigen::MatrixXd pop(4, 2);
  pop << 2.0, 2.0, 1.0, 1.0, 5.0, 5.0, 0.0, 0.0;
  state = rs.tell(state, pop, vec({8.0, 2.0, 50.0, kNaN}));
  CHECK(rs.mean(state) == vec({1.0, 1.0}));
  CHECK(state.as<RandomSearchState>().best_f == 2.0);
  state = rs.tell(state, pop, vec({3.0, 2.0, 4.0, 5.0}));   // no strict improvement: unchanged
  CHECK(rs.mean(state) == vec({1.0, 1.0}));
  RandomStream rng(1, Purpose::strategy, {0});
  const Eigen::MatrixXd around_best = rs.ask(state, rng);
  CHECK((around_best.rowwise() - vec({1.0, 1.0}).transpose()).cwiseAbs().maxCoeff() < 3.0);

  const RandomSearch pure(RandomSearchOptions{0.5, 4, false});
  StrategyState p = pure.init(vec({3.0, 3.0}));
  p = pure.tell(p, pop, vec({8.0, 2.0, 50.0, 1.0}));
  CHECK(pure.mean(p) == vec({0.0, 0.0}));
  RandomStream rng2(1, Purpose::strategy, {0});
  const Eigen::MatrixXd around_start = pure.ask(p, rng2);
  RandomStream rng3(1, Purpose::strategy, {0});
  const Eigen::MatrixXd from_init = pure.ask(pure.init(vec({3.0, 3.0})), rng3);
  CHECK(around_start == from_init);
}

}  // TEST_SUITE

TEST_SUITE("slow") {

TEST_CASE("SNES (σ0 = 2) matches the reference evaluation counts on sphere-10 and ellipsoid-10") {
  const auto snes = strategy_registry().make("snes", {{"sigma0", 2.0}});
  const BenchmarkRuns sph = run_benchmark(*snes, sphere, 10, 1e-8, 100000);
  const BenchmarkRuns ell = run_benchmark(*snes, ellipsoid, 10, 1e-8, 100000);
  MESSAGE("SNES sphere-10 to 1e-8: median ", sph.median, " evaluations (reference 2050), ", sph.reached, "/11 reached");
  MESSAGE("SNES ellipsoid-10 to 1e-8: median ", ell.median, " evaluations (reference 2820), ", ell.reached, "/11 reached");
  CHECK(sph.reached == 11);
  CHECK(ell.reached == 11);
  CHECK(std::abs(static_cast<double>(sph.median) - 2050.0) <= 0.15 * 2050.0);
  CHECK(std::abs(static_cast<double>(ell.median) - 2820.0) <= 0.15 * 2820.0);
}

TEST_CASE("OpenAI-ES (defaults) reaches f < 1e-3 on sphere-10 within 8820 evaluations (median)") {
  const auto es = strategy_registry().make("openai_es");
  const BenchmarkRuns r = run_benchmark(*es, sphere, 10, 1e-3, 100000);
  const auto es20 = strategy_registry().make("openai_es", {{"population", 20}});
  const BenchmarkRuns r20 = run_benchmark(*es20, sphere, 10, 1e-3, 100000);
  MESSAGE("OpenAI-ES sphere-10 to 1e-3 (σ = 0.02, Adam lr = 0.01, λ = 10): median ", r.median, " evaluations, ",
          r.reached, "/11 reached; with λ = 20: median ", r20.median, " (reference: at most 8820)");
  CHECK(r.median <= 8820);
  CHECK(r20.median <= 8820);
}

TEST_CASE("xNES solves a rotated ellipsoid-10 (condition 1e6) that diagonal SNES cannot in the same budget") {
  const Eigen::MatrixXd rotation = random_rotation(10, 1);
  const Objective rotated = [&](const Eigen::VectorXd& x) { return ellipsoid(rotation * x); };
  const long budget = 20000;
  const auto xnes = strategy_registry().make("xnes", {{"sigma0", 2.0}});
  const auto snes = strategy_registry().make("snes", {{"sigma0", 2.0}});
  const BenchmarkRuns x = run_benchmark(*xnes, rotated, 10, 1e-8, budget);
  const BenchmarkRuns s = run_benchmark(*snes, rotated, 10, 1e-8, budget);
  MESSAGE("rotated ellipsoid-10 to 1e-8 within ", budget, " evaluations: xNES ", x.reached, "/11 reached, median ",
          x.median, " evaluations; SNES ", s.reached, "/11 reached, median best f ", s.median_best);
  CHECK(x.reached == 11);
  CHECK(x.median < budget);
  CHECK(s.reached == 0);
}

}  // TEST_SUITE
