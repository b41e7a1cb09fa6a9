// CMA-ES and sep-CMA-ES (search/cma_es.hpp, search/sep_cma_es.hpp): the default parameters of
// Hansen's tutorial (Table 1), ask/tell purity, exact checkpoints, NaN handling, restarts, and
// (in the slow suite) median evaluation counts on the benchmark functions against reference
// values, within 15%.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iomanip>
#include <limits>
#include <map>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include "lib/error.hpp"
#include "search/cma_es.hpp"
#include "search/registry.hpp"
#include "search/sep_cma_es.hpp"
#include "search/test_functions.hpp"

using namespace plast;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

bool bitwise_equal(const Eigen::MatrixXd& a, const Eigen::MatrixXd& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}

Eigen::VectorXd evaluate(const Objective& f, const Eigen::MatrixXd& pop) {
  Eigen::VectorXd v(pop.rows());
  for (Eigen::Index i = 0; i < pop.rows(); ++i) v(i) = f(pop.row(i).transpose());
  return v;
}

// x0 ~ U[-4, 4]^n from RandomStream(seed, probe).
Eigen::VectorXd random_start(int n, std::uint64_t seed) {
  RandomStream rng(seed, Purpose::probe);
  Eigen::VectorXd x0(n);
  for (int i = 0; i < n; ++i) x0(i) = -4.0 + 8.0 * rng.uniform_double();
  return x0;
}

// Runs `generations` ask/tell steps on f from x0 with keys (seed, g).
StrategyState run(const Strategy& s, const Objective& f, const Eigen::VectorXd& x0, int generations,
                  std::uint64_t seed = 1) {
  StrategyState state = s.init(x0);
  for (int g = 0; g < generations; ++g) {
    RandomStream rng(seed, Purpose::strategy, {static_cast<std::uint64_t>(g)});
    const Eigen::MatrixXd pop = s.ask(state, rng);
    state = s.tell(state, pop, evaluate(f, pop));
  }
  return state;
}

// A checkpoint in format 01 (before typed states), as the string-keyed StrategyState wrote it:
// named arrays, then named counters, each in name order, scalars as 1×1 arrays.
std::string format_01(const std::map<std::string, Eigen::MatrixXd>& arrays,
                      const std::map<std::string, std::int64_t>& counters) {
  std::string out = "PLSTST01";
  auto word = [&](std::uint64_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof v); };
  word(arrays.size());
  for (const auto& [name, a] : arrays) {
    word(name.size());
    out += name;
    word(static_cast<std::uint64_t>(a.rows()));
    word(static_cast<std::uint64_t>(a.cols()));
    out.append(reinterpret_cast<const char*>(a.data()), sizeof(double) * static_cast<std::size_t>(a.size()));
  }
  word(counters.size());
  for (const auto& [name, c] : counters) {
    word(name.size());
    out += name;
    word(static_cast<std::uint64_t>(c));
  }
  return out;
}

// What the string-keyed CMA-ES kept of a state: restart fields only with restarts, and no B, D,
// eigen_generation for sep-CMA-ES.
std::string cma_format_01(const CmaState& s, bool restarts, bool sep) {
  auto scalar = [](double v) { return Eigen::MatrixXd::Constant(1, 1, v); };
  std::map<std::string, Eigen::MatrixXd> a = {
      {"mean", s.mean}, {"sigma", scalar(s.sigma)}, {"p_sigma", s.p_sigma}, {"p_c", s.p_c}, {"C", s.C}};
  std::map<std::string, std::int64_t> c = {{"generation", s.generation}, {"evaluations", s.evaluations},
                                           {"lambda", s.lambda}, {"run_generation", s.run_generation}};
  if (!sep) {
    a["B"] = s.B;
    a["D"] = s.D;
    c["eigen_generation"] = s.eigen_generation;
  }
  if (restarts) {
    a["x0"] = s.x0;
    a["sigma0_run"] = scalar(s.sigma0_run);
    a["history_best"] = s.history_best;
    a["history_median"] = s.history_median;
    a["history_equal"] = s.history_equal;
    c["restarts"] = s.restarts;
    c["max_run_generations"] = s.max_run_generations;
    c["regime"] = static_cast<std::int64_t>(s.regime);
    c["small_runs"] = s.small_runs;
    c["small_evaluations"] = s.small_evaluations;
    c["large_evaluations"] = s.large_evaluations;
    c["run_evaluations"] = s.run_evaluations;
    c["last_stop"] = static_cast<std::int64_t>(s.last_stop);
  }
  return format_01(a, c);
}

