#include "search/pgpe.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/error.hpp"
#include "search/nes.hpp"

namespace plast {

const std::vector<ParamSpec>& PgpeOptions::specs() {
  static const std::vector<ParamSpec> s = {
      {"sigma0", 1.0, 1e-12, 1e12, "initial exploration σ in every coordinate"},
      {"lr_mean", 0.2, 0.0, 10.0, "learning rate α_μ of the mean (Sehnke et al. 2010: 0.2)"},
      {"lr_sigma", 0.1, 0.0, 0.999, "learning rate α_σ of the exploration σ (Sehnke et al. 2010: 0.1)"},
      {"population", 0, 2, 1e6, "2N samples, even (symmetric pairs); left out: smallest even number >= 4 + floor(3 ln n)", true, true},
      {"baseline_decay", 0.9, 0.0, 1.0, "β of the moving-average baseline b ← β b + (1 − β) mean f"},
  };
  return s;
}

PgpeOptions PgpeOptions::from_params(const ParamValues& p) {
  PgpeOptions o;
  o.sigma0 = p.at("sigma0");
  o.lr_mean = p.at("lr_mean");
  o.lr_sigma = p.at("lr_sigma");
  o.population = static_cast<int>(p.at("population"));
  if (o.population % 2 != 0) throw InvalidValue("population", o.population, "must be even (symmetric pairs)");
  o.baseline_decay = p.at("baseline_decay");
  return o;
}

int Pgpe::population(int n) const {
  return mirrored_population(options_.population, n);
}

StrategyState Pgpe::init(const Eigen::VectorXd& theta0) const {
  PgpeState s;
  s.mean = theta0;
  s.sigma = Eigen::VectorXd::Constant(theta0.size(), options_.sigma0);
  s.baseline = 0.0;
  s.best = std::numeric_limits<double>::infinity();
  return make_state(std::move(s));
}

Eigen::MatrixXd Pgpe::ask(const StrategyState& state, RandomStream& rng) const {
  const PgpeState& s = fields_of(state);
  const Eigen::VectorXd& mu = s.mean;
  const Eigen::VectorXd& sigma = s.sigma;
  const auto n = static_cast<int>(mu.size());
  const int half = population(n) / 2;
  Eigen::MatrixXd pop(2 * half, n);
  for (int j = 0; j < half; ++j)
    for (int i = 0; i < n; ++i) {
      const double e = sigma(i) * static_cast<double>(rng.normal());
      pop(j, i) = mu(i) + e;
      pop(j + half, i) = mu(i) - e;
    }
  return pop;
}

StrategyState Pgpe::tell(const StrategyState& state, const Eigen::MatrixXd& population,
                         const Eigen::VectorXd& fitness) const {
  const PgpeState& s = fields_of(state);
  const Eigen::VectorXd& mu = s.mean;
  const Eigen::VectorXd& sigma = s.sigma;
  const auto n = static_cast<int>(mu.size());
  check_told_population("pgpe", n, population, fitness);
  if (population.rows() % 2 != 0) throw Error("pgpe: tell() needs an even population (symmetric pairs)");
  PgpeState next = s;
  next.generation += 1;
  next.evaluations += population.rows();

  // Non-finite fitness counts as the worst finite value of this generation.
  double worst = -std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < fitness.size(); ++i)
    if (std::isfinite(fitness(i))) worst = std::max(worst, fitness(i));
  if (!std::isfinite(worst)) return make_state(std::move(next));
  Eigen::VectorXd f = fitness;
  for (Eigen::Index i = 0; i < f.size(); ++i)
    if (!std::isfinite(f(i))) f(i) = worst;

  const auto half = population.rows() / 2;
  const double best = std::min(s.best, f.minCoeff());
  const double b = s.baseline;
  const bool has_baseline = std::isfinite(s.best);   // set with the first finite generation
  Eigen::VectorXd step_mu = Eigen::VectorXd::Zero(n), step_sigma = Eigen::VectorXd::Zero(n);
  double mean_pair = 0.0;
  for (Eigen::Index j = 0; j < half; ++j) {
    const Eigen::VectorXd eps = 0.5 * (population.row(j) - population.row(j + half)).transpose();
    const double fp = f(j), fm = f(j + half), pair = 0.5 * (fp + fm);
    mean_pair += pair / static_cast<double>(half);
    const double denom = fp + fm - 2.0 * best;
    if (denom > 0.0) step_mu += ((fm - fp) / denom) * eps;
    if (has_baseline && b - best > 0.0) {
      const double r_s = (b - pair) / (b - best);
      if (r_s > 0.0) step_sigma += r_s * (eps.array().square() - sigma.array().square()).matrix().cwiseQuotient(sigma);
    }
  }
  const double scale = 1.0 / static_cast<double>(half);
  next.mean = mu + options_.lr_mean * scale * step_mu;
  next.sigma = sigma + options_.lr_sigma * scale * step_sigma;
  const double beta = options_.baseline_decay;
  next.baseline = has_baseline ? beta * b + (1.0 - beta) * mean_pair : mean_pair;
  next.best = best;
  return make_state(std::move(next));
}

Eigen::VectorXd Pgpe::mean(const StrategyState& state) const { return fields_of(state).mean; }

double Pgpe::step_size(const StrategyState& state) const {
  const Eigen::VectorXd& sigma = fields_of(state).sigma;
  return sigma.size() == 0 ? 0.0 : std::exp(sigma.array().log().mean());
}

}  // namespace plast
