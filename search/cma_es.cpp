#include "search/cma_es.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <set>

#include <Eigen/Eigenvalues>

#include "lib/error.hpp"
#include "search/fitness_shaping.hpp"
#include "search/registry.hpp"
#include "search/sep_cma_es.hpp"

namespace plast {
namespace {

// Termination thresholds (Hansen 2016, Appendix B.3).
constexpr double kTolFun = 1e-12;
constexpr double kTolX = 1e-12;        // times the run's σ_0
constexpr double kTolXUp = 1e4;        // times the run's σ_0
constexpr double kMaxCondition = 1e14;

// The raw log weights w'_i = ln((λ+1)/2) − ln i, i = 1..λ (Table 1, eq. 49).
Eigen::VectorXd raw_weights(int lambda) {
  Eigen::VectorXd w(lambda);
  for (int i = 0; i < lambda; ++i) w(i) = std::log((lambda + 1) / 2.0) - std::log(static_cast<double>(i + 1));
  return w;
}

int ceil_div(double a) { return static_cast<int>(std::ceil(a)); }

// pycma's default MaxIter.
std::int64_t max_iterations(int n, int lambda) {
  return static_cast<std::int64_t>(100.0 + 150.0 * (n + 3.0) * (n + 3.0) / std::sqrt(static_cast<double>(lambda)));
}

double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const std::size_t k = v.size();
  return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

// Appends `value` to the history `h` and keeps only the last `keep` entries.
void push_history(Eigen::VectorXd& h, double value, Eigen::Index keep) {
  const Eigen::Index len = std::min<Eigen::Index>(h.size() + 1, keep);
  Eigen::VectorXd out(len);
  for (Eigen::Index i = 0; i + 1 < len; ++i) out(i) = h(h.size() - (len - 1) + i);
  out(len - 1) = value;
  h = std::move(out);
}

// The R2 low-discrepancy sequence (Roberts 2018): (frac(½ + k/ρ), frac(½ + k/ρ²)), ρ the plastic number.
std::pair<double, double> r2_point(std::int64_t k) {
  const double rho = 1.32471795724474602596;
  const double a = 0.5 + static_cast<double>(k) / rho, b = 0.5 + static_cast<double>(k) / (rho * rho);
  return {a - std::floor(a), b - std::floor(b)};
}

std::string restart_prefix(CmaRestarts r) {
  switch (r) {
    case CmaRestarts::none: return "";
    case CmaRestarts::ipop: return "ipop_";
    case CmaRestarts::bipop: return "bipop_";
  }
  return "";
}

}  // namespace

void set_negative_weights(CmaParameters& p) {
  const Eigen::VectorXd raw = raw_weights(p.lambda);
  double pos = 0, neg = 0, neg2 = 0;
  for (int i = 0; i < p.lambda; ++i) {
    if (raw(i) > 0) pos += raw(i);
    if (raw(i) < 0) {
      neg += -raw(i);
      neg2 += raw(i) * raw(i);
    }
  }
  p.mu_eff_minus = neg2 > 0 ? neg * neg / neg2 : 0.0;
  p.alpha_mu_minus = 1.0 + p.c_1 / p.c_mu;
  p.alpha_mu_eff_minus = 1.0 + 2.0 * p.mu_eff_minus / (p.mu_eff + 2.0);
  p.alpha_posdef_minus = (1.0 - p.c_1 - p.c_mu) / (p.n * p.c_mu);
  const double alpha = std::min({p.alpha_mu_minus, p.alpha_mu_eff_minus, p.alpha_posdef_minus});
  p.weights.resize(p.lambda);
  for (int i = 0; i < p.lambda; ++i)
    p.weights(i) = raw(i) >= 0 ? raw(i) / pos : alpha * raw(i) / neg;
}

CmaParameters cma_defaults(int n, int lambda) {
  if (n < 1) throw Error("cma_es: the search space needs at least one dimension (got " + std::to_string(n) + ")");
  if (lambda < 0 || lambda == 1) throw InvalidValue("population", lambda, "must be 0 (the default) or >= 2");
  CmaParameters p;
  const double nd = n;
  p.n = n;
  p.lambda = lambda > 0 ? lambda : 4 + static_cast<int>(std::floor(3.0 * std::log(nd)));
  p.mu = p.lambda / 2;
  const Eigen::VectorXd raw = raw_weights(p.lambda);
  const Eigen::VectorXd head = raw.head(p.mu);
  p.mu_eff = head.sum() * head.sum() / head.squaredNorm();
  const double me = p.mu_eff;
  p.c_sigma = (me + 2.0) / (nd + me + 5.0);
  p.d_sigma = 1.0 + 2.0 * std::max(0.0, std::sqrt((me - 1.0) / (nd + 1.0)) - 1.0) + p.c_sigma;
  p.c_c = (4.0 + me / nd) / (nd + 4.0 + 2.0 * me / nd);
  const double alpha_cov = 2.0;
  p.c_1 = alpha_cov / ((nd + 1.3) * (nd + 1.3) + me);
  p.c_mu = std::min(1.0 - p.c_1,
                    alpha_cov * (0.25 + me + 1.0 / me - 2.0) / ((nd + 2.0) * (nd + 2.0) + alpha_cov * me / 2.0));
  p.c_m = 1.0;
  p.chi_n = std::sqrt(nd) * (1.0 - 1.0 / (4.0 * nd) + 1.0 / (21.0 * nd * nd));
  set_negative_weights(p);
  p.eigen_interval = std::max(1, static_cast<int>(std::floor(1.0 / (10.0 * nd * (p.c_1 + p.c_mu)))));
  return p;
}

std::string cma_stop_name(CmaStop stop) {
  switch (stop) {
    case CmaStop::none: return "none";
    case CmaStop::max_iter: return "MaxIter";
    case CmaStop::tol_fun: return "TolFun";
    case CmaStop::equal_fun_values: return "EqualFunValues";
    case CmaStop::stagnation: return "Stagnation";
    case CmaStop::tol_x: return "TolX";
    case CmaStop::tol_x_up: return "TolXUp";
    case CmaStop::no_effect_axis: return "NoEffectAxis";
    case CmaStop::no_effect_coord: return "NoEffectCoord";
    case CmaStop::condition_cov: return "ConditionCov";
  }
  return "unknown";
}

CmaEs::CmaEs(CmaOptions options) : options_(options) {
  if (!(options_.sigma0 > 0) || !std::isfinite(options_.sigma0))
    throw InvalidValue("sigma0", options_.sigma0, "must be > 0");
  if (options_.population < 0 || options_.population == 1)
    throw InvalidValue("population", options_.population, "must be 0 (the default 4 + floor(3 ln n)) or >= 2");
  // λ doubles per large restart; 20 keeps λ_0 · 2^20 far inside an int.
  if (options_.max_restarts < 0 || options_.max_restarts > 20)
    throw InvalidValue("max_restarts", options_.max_restarts, "must be in [0, 20]");
}

std::vector<ParamSpec> CmaEs::params(bool restarts) {
  std::vector<ParamSpec> specs = {
      {"sigma0", 0.5, 1e-12, 1e12, "initial step size: the standard deviation of every coordinate of θ at the start"},
      {"population", 0, 2, 1e6, "λ, candidates per generation; left out: 4 + floor(3 ln n)", true, true},
  };
  if (restarts)
    specs.push_back({"max_restarts", 9, 0, 20, "restarts from θ0 (large ones for BIPOP) before the last run goes on unchecked", true});
  return specs;
}

CmaOptions CmaEs::options_from(const ParamValues& values, CmaRestarts restarts) {
  CmaOptions o;
  o.sigma0 = values.at("sigma0");
  o.population = static_cast<int>(values.at("population"));
  o.restarts = restarts;
  if (const auto it = values.find("max_restarts"); it != values.end()) o.max_restarts = static_cast<int>(it->second);
  return o;
}

std::string CmaEs::name() const { return restart_prefix(options_.restarts) + "cma_es"; }

CmaParameters CmaEs::parameters(int n, int lambda) const { return cma_defaults(n, lambda); }

bool CmaState::optional_before_02(const char* name) {
  static const std::set<std::string> optional = {
      "B", "D", "eigen_generation", "x0", "sigma0_run", "history_best", "history_median", "history_equal",
      "restarts", "max_run_generations", "regime", "small_runs", "small_evaluations", "large_evaluations",
      "run_evaluations", "last_stop"};
  return optional.count(name) > 0;
}

StrategyState CmaEs::init(const Eigen::VectorXd& theta0) const {
  const int n = static_cast<int>(theta0.size());
  if (n < 1) throw Error(name() + ": θ0 is empty (nothing to search)");
  if (!theta0.allFinite()) throw Error(name() + ": θ0 has a non-finite entry");
  const CmaParameters p = parameters(n, options_.population);
  CmaState s;
  s.mean = theta0;
  if (options_.restarts != CmaRestarts::none) s.x0 = theta0;
  start_run(s, p.lambda, options_.sigma0);
  return make_state(std::move(s));
}

void CmaEs::start_run(CmaState& s, int lambda, double sigma0) const {
  const int n = static_cast<int>(s.mean.size());
  s.sigma = sigma0;
  s.p_sigma = Eigen::VectorXd::Zero(n);
  s.p_c = Eigen::VectorXd::Zero(n);
  reset_covariance(s, n);
  s.lambda = lambda;
  s.run_generation = 0;
  if (options_.restarts != CmaRestarts::none) {
    s.sigma0_run = sigma0;
    s.history_best.resize(0);
    s.history_median.resize(0);
    s.history_equal.resize(0);
    s.run_evaluations = 0;
    s.max_run_generations = max_iterations(n, lambda);
  }
}

Eigen::MatrixXd CmaEs::ask(const StrategyState& state, RandomStream& rng) const {
  const CmaState& s = fields_of(state);
  const Eigen::VectorXd& m = s.mean;
  const auto n = m.size();
  const auto lambda = static_cast<Eigen::Index>(s.lambda);
  Eigen::MatrixXd z(n, lambda);
  for (Eigen::Index k = 0; k < lambda; ++k)
    for (Eigen::Index i = 0; i < n; ++i) z(i, k) = rng.normal();
  const Eigen::MatrixXd y = scale(s, z);
  return ((s.sigma * y).colwise() + m).transpose();
}

StrategyState CmaEs::tell(const StrategyState& state, const Eigen::MatrixXd& population,
                          const Eigen::VectorXd& fitness) const {
  CmaState s = fields_of(state);
  const int n = static_cast<int>(s.mean.size());
  const int lambda = static_cast<int>(s.lambda);
  if (population.rows() != lambda || population.cols() != n || fitness.size() != lambda)
    throw Error(name() + ".tell: expected a " + std::to_string(lambda) + "×" + std::to_string(n) +
                " population and " + std::to_string(lambda) + " fitness values, got " +
                std::to_string(population.rows()) + "×" + std::to_string(population.cols()) + " and " +
                std::to_string(fitness.size()));
  const CmaParameters p = parameters(n, lambda);
  const std::vector<int> order = rank_order(fitness);   // NaN last

  // y_{i:λ} = (x_{i:λ} − m)/σ, by rank.
  Eigen::MatrixXd y(n, lambda);
  Eigen::VectorXd sorted_fitness(lambda);
  for (int i = 0; i < lambda; ++i) {
    y.col(i) = (population.row(order[static_cast<std::size_t>(i)]).transpose() - s.mean) / s.sigma;
    sorted_fitness(i) = fitness(order[static_cast<std::size_t>(i)]);
  }
  update(s, p, y);
  s.generation += 1;
  s.evaluations += lambda;
  if (options_.restarts != CmaRestarts::none) track_run(s, p, sorted_fitness);
  return make_state(std::move(s));
}

void CmaEs::update(CmaState& s, const CmaParameters& p, const Eigen::MatrixXd& y) const {
  const int n = p.n, lambda = p.lambda;
  const double sigma = s.sigma;
  const Eigen::MatrixXd z = whiten(s, y);   // C^{-1/2} y_{i:λ}, before C changes
  const Eigen::VectorXd w_pos = p.weights.head(p.mu);
  const Eigen::VectorXd y_w = y.leftCols(p.mu) * w_pos;   // ⟨y⟩_w (eq. 41)
  const Eigen::VectorXd z_w = z.leftCols(p.mu) * w_pos;   // C^{-1/2} ⟨y⟩_w

  s.mean += p.c_m * sigma * y_w;   // eq. 42

  // Step-size path (eq. 43) and the h_σ stall of the covariance path (Appendix A).
  s.p_sigma = (1.0 - p.c_sigma) * s.p_sigma + std::sqrt(p.c_sigma * (2.0 - p.c_sigma) * p.mu_eff) * z_w;
  const std::int64_t g = s.run_generation + 1;
  const double ps_norm = s.p_sigma.norm();
  const bool h_sigma = ps_norm / std::sqrt(1.0 - std::pow(1.0 - p.c_sigma, 2.0 * static_cast<double>(g))) <
                       (1.4 + 2.0 / (n + 1.0)) * p.chi_n;
  s.p_c = (1.0 - p.c_c) * s.p_c + (h_sigma ? std::sqrt(p.c_c * (2.0 - p.c_c) * p.mu_eff) : 0.0) * y_w;   // eq. 45

  // Active covariance update (eq. 46–47): negative weights act on y rescaled to length √n in
  // the C^{-1/2} metric, so a bad sample's distance does not inflate its removal.
  Eigen::VectorXd w_circ = p.weights;
  for (int i = 0; i < lambda; ++i)
    if (p.weights(i) < 0) {
      const double len2 = z.col(i).squaredNorm();
      w_circ(i) = len2 > 0 ? p.weights(i) * n / len2 : 0.0;
    }
  const double delta_h = (1.0 - (h_sigma ? 1.0 : 0.0)) * p.c_c * (2.0 - p.c_c);
  const double decay = 1.0 + p.c_1 * delta_h - p.c_1 - p.c_mu * p.weights.sum();
  s.run_generation = g;
  update_covariance(s, p, decay, s.p_c, y, w_circ);

  // Cumulative step-size adaptation (eq. 44).
  s.sigma = sigma * std::exp(p.c_sigma / p.d_sigma * (ps_norm / p.chi_n - 1.0));
}

void CmaEs::track_run(CmaState& s, const CmaParameters& p, const Eigen::VectorXd& sorted_fitness) const {
  const int n = p.n, lambda = p.lambda;
  const std::int64_t g = s.run_generation;
  s.run_evaluations += lambda;
  const double inf = std::numeric_limits<double>::infinity();
  auto nan_to_inf = [&](double v) { return std::isnan(v) ? inf : v; };
  const int h_fun = 10 + ceil_div(30.0 * n / lambda);
  const int h_min = 120 + ceil_div(30.0 * n / lambda);
  const auto h_stag = std::min<std::int64_t>(20000, std::max<std::int64_t>(h_min, g / 5));
  push_history(s.history_best, nan_to_inf(sorted_fitness(0)), h_stag);
  push_history(s.history_median, nan_to_inf(sorted_fitness(lambda / 2)), h_stag);
  const int k = std::min(lambda, 1 + ceil_div(0.1 + lambda / 4.0));
  push_history(s.history_equal, nan_to_inf(sorted_fitness(0)) == nan_to_inf(sorted_fitness(k - 1)) ? 1.0 : 0.0, h_fun);

  const std::int64_t large_runs = s.restarts - s.small_runs;
  const bool may_restart = options_.restarts == CmaRestarts::ipop ? s.restarts < options_.max_restarts
                                                                  : large_runs < options_.max_restarts;
  if (!may_restart) return;
  const CmaStop stop = check_stop(s, p, sorted_fitness);
  if (stop != CmaStop::none) {
    s.last_stop = stop;
    restart(s);
  }
}

CmaStop CmaEs::check_stop(const CmaState& s, const CmaParameters& p, const Eigen::VectorXd& f) const {
  const int n = p.n, lambda = p.lambda;
  const std::int64_t g = s.run_generation;
  const double sigma = s.sigma, sigma0 = s.sigma0_run;
  const Eigen::VectorXd& m = s.mean;
  const Eigen::VectorXd& best = s.history_best;
  const Eigen::VectorXd& median = s.history_median;
  const int h_fun = 10 + ceil_div(30.0 * n / lambda);
  const int h_min = 120 + ceil_div(30.0 * n / lambda);

  if (g >= s.max_run_generations) return CmaStop::max_iter;

  if (best.size() >= h_fun && f.allFinite()) {
    const auto recent = best.tail(h_fun);
    if (recent.allFinite()) {
      const double hi = std::max(recent.maxCoeff(), f.maxCoeff()), lo = std::min(recent.minCoeff(), f.minCoeff());
      if (hi - lo < kTolFun) return CmaStop::tol_fun;
    }
  }

  if (s.history_equal.sum() > h_fun / 3.0) return CmaStop::equal_fun_values;

  if (best.size() >= h_min) {
    const auto len = best.size();
    const auto part = static_cast<Eigen::Index>(std::ceil(0.3 * static_cast<double>(len)));
    auto med = [&](const Eigen::VectorXd& h, Eigen::Index from) {
      return median_of(std::vector<double>(h.data() + from, h.data() + from + part));
    };
    if (med(best, len - part) >= med(best, 0) && med(median, len - part) >= med(median, 0)) return CmaStop::stagnation;
  }

  const Eigen::VectorXd diag = covariance_diagonal(s);
  const Eigen::VectorXd& p_c = s.p_c;
  bool small = true;
  for (int i = 0; i < n; ++i)
    if (!(sigma * std::abs(p_c(i)) < kTolX * sigma0 && sigma * std::sqrt(diag(i)) < kTolX * sigma0)) small = false;
  if (small) return CmaStop::tol_x;

  if (sigma * max_axis(s) > kTolXUp * sigma0) return CmaStop::tol_x_up;

  const Eigen::VectorXd shifted = m + 0.1 * sigma * principal_axis(s, static_cast<int>(g % n));
  if ((shifted.array() == m.array()).all()) return CmaStop::no_effect_axis;

  for (int i = 0; i < n; ++i)
    if (m(i) + 0.2 * sigma * std::sqrt(diag(i)) == m(i)) return CmaStop::no_effect_coord;

  if (!(condition(s) <= kMaxCondition)) return CmaStop::condition_cov;
  return CmaStop::none;
}

void CmaEs::restart(CmaState& s) const {
  const int n = static_cast<int>(s.mean.size());
  const int lambda0 = parameters(n, options_.population).lambda;
  const std::int64_t run_evaluations = s.run_evaluations;
  const std::int64_t restarts = ++s.restarts;
  int lambda = lambda0;
  double sigma0 = options_.sigma0;
  std::int64_t max_generations = 0;
  if (options_.restarts == CmaRestarts::ipop) {
    lambda = lambda0 << restarts;
    max_generations = max_iterations(n, lambda);
    s.regime = CmaRegime::large;
  } else {
    // BIPOP, with pycma's bookkeeping: the first run counts as small.
    (s.regime == CmaRegime::large ? s.large_evaluations : s.small_evaluations) += run_evaluations;
    const std::int64_t large = s.large_evaluations;
    if (s.small_evaluations < large) {
      const std::int64_t small_runs = ++s.small_runs;
      const double multiplier = std::ldexp(1.0, static_cast<int>(restarts - small_runs));
      const auto [u1, u2] = r2_point(small_runs);
      lambda = std::max(2, static_cast<int>(std::floor(lambda0 * std::pow(multiplier, u1 * u1))));
      sigma0 = options_.sigma0 * std::pow(0.01, u2);
      max_generations = std::min<std::int64_t>(max_iterations(n, lambda),
                                               std::max<std::int64_t>(1, static_cast<std::int64_t>(0.5 * static_cast<double>(large) / lambda)));
      s.regime = CmaRegime::small;
    } else {
      const std::int64_t large_runs = restarts - s.small_runs;
      lambda = lambda0 << large_runs;
      max_generations = max_iterations(n, lambda);
      s.regime = CmaRegime::large;
    }
  }
  s.mean = s.x0;
  start_run(s, lambda, sigma0);
  s.max_run_generations = max_generations;
}

Eigen::VectorXd CmaEs::mean(const StrategyState& state) const { return fields_of(state).mean; }

double CmaEs::step_size(const StrategyState& state) const { return fields_of(state).sigma; }

// ---- the full covariance model: C = B D² Bᵀ ----

void CmaEs::reset_covariance(CmaState& s, int n) const {
  s.C = Eigen::MatrixXd::Identity(n, n);
  s.B = Eigen::MatrixXd::Identity(n, n);
  s.D = Eigen::VectorXd::Ones(n);
  s.eigen_generation = 0;
}

Eigen::MatrixXd CmaEs::scale(const CmaState& s, const Eigen::MatrixXd& z) const {
  return s.B * (s.D.asDiagonal() * z);
}

Eigen::MatrixXd CmaEs::whiten(const CmaState& s, const Eigen::MatrixXd& y) const {
  const Eigen::MatrixXd& b = s.B;
  const Eigen::VectorXd inv_d = s.D.cwiseInverse();
  return b * (inv_d.asDiagonal() * (b.transpose() * y));
}

void CmaEs::update_covariance(CmaState& s, const CmaParameters& p, double decay, const Eigen::VectorXd& p_c,
                              const Eigen::MatrixXd& y, const Eigen::VectorXd& w_circ) const {
  Eigen::MatrixXd& c = s.C;
  c *= decay;
  c.noalias() += p.c_1 * p_c * p_c.transpose();
  c.noalias() += p.c_mu * (y * w_circ.asDiagonal()) * y.transpose();
  const Eigen::MatrixXd ct = c.transpose();
  c = 0.5 * (c + ct);   // exactly symmetric, whatever the rounding of the products

  const std::int64_t g = s.run_generation;
  if (g - s.eigen_generation < p.eigen_interval) return;
  s.eigen_generation = g;
  if (!c.allFinite()) throw Error(name() + ": the covariance matrix is no longer finite");
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(c);
  if (eig.info() != Eigen::Success) throw Error(name() + ": the eigendecomposition of C failed");
  Eigen::VectorXd d = eig.eigenvalues();
  // Rounding can leave an eigenvalue ≤ 0 when C is extremely ill-conditioned; keep D > 0 (the
  // ConditionCov criterion ends such runs in the restart variants).
  const double floor = std::max(d.maxCoeff(), 0.0) * 1e-20 + std::numeric_limits<double>::min();
  for (Eigen::Index i = 0; i < d.size(); ++i) d(i) = std::sqrt(std::max(d(i), floor));
  s.D = d;
  s.B = eig.eigenvectors();
}

Eigen::VectorXd CmaEs::covariance_diagonal(const CmaState& s) const { return s.C.diagonal(); }

Eigen::VectorXd CmaEs::principal_axis(const CmaState& s, int j) const { return s.D(j) * s.B.col(j); }

double CmaEs::condition(const CmaState& s) const {
  const double r = s.D.maxCoeff() / s.D.minCoeff();
  return r * r;
}

double CmaEs::max_axis(const CmaState& s) const { return s.D.maxCoeff(); }

// ---- registry ----

void register_cma_strategies(StrategyRegistry& r) {
  auto full = [](CmaRestarts restarts) {
    return [restarts](const ParamValues& v) {
      return std::make_shared<CmaEs>(CmaEs::options_from(v, restarts));
    };
  };
  r.add({"cma_es", "CMA-ES with active covariance update (Hansen 2016, 'The CMA evolution strategy: a tutorial')",
         CmaEs::params(false), full(CmaRestarts::none)});
  r.add({"ipop_cma_es", "CMA-ES restarting from θ0 with doubled population (Auger & Hansen 2005, IPOP)",
         CmaEs::params(true), full(CmaRestarts::ipop)});
  r.add({"bipop_cma_es", "CMA-ES restarting in large and small population regimes (Hansen 2009, BIPOP)",
         CmaEs::params(true), full(CmaRestarts::bipop)});
  r.add({"sep_cma_es", "diagonal CMA-ES, linear time and space in n (Ros & Hansen 2008, sep-CMA-ES)",
         CmaEs::params(false), [](const ParamValues& v) {
           return std::make_shared<SepCmaEs>(CmaEs::options_from(v, CmaRestarts::none));
         }});
}

}  // namespace plast