CmaOptions with(double sigma0, CmaRestarts restarts = CmaRestarts::none) {
  CmaOptions o;
  o.sigma0 = sigma0;
  o.restarts = restarts;
  return o;
}

}  // namespace

TEST_SUITE("search/cma") {

TEST_CASE("cma_defaults(10) reproduces Hansen's Table 1") {
  const CmaParameters p = cma_defaults(10);
  CHECK(p.lambda == 10);   // 4 + ⌊3 ln 10⌋
  CHECK(p.mu == 5);
  CHECK(p.mu_eff == doctest::Approx(3.1672).epsilon(1e-4));
  CHECK(std::abs(p.c_sigma - 0.2844) < 1e-4);
  CHECK(std::abs(p.c_1 - 0.01528) < 1e-4);
  CHECK(std::abs(p.c_mu - 0.02355) < 1e-4);
  CHECK(p.d_sigma == doctest::Approx(1.0 + p.c_sigma));   // √((μ_eff−1)/(n+1)) < 1
  CHECK(p.c_c == doctest::Approx((4.0 + p.mu_eff / 10.0) / (14.0 + 2.0 * p.mu_eff / 10.0)));
  CHECK(p.c_m == 1.0);
  CHECK(p.chi_n == doctest::Approx(std::sqrt(10.0) * (1.0 - 1.0 / 40.0 + 1.0 / 2100.0)));
  // Weights: positive ones decrease and sum to 1; negative ones sum to −min(α_μ⁻, α_μeff⁻, α_posdef⁻).
  REQUIRE(p.weights.size() == 10);
  CHECK(p.weights.head(5).sum() == doctest::Approx(1.0));
  for (int i = 0; i < 9; ++i) CHECK(p.weights(i) > p.weights(i + 1));
  CHECK(p.weights(4) > 0.0);
  CHECK(p.weights(5) < 0.0);
  CHECK(p.alpha_mu_minus == doctest::Approx(1.0 + p.c_1 / p.c_mu));
  CHECK(p.alpha_posdef_minus == doctest::Approx((1.0 - p.c_1 - p.c_mu) / (10.0 * p.c_mu)));
  const double alpha = std::min({p.alpha_mu_minus, p.alpha_mu_eff_minus, p.alpha_posdef_minus});
  CHECK(p.alpha_mu_minus == doctest::Approx(alpha));   // for n = 10 the binding limit is α_μ⁻
  CHECK(p.weights.tail(5).sum() == doctest::Approx(-alpha));
  CHECK(p.eigen_interval == 1);
}

TEST_CASE("cma_defaults: odd λ has a zero weight, a given λ is used, and the eigendecomposition gets lazy for large n") {
  const CmaParameters p = cma_defaults(5, 9);
  CHECK(p.lambda == 9);
  CHECK(p.mu == 4);
  CHECK(p.weights(4) == 0.0);   // ln(5) − ln(5)
  CHECK(p.weights.head(4).sum() == doctest::Approx(1.0));
  CHECK(cma_defaults(1).lambda == 4);
  CHECK(cma_defaults(100).lambda == 17);
  CHECK(cma_defaults(1000).eigen_interval > 1);
  CHECK_THROWS_AS(cma_defaults(0), Error);
  CHECK_THROWS_AS(cma_defaults(10, 1), InvalidValue);
}

TEST_CASE("sep_cma_defaults multiply c_1 and c_mu by (n+2)/3 and rescale the negative weights") {
  const CmaParameters full = cma_defaults(10), sep = sep_cma_defaults(10);
  CHECK(sep.c_1 == doctest::Approx(full.c_1 * 4.0));
  CHECK(sep.c_mu == doctest::Approx(full.c_mu * 4.0));
  CHECK(sep.c_sigma == full.c_sigma);
  CHECK(sep.c_c == full.c_c);
  CHECK(bitwise_equal(sep.weights.head(5), full.weights.head(5)));
  const double alpha = std::min({sep.alpha_mu_minus, sep.alpha_mu_eff_minus, sep.alpha_posdef_minus});
  CHECK(sep.weights.tail(5).sum() == doctest::Approx(-alpha));
  // Large n: c_μ stays ≤ 1 − c_1.
  const CmaParameters big = sep_cma_defaults(5000);
  CHECK(big.c_1 + big.c_mu <= 1.0);
}

TEST_CASE("the registry holds the CMA family with the documented parameters") {
  const auto& reg = strategy_registry();
  for (const char* name : {"cma_es", "sep_cma_es", "ipop_cma_es", "bipop_cma_es"}) {
    CAPTURE(name);
    REQUIRE(reg.contains(name));
    const auto s = reg.make(name);
    CHECK(s->name() == name);
    const auto& params = reg.get(name).params;
    CHECK(std::any_of(params.begin(), params.end(), [](const ParamSpec& p) { return p.name == "sigma0"; }));
    CHECK(std::any_of(params.begin(), params.end(), [](const ParamSpec& p) { return p.name == "population"; }));
  }
  const auto s = reg.make("cma_es", {{"sigma0", 0.25}, {"population", 12}});
  const StrategyState state = s->init(Eigen::VectorXd::Zero(3));
  CHECK(state.as<CmaState>().lambda == 12);
  CHECK(s->step_size(state) == 0.25);
  CHECK_THROWS_AS(reg.make("cma_es", {{"population", 1}}), InvalidValue);
  CHECK_THROWS_AS(reg.make("sep_cma_es", {{"sigma0", 0.0}}), InvalidValue);
  CHECK_THROWS_AS(reg.make("cma_es", {{"max_restarts", 3}}), Error);   // only the restart variants have it
  CHECK_NOTHROW(reg.make("ipop_cma_es", {{"max_restarts", 3}}));
}

TEST_CASE("init: the mean is θ0, C = I, paths zero; the diagonal variant keeps C as an n×1 array") {
  Eigen::VectorXd x0(4);
  x0 << 1, -2, 3, 0.5;
  const CmaEs full(with(0.3));
  const StrategyState a = full.init(x0);
  CHECK(bitwise_equal(full.mean(a), x0));
  CHECK(full.step_size(a) == 0.3);
  CHECK(bitwise_equal(a.as<CmaState>().C, Eigen::MatrixXd::Identity(4, 4)));
  CHECK(a.as<CmaState>().p_sigma.isZero());
  CHECK(a.as<CmaState>().lambda == 8);
  const SepCmaEs sep(with(0.3));
  const StrategyState b = sep.init(x0);
  CHECK(b.as<CmaState>().C.rows() == 4);
  CHECK(b.as<CmaState>().C.cols() == 1);
  CHECK(b.as<CmaState>().B.size() == 0);
  CHECK_THROWS_AS(full.init(Eigen::VectorXd()), Error);
  Eigen::VectorXd bad = x0;
  bad(2) = kNaN;
  CHECK_THROWS_AS(full.init(bad), Error);
}

TEST_CASE("ask does not change the state and is deterministic for the same key") {
  const CmaEs full(with(0.5, CmaRestarts::bipop));
  const SepCmaEs sep(with(0.5));
  for (const CmaEs* s : {static_cast<const CmaEs*>(&full), static_cast<const CmaEs*>(&sep)}) {
    CAPTURE(s->name());
    const StrategyState state = run(*s, ellipsoid, random_start(6, 3), 7);
    const StrategyState copy = state;
    const std::string bytes = state.save();
    RandomStream a(11, Purpose::strategy, {7}), b(11, Purpose::strategy, {7}), c(12, Purpose::strategy, {7});
    const Eigen::MatrixXd pa = s->ask(state, a), pb = s->ask(state, b), pc = s->ask(state, c);
    CHECK(state == copy);
    CHECK(state.save() == bytes);
    CHECK(bitwise_equal(pa, pb));
    CHECK_FALSE(bitwise_equal(pa, pc));
    CHECK(pa.rows() == state.as<CmaState>().lambda);
    CHECK(pa.cols() == 6);
  }
}

TEST_CASE("the sample covariance of ask() is σ² C (full and diagonal)") {
  // After a few generations on an ellipsoid C is far from I; 20 000 samples check that ask
  // draws from N(m, σ² C) (within sampling error), i.e. that B, D match C.
  const CmaEs full(with(1.0));
  const SepCmaEs sep(with(1.0));
  for (const CmaEs* s : {static_cast<const CmaEs*>(&full), static_cast<const CmaEs*>(&sep)}) {
    CAPTURE(s->name());
    StrategyState state = run(*s, ellipsoid, random_start(4, 2), 60);
    // Make C current (the lazy eigendecomposition is every generation for n = 4).
    const double sigma = s->step_size(state);
    const Eigen::VectorXd m = s->mean(state);
    Eigen::MatrixXd cov = Eigen::MatrixXd::Zero(4, 4);
    long count = 0;
    for (std::uint64_t k = 0; count < 20000; ++k) {
      RandomStream rng(99, Purpose::strategy, {k});
      const Eigen::MatrixXd pop = s->ask(state, rng);
      for (Eigen::Index i = 0; i < pop.rows(); ++i, ++count) {
        const Eigen::VectorXd y = (pop.row(i).transpose() - m) / sigma;
        cov += y * y.transpose();
      }
    }
    cov /= static_cast<double>(count);
    const Eigen::MatrixXd& c_state = state.as<CmaState>().C;
    const Eigen::MatrixXd c = c_state.cols() == 1 ? Eigen::MatrixXd(c_state.col(0).asDiagonal()) : c_state;
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j) {
        CAPTURE(i);
        CAPTURE(j);
        CHECK(std::abs(cov(i, j) - c(i, j)) < 0.05 * std::sqrt(c(i, i) * c(j, j)));
      }
  }
}

