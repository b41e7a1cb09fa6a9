#include "search/random_search.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "search/nes.hpp"

namespace plast {

const std::vector<ParamSpec>& RandomSearchOptions::specs() {
  static const std::vector<ParamSpec> s = {
      {"sigma", 0.1, 1e-12, 1e12, "fixed sampling σ"},
      {"population", 0, 2, 1e6, "λ samples per generation; left out: 4 + floor(3 ln n)", true, true},
      {"around_best", 1, 0, 1, "1 = sample around the best point so far, 0 = around the initial point", true},
  };
  return s;
}

RandomSearchOptions RandomSearchOptions::from_params(const ParamValues& p) {
  RandomSearchOptions o;
  o.sigma = p.at("sigma");
  o.population = static_cast<int>(p.at("population"));
  o.around_best = p.at("around_best") != 0.0;
  return o;
}

int RandomSearch::population(int n) const {
  return options_.population > 0 ? options_.population : nes_default_population(n);
}

StrategyState RandomSearch::init(const Eigen::VectorXd& theta0) const {
  RandomSearchState s;
  s.center = theta0;
  s.best_x = theta0;
  s.best_f = std::numeric_limits<double>::infinity();
  return make_state(std::move(s));
}

Eigen::MatrixXd RandomSearch::ask(const StrategyState& state, RandomStream& rng) const {
  const RandomSearchState& s = fields_of(state);
  const Eigen::VectorXd& c = options_.around_best ? s.best_x : s.center;
  const auto n = static_cast<int>(c.size());
  const int lambda = population(n);
  Eigen::MatrixXd pop(lambda, n);
  for (int k = 0; k < lambda; ++k)
    for (int i = 0; i < n; ++i) pop(k, i) = c(i) + options_.sigma * static_cast<double>(rng.normal());
  return pop;
}

StrategyState RandomSearch::tell(const StrategyState& state, const Eigen::MatrixXd& population,
                                 const Eigen::VectorXd& fitness) const {
  const RandomSearchState& s = fields_of(state);
  check_told_population("random_search", static_cast<int>(s.center.size()), population, fitness);
  RandomSearchState next = s;
  double best = s.best_f;
  Eigen::Index arg = -1;
  for (Eigen::Index k = 0; k < fitness.size(); ++k)
    if (std::isfinite(fitness(k)) && fitness(k) < best) {
      best = fitness(k);
      arg = k;
    }
  if (arg >= 0) {
    next.best_x = population.row(arg).transpose();
    next.best_f = best;
  }
  next.generation += 1;
  next.evaluations += population.rows();
  return make_state(std::move(next));
}

Eigen::VectorXd RandomSearch::mean(const StrategyState& state) const { return fields_of(state).best_x; }

// σ is fixed; the state is still checked, so another strategy's state is refused here too.
double RandomSearch::step_size(const StrategyState& state) const {
  fields_of(state);
  return options_.sigma;
}

}  // namespace plast
