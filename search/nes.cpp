#include "search/nes.hpp"

#include <algorithm>
#include <cmath>

#include <Eigen/Eigenvalues>
#include <Eigen/LU>

#include "lib/error.hpp"
#include "search/fitness_shaping.hpp"

namespace plast {

void check_told_population(const std::string& strategy, int n, const Eigen::MatrixXd& population,
                           const Eigen::VectorXd& fitness) {
  if (population.cols() != n || population.rows() < 1 || fitness.size() != population.rows())
    throw Error(strategy + ": tell() got a population of " + std::to_string(population.rows()) + "×" +
                std::to_string(population.cols()) + " with " + std::to_string(fitness.size()) +
                " fitness values for a problem of dimension " + std::to_string(n));
}

void pool_nan_utilities(const Eigen::VectorXd& fitness, Eigen::VectorXd& utilities) {
  double sum = 0.0;
  int count = 0;
  for (Eigen::Index i = 0; i < fitness.size(); ++i)
    if (std::isnan(fitness(i))) {
      sum += utilities(i);
      ++count;
    }
  if (count == 0) return;
  const double shared = count == fitness.size() ? 0.0 : sum / count;
  for (Eigen::Index i = 0; i < fitness.size(); ++i)
    if (std::isnan(fitness(i))) utilities(i) = shared;
}

int nes_default_population(int n) {
  return std::max(2, 4 + static_cast<int>(std::floor(3.0 * std::log(static_cast<double>(std::max(n, 1))))));
}

int mirrored_population(int given, int n) {
  if (given > 0) return given + given % 2;
  const int lambda = nes_default_population(n);
  return lambda + lambda % 2;
}

Eigen::VectorXd nes_utilities(int lambda) {
  Eigen::VectorXd u(lambda);
  const double top = std::log(static_cast<double>(lambda) / 2.0 + 1.0);
  for (int k = 0; k < lambda; ++k) u(k) = std::max(0.0, top - std::log(static_cast<double>(k + 1)));
  u /= u.sum();
  u.array() -= 1.0 / static_cast<double>(lambda);
  return u;
}

Eigen::MatrixXd expm_symmetric(const Eigen::MatrixXd& s) {
  const Eigen::MatrixXd sym = 0.5 * (s + s.transpose());
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> eig(sym);
  const Eigen::MatrixXd& v = eig.eigenvectors();
  return v * eig.eigenvalues().array().exp().matrix().asDiagonal() * v.transpose();
}

namespace {

// Utilities per population row (not per rank): row order_[k] gets u_k.
Eigen::VectorXd utilities_by_row(const Eigen::VectorXd& fitness) {
  const auto lambda = static_cast<int>(fitness.size());
  const Eigen::VectorXd by_rank = nes_utilities(lambda);
  const std::vector<int> order = rank_order(fitness);
  Eigen::VectorXd u(lambda);
  for (int k = 0; k < lambda; ++k) u(order[static_cast<std::size_t>(k)]) = by_rank(k);
  pool_nan_utilities(fitness, u);
  return u;
}

double default_nes_eta_sigma_separable(int n) {
  const double d = static_cast<double>(std::max(n, 1));
  return (3.0 + std::log(d)) / (5.0 * std::sqrt(d));
}

double default_nes_eta_full(int n) {
  const double d = static_cast<double>(std::max(n, 1));
  return 3.0 * (3.0 + std::log(d)) / (5.0 * d * std::sqrt(d));
}

}  // namespace

// ---------------------------------------------------------------- SNES

const std::vector<ParamSpec>& SnesOptions::specs() {
  static const std::vector<ParamSpec> s = {
      {"sigma0", 1.0, 1e-12, 1e12, "initial step size σ in every coordinate"},
      {"population", 0, 2, 1e6, "λ samples per generation; left out: 4 + floor(3 ln n)", true, true},
      {"eta_mean", 1.0, 0.0, 10.0, "learning rate η_μ of the mean"},
      {"eta_sigma", 0.0, 0.0, 10.0, "learning rate η_σ of the step sizes; 0 = (3 + ln n)/(5 sqrt n)"},
  };
  return s;
}

SnesOptions SnesOptions::from_params(const ParamValues& p) {
  SnesOptions o;
  o.sigma0 = p.at("sigma0");
  o.population = static_cast<int>(p.at("population"));
  o.eta_mean = p.at("eta_mean");
  o.eta_sigma = p.at("eta_sigma");
  return o;
}

int Snes::population(int n) const {
  return options_.population > 0 ? std::max(2, options_.population) : nes_default_population(n);
}

double Snes::eta_sigma(int n) const {
  return options_.eta_sigma > 0 ? options_.eta_sigma : default_nes_eta_sigma_separable(n);
}

StrategyState Snes::init(const Eigen::VectorXd& theta0) const {
  SnesState s;
  s.mean = theta0;
  s.sigma = Eigen::VectorXd::Constant(theta0.size(), options_.sigma0);
  return make_state(std::move(s));
}

Eigen::MatrixXd Snes::ask(const StrategyState& state, RandomStream& rng) const {
  const SnesState& s = fields_of(state);
  const Eigen::VectorXd& m = s.mean;
  const Eigen::VectorXd& sigma = s.sigma;
  const auto n = static_cast<int>(m.size());
  const int lambda = population(n);
  Eigen::MatrixXd pop(lambda, n);
  for (int k = 0; k < lambda; ++k)
    for (int i = 0; i < n; ++i) pop(k, i) = m(i) + sigma(i) * static_cast<double>(rng.normal());
  return pop;
}

StrategyState Snes::tell(const StrategyState& state, const Eigen::MatrixXd& population,
                         const Eigen::VectorXd& fitness) const {
  const SnesState& s = fields_of(state);
  const Eigen::VectorXd& m = s.mean;
  const Eigen::VectorXd& sigma = s.sigma;
  const auto n = static_cast<int>(m.size());
  check_told_population("snes", n, population, fitness);
  const Eigen::VectorXd u = utilities_by_row(fitness);
  Eigen::VectorXd grad_mu = Eigen::VectorXd::Zero(n), grad_sigma = Eigen::VectorXd::Zero(n);
  for (Eigen::Index k = 0; k < population.rows(); ++k) {
    const Eigen::VectorXd z = (population.row(k).transpose() - m).cwiseQuotient(sigma);
    grad_mu += u(k) * z;
    grad_sigma += u(k) * (z.array().square() - 1.0).matrix();
  }
  SnesState next;
  next.mean = m + options_.eta_mean * sigma.cwiseProduct(grad_mu);
  next.sigma = sigma.cwiseProduct((0.5 * eta_sigma(n) * grad_sigma).array().exp().matrix());
  next.generation = s.generation + 1;
  next.evaluations = s.evaluations + population.rows();
  return make_state(std::move(next));
}

Eigen::VectorXd Snes::mean(const StrategyState& state) const { return fields_of(state).mean; }

double Snes::step_size(const StrategyState& state) const {
  const Eigen::VectorXd& sigma = fields_of(state).sigma;
  return sigma.size() == 0 ? 0.0 : std::exp(sigma.array().log().mean());
}

// ---------------------------------------------------------------- xNES

const std::vector<ParamSpec>& XnesOptions::specs() {
  static const std::vector<ParamSpec> s = {
      {"sigma0", 1.0, 1e-12, 1e12, "initial step size σ (the shape B starts as the identity)"},
      {"population", 0, 2, 1e6, "λ samples per generation; left out: 4 + floor(3 ln n)", true, true},
      {"eta_mean", 1.0, 0.0, 10.0, "learning rate η_μ of the mean"},
      {"eta_sigma", 0.0, 0.0, 10.0, "learning rate η_σ of the step size; 0 = 3(3 + ln n)/(5 n sqrt n)"},
      {"eta_B", 0.0, 0.0, 10.0, "learning rate η_B of the shape B; 0 = 3(3 + ln n)/(5 n sqrt n)"},
  };
  return s;
}

XnesOptions XnesOptions::from_params(const ParamValues& p) {
  XnesOptions o;
  o.sigma0 = p.at("sigma0");
  o.population = static_cast<int>(p.at("population"));
  o.eta_mean = p.at("eta_mean");
  o.eta_sigma = p.at("eta_sigma");
  o.eta_B = p.at("eta_B");
  return o;
}

int Xnes::population(int n) const {
  return options_.population > 0 ? std::max(2, options_.population) : nes_default_population(n);
}

double Xnes::eta_sigma(int n) const { return options_.eta_sigma > 0 ? options_.eta_sigma : default_nes_eta_full(n); }

double Xnes::eta_B(int n) const { return options_.eta_B > 0 ? options_.eta_B : default_nes_eta_full(n); }

StrategyState Xnes::init(const Eigen::VectorXd& theta0) const {
  XnesState s;
  s.mean = theta0;
  s.sigma = options_.sigma0;
  s.B = Eigen::MatrixXd::Identity(theta0.size(), theta0.size());
  return make_state(std::move(s));
}

Eigen::MatrixXd Xnes::ask(const StrategyState& state, RandomStream& rng) const {
  const XnesState& s = fields_of(state);
  const Eigen::VectorXd& m = s.mean;
  const double sigma = s.sigma;
  const Eigen::MatrixXd& b = s.B;
  const auto n = static_cast<int>(m.size());
  const int lambda = population(n);
  Eigen::MatrixXd z(lambda, n);
  for (int k = 0; k < lambda; ++k)
    for (int i = 0; i < n; ++i) z(k, i) = static_cast<double>(rng.normal());
  // Row k: (μ + σ B z_k)ᵀ.
  Eigen::MatrixXd pop = sigma * (z * b.transpose());
  pop.rowwise() += m.transpose();
  return pop;
}

StrategyState Xnes::tell(const StrategyState& state, const Eigen::MatrixXd& population,
                         const Eigen::VectorXd& fitness) const {
  const XnesState& s = fields_of(state);
  const Eigen::VectorXd& m = s.mean;
  const double sigma = s.sigma;
  const Eigen::MatrixXd& b = s.B;
  const auto n = static_cast<int>(m.size());
  check_told_population("xnes", n, population, fitness);
  const Eigen::VectorXd u = utilities_by_row(fitness);
  // z_k = B⁻¹ (x_k − μ) / σ, all rows at once: Zᵀ = B⁻¹ (X − μ)ᵀ / σ.
  Eigen::MatrixXd centered = population.transpose();
  centered.colwise() -= m;
  const Eigen::MatrixXd zt = b.partialPivLu().solve(centered) / sigma;   // n × λ
  const Eigen::VectorXd g_delta = zt * u;
  const Eigen::MatrixXd g_m = zt * u.asDiagonal() * zt.transpose() - u.sum() * Eigen::MatrixXd::Identity(n, n);
  const double g_sigma = g_m.trace() / static_cast<double>(n);
  const Eigen::MatrixXd g_b = g_m - g_sigma * Eigen::MatrixXd::Identity(n, n);
  XnesState next;
  next.mean = m + options_.eta_mean * sigma * (b * g_delta);
  next.sigma = sigma * std::exp(0.5 * eta_sigma(n) * g_sigma);
  next.B = b * expm_symmetric(0.5 * eta_B(n) * g_b);
  next.generation = s.generation + 1;
  next.evaluations = s.evaluations + population.rows();
  return make_state(std::move(next));
}

Eigen::VectorXd Xnes::mean(const StrategyState& state) const { return fields_of(state).mean; }

double Xnes::step_size(const StrategyState& state) const { return fields_of(state).sigma; }

}  // namespace plast