TEST_CASE("save/load round-trips bitwise mid-run (restart histories included) and resuming changes nothing") {
  for (CmaRestarts r : {CmaRestarts::none, CmaRestarts::ipop, CmaRestarts::bipop}) {
    const CmaEs full(with(0.5, r));
    const SepCmaEs sep(with(0.5, r));
    for (const CmaEs* s : {static_cast<const CmaEs*>(&full), static_cast<const CmaEs*>(&sep)}) {
      CAPTURE(s->name());
      const Eigen::VectorXd x0 = random_start(5, 4);
      StrategyState state = run(*s, rosenbrock, x0, 25);
      const std::string bytes = state.save();
      const StrategyState loaded = s->load(bytes);
      CHECK(loaded == state);
      CHECK(loaded.save() == bytes);
      // Ten more generations from the original and from the loaded copy agree bitwise.
      StrategyState a = state, b = loaded;
      for (std::uint64_t g = 25; g < 35; ++g) {
        RandomStream ra(1, Purpose::strategy, {g}), rb(1, Purpose::strategy, {g});
        const Eigen::MatrixXd pa = s->ask(a, ra), pb = s->ask(b, rb);
        REQUIRE(bitwise_equal(pa, pb));
        a = s->tell(a, pa, evaluate(rosenbrock, pa));
        b = s->tell(s->load(b.save()), pb, evaluate(rosenbrock, pb));
      }
      CHECK(a == b);
    }
  }
}

TEST_CASE("a store written before typed states (format 01) still loads, to the same state; bad ones are refused") {
  for (CmaRestarts r : {CmaRestarts::none, CmaRestarts::bipop}) {
    const CmaEs full(with(0.5, r));
    const SepCmaEs sep(with(0.5, r));
    for (const CmaEs* s : {static_cast<const CmaEs*>(&full), static_cast<const CmaEs*>(&sep)}) {
      CAPTURE(s->name());
      const StrategyState state = run(*s, rosenbrock, random_start(5, 4), 25);
      const bool restarts = r != CmaRestarts::none, diagonal = s == &sep;
      CHECK(s->load(cma_format_01(state.as<CmaState>(), restarts, diagonal)) == state);
    }
  }
  const CmaEs s(with(0.5));
  CmaState fields = run(s, sphere, random_start(3, 1), 5).as<CmaState>();
  const std::string old = cma_format_01(fields, false, false);
  auto error_of = [&](const std::string& bytes) {
    try {
      s.load(bytes);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("<no error>");
  };
  CHECK(error_of(old.substr(0, old.size() - 3)) == "strategy checkpoint of cma_es is truncated or corrupt");
  CHECK(error_of(old + "x") == "strategy checkpoint of cma_es is corrupt: trailing bytes after the last field (format 01)");
  CHECK(error_of(format_01({{"mean", fields.mean}}, {})) == "strategy checkpoint of cma_es is corrupt: no array 'sigma' (format 01)");
  // Format 01 names no strategy: an IPOP checkpoint (restart fields included) loads into cma_es;
  // the store's study names the strategy, so this does not arise from a store. Another family's
  // checkpoint is refused by its fields.
  CHECK(error_of(cma_format_01(fields, true, false)) == "<no error>");
  const std::string snes_01 = format_01({{"mean", fields.mean}, {"sigma", fields.mean}}, {{"generation", 1}, {"evaluations", 6}});
  CHECK(error_of(snes_01) == "strategy checkpoint of cma_es is corrupt: 'sigma' is not a scalar (format 01)");
}

TEST_CASE("NaN fitness ranks worst: the same state as the worst finite value, and all-NaN survives") {
  const CmaEs full(with(0.5, CmaRestarts::ipop));
  const SepCmaEs sep(with(0.5));
  for (const CmaEs* s : {static_cast<const CmaEs*>(&full), static_cast<const CmaEs*>(&sep)}) {
    CAPTURE(s->name());
    const StrategyState state = run(*s, sphere, random_start(5, 6), 5);
    RandomStream rng(3, Purpose::strategy, {5});
    const Eigen::MatrixXd pop = s->ask(state, rng);
    Eigen::VectorXd with_nan = evaluate(sphere, pop), with_huge = with_nan;
    with_nan(2) = kNaN;
    with_huge(2) = 1e300;   // worse than every finite value here
    const StrategyState a = s->tell(state, pop, with_nan), b = s->tell(state, pop, with_huge);
    CHECK(a == b);
    CHECK(s->mean(a).allFinite());
    // Every student diverged, for several generations.
    StrategyState all = state;
    for (std::uint64_t g = 0; g < 5; ++g) {
      RandomStream r(8, Purpose::strategy, {g});
      const Eigen::MatrixXd p = s->ask(all, r);
      REQUIRE_NOTHROW(all = s->tell(all, p, Eigen::VectorXd::Constant(p.rows(), kNaN)));
    }
    CHECK(s->mean(all).allFinite());
    CHECK(std::isfinite(s->step_size(all)));
    CHECK(s->step_size(all) > 0.0);
    CHECK(all.as<CmaState>().C.allFinite());
  }
}

TEST_CASE("tell rejects a population or fitness of the wrong shape") {
  const CmaEs s(with(0.5));
  const StrategyState state = s.init(Eigen::VectorXd::Zero(3));
  RandomStream rng(1, Purpose::strategy, {0});
  const Eigen::MatrixXd pop = s.ask(state, rng);
  CHECK_THROWS_AS(s.tell(state, pop.topRows(pop.rows() - 1), Eigen::VectorXd::Zero(pop.rows() - 1)), Error);
  CHECK_THROWS_AS(s.tell(state, pop, Eigen::VectorXd::Zero(pop.rows() + 1)), Error);
  CHECK_THROWS_AS(s.tell(state, pop.leftCols(2), Eigen::VectorXd::Zero(pop.rows())), Error);
}

TEST_CASE("on a flat function IPOP restarts from θ0 with a doubled population") {
  const Objective flat = [](const Eigen::VectorXd&) { return 1.0; };
  const Eigen::VectorXd x0 = Eigen::VectorXd::Constant(4, 0.7);
  const CmaEs plain(with(0.5));
  const StrategyState p = run(plain, flat, x0, 60);
  CHECK(p.as<CmaState>().restarts == 0);
  CHECK(p.as<CmaState>().lambda == 8);

  const CmaEs ipop(with(0.5, CmaRestarts::ipop));
  StrategyState state = ipop.init(x0);
  int restarts_seen = 0;
  for (std::uint64_t g = 0; g < 200 && restarts_seen < 2; ++g) {
    RandomStream rng(1, Purpose::strategy, {g});
    const Eigen::MatrixXd pop = ipop.ask(state, rng);
    state = ipop.tell(state, pop, evaluate(flat, pop));
    const CmaState& cs = state.as<CmaState>();
    if (cs.restarts > restarts_seen) {
      restarts_seen = static_cast<int>(cs.restarts);
      CAPTURE(restarts_seen);
      // EqualFunValues fires first on a flat function.
      CHECK(cs.last_stop == CmaStop::equal_fun_values);
      CHECK(cs.lambda == (8 << restarts_seen));
      CHECK(bitwise_equal(ipop.mean(state), x0));
      CHECK(ipop.step_size(state) == 0.5);
      CHECK(cs.run_generation == 0);
      CHECK(bitwise_equal(cs.C, Eigen::MatrixXd::Identity(4, 4)));
      CHECK(cs.history_best.size() == 0);
    }
  }
  CHECK(restarts_seen == 2);
}

TEST_CASE("BIPOP alternates a large (doubling) and small (smaller σ, budget-capped) regime; max_restarts ends restarting") {
  const Objective flat = [](const Eigen::VectorXd&) { return 1.0; };
  const Eigen::VectorXd x0 = Eigen::VectorXd::Constant(4, -0.2);
  CmaOptions o = with(0.5, CmaRestarts::bipop);
  o.max_restarts = 3;
  const CmaEs bipop(o);
  StrategyState state = bipop.init(x0);
  std::vector<std::int64_t> lambdas = {state.as<CmaState>().lambda};
  std::vector<double> sigmas = {bipop.step_size(state)};
  std::vector<CmaRegime> regimes = {state.as<CmaState>().regime};
  for (std::uint64_t g = 0; g < 400; ++g) {
    RandomStream rng(1, Purpose::strategy, {g});
    const Eigen::MatrixXd pop = bipop.ask(state, rng);
    const std::int64_t before = state.as<CmaState>().restarts;
    state = bipop.tell(state, pop, evaluate(flat, pop));
    const CmaState& cs = state.as<CmaState>();
    if (cs.restarts != before) {
      lambdas.push_back(cs.lambda);
      sigmas.push_back(bipop.step_size(state));
      regimes.push_back(cs.regime);
      CHECK(bitwise_equal(bipop.mean(state), x0));
    }
  }
  REQUIRE(lambdas.size() >= 4);
  // Run 0: default λ (counted as small). Run 1: large, 2λ. Then small runs (λ in [λ0, 2λ0],
  // σ in (σ0/100, σ0]) until their budget reaches the large one, then large 4λ0, ...
  CHECK(regimes[0] == CmaRegime::small);
  CHECK(lambdas[1] == 16);
  CHECK(regimes[1] == CmaRegime::large);
  CHECK(sigmas[1] == 0.5);
  bool small_seen = false, large_4 = false;
  std::int64_t last_large = lambdas[1];
  for (std::size_t i = 2; i < lambdas.size(); ++i) {
    CAPTURE(i);
    if (regimes[i] == CmaRegime::small) {
      small_seen = true;
      CHECK(lambdas[i] >= 8);
      CHECK(lambdas[i] <= last_large);   // λ0 · (λ_large/λ0)^{u²}
      CHECK(sigmas[i] <= 0.5);
      CHECK(sigmas[i] > 0.005);
    } else {
      CHECK(sigmas[i] == 0.5);
      CHECK(lambdas[i] == 2 * last_large);
      last_large = lambdas[i];
      if (lambdas[i] == 32) large_4 = true;
    }
  }
  CHECK(small_seen);
  CHECK(large_4);
  // max_restarts = 3 large restarts: after the third large run starts, no further restarts.
  const CmaState& cs = state.as<CmaState>();
  CHECK(cs.restarts - cs.small_runs == 3);
  CHECK(cs.small_evaluations + cs.large_evaluations + cs.run_evaluations == cs.evaluations);
}

TEST_CASE("termination criteria: a converged sphere run ends by TolFun or TolX") {
  const CmaEs ipop(with(0.5, CmaRestarts::ipop));
  StrategyState state = ipop.init(Eigen::VectorXd::Constant(3, 1.0));
  CmaStop first = CmaStop::none;
  for (std::uint64_t g = 0; g < 3000 && first == CmaStop::none; ++g) {
    RandomStream rng(2, Purpose::strategy, {g});
    const Eigen::MatrixXd pop = ipop.ask(state, rng);
    state = ipop.tell(state, pop, evaluate(sphere, pop));
    first = state.as<CmaState>().last_stop;
  }
  CAPTURE(cma_stop_name(first));
  // A sphere converges until the function values are equal to within 1e-12 (TolFun) or the
  // steps vanish (TolX) — never by stagnation or conditioning.
  CHECK((first == CmaStop::tol_fun || first == CmaStop::tol_x));
  CHECK(cma_stop_name(CmaStop::max_iter) == "MaxIter");
  CHECK(cma_stop_name(CmaStop::condition_cov) == "ConditionCov");
}

TEST_CASE("sep-CMA-ES handles thousands of parameters: 2000-d sphere, 60 generations, well under a second") {
  const SepCmaEs sep(with(0.1));
  const Eigen::VectorXd x0 = Eigen::VectorXd::Constant(2000, 1.0);
  const StrategyState state = run(sep, sphere, x0, 60);
  CHECK(state.as<CmaState>().C.size() == 2000);
  CHECK(sphere(sep.mean(state)) < sphere(x0));
  CHECK(sep.mean(state).allFinite());
}

TEST_CASE("full CMA-ES learns a rotated ellipsoid that sep-CMA-ES cannot (n = 6)") {
  const Eigen::MatrixXd r = random_rotation(6, 17);
  const Objective rotated = [&](const Eigen::VectorXd& x) { return ellipsoid(r * x); };
  const Eigen::VectorXd x0 = random_start(6, 5);
  const MinimizeResult full = minimize(CmaEs(with(1.0)), rotated, x0, 1e-8, 6000, 1);
  const MinimizeResult sep = minimize(SepCmaEs(with(1.0)), rotated, x0, 1e-8, 6000, 1);
  CAPTURE(full.evaluations);
  CAPTURE(sep.best);
  CHECK(full.reached);
  CHECK_FALSE(sep.reached);
}

}  // TEST_SUITE

// ---- reference evaluation counts (README, "Strategy correctness") ----

namespace {

struct Benchmark {
  const char* label;
  bool separable;
  int n;
  Objective f;
  double reference;
  int min_successes;
};

// Median evaluations to f < 1e-8 over seeds 1..11 (x0 ~ U[-4, 4]^n from RandomStream(seed,
// probe), σ0 = 1/n); a failed run counts as infinitely many.
void check_reference(const Benchmark& b) {
  CmaOptions o;
  o.sigma0 = 1.0 / b.n;
  const CmaEs full(o);
  const SepCmaEs sep(o);
  const Strategy& s = b.separable ? static_cast<const Strategy&>(sep) : static_cast<const Strategy&>(full);
  std::vector<double> evals;
  int successes = 0;
  for (std::uint64_t seed = 1; seed <= 11; ++seed) {
    const MinimizeResult r = minimize(s, b.f, random_start(b.n, seed), 1e-8, 100000, seed);
    successes += r.reached;
    evals.push_back(r.reached ? static_cast<double>(r.evaluations) : std::numeric_limits<double>::infinity());
  }
  std::sort(evals.begin(), evals.end());
  const double median = evals[5];
  std::ostringstream line;
  line << b.label << ": median " << median << " evaluations (reference " << b.reference << ", ratio "
       << std::fixed << std::setprecision(3) << median / b.reference << "), " << successes << "/11 reached 1e-8";
  MESSAGE(line.str());
  CHECK(successes >= b.min_successes);
  CHECK(std::abs(median / b.reference - 1.0) <= 0.15);
}

double rastrigin(const Eigen::VectorXd& x) {
  double f = 10.0 * static_cast<double>(x.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) f += x(i) * x(i) - 10.0 * std::cos(2.0 * std::numbers::pi * x(i));
  return f;
}

}  // namespace

TEST_SUITE("slow") {

TEST_CASE("cma_es reference medians: sphere-10, ellipsoid-10, Rosenbrock-10, sphere-30") {
  check_reference({"cma_es sphere-10", false, 10, sphere, 1572, 11});
  check_reference({"cma_es ellipsoid-10", false, 10, ellipsoid, 4219, 11});
  check_reference({"cma_es rosenbrock-10", false, 10, rosenbrock, 5374, 10});
  check_reference({"cma_es sphere-30", false, 30, sphere, 4357, 11});
}

TEST_CASE("sep_cma_es reference medians: sphere-10, ellipsoid-30") {
  check_reference({"sep_cma_es sphere-10", true, 10, sphere, 1326, 11});
  check_reference({"sep_cma_es ellipsoid-30", true, 30, ellipsoid, 7835, 11});
}

TEST_CASE("IPOP and BIPOP restarts solve Rastrigin-5 (multimodal), where one CMA-ES run does not") {
  for (CmaRestarts r : {CmaRestarts::none, CmaRestarts::ipop, CmaRestarts::bipop}) {
    const CmaEs s(with(2.0, r));
    std::vector<double> evals;
    int successes = 0;
    for (std::uint64_t seed = 1; seed <= 11; ++seed) {
      const MinimizeResult res = minimize(s, rastrigin, random_start(5, seed), 1e-8, 100000, seed);
      successes += res.reached;
      evals.push_back(res.reached ? static_cast<double>(res.evaluations) : std::numeric_limits<double>::infinity());
    }
    std::sort(evals.begin(), evals.end());
    MESSAGE(s.name() << " rastrigin-5 (σ0 = 2): " << successes << "/11 reached 1e-8, median " << evals[5]
                     << " evaluations");
    if (r == CmaRestarts::none)
      CHECK(successes <= 3);
    else
      CHECK(successes == 11);
  }
}

}  // TEST_SUITE
