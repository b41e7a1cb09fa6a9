#pragma once
// Random search — the baseline every strategy must beat. Gaussian samples with a fixed σ around
// a centre, keeping the best candidate ever evaluated:
//   around_best = 1  x_k = x_best + σ z_k   (a (1, λ)-elitist local random search, Rastrigin 1963,
//                                           "The convergence of the random search method in the
//                                           extremal control of a many-parameter system";
//                                           Matyas 1965, "Random optimization")
//   around_best = 0  x_k = θ0 + σ z_k       (pure random sampling around the initial point)
//   z_k ~ N(0, I); after each generation x_best ← argmin over {x_best} ∪ population (strict
//   improvement only; NaN and ±∞ never become the best).
// State: RandomSearchState below. mean() is the best point found.
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/params.hpp"
#include "search/strategy.hpp"

namespace plast {

struct RandomSearchOptions {
  double sigma = 0.1;         // fixed sampling σ
  int population = 0;         // λ; 0 = 4 + ⌊3 ln n⌋
  bool around_best = true;    // sample around the best so far (true) or around θ0 (false)

  static const std::vector<ParamSpec>& specs();
  static RandomSearchOptions from_params(const ParamValues& p);
};

struct RandomSearchState {
  Eigen::VectorXd center;          // θ0 (n)
  Eigen::VectorXd best_x;          // the best point so far (n; θ0 at first)
  double best_f = 0;               // its fitness (+∞ until a finite value is seen)
  std::int64_t generation = 0;
  std::int64_t evaluations = 0;

  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("center", s.center);
    f("best_x", s.best_x);
    f("best_f", s.best_f);
    f("generation", s.generation);
    f("evaluations", s.evaluations);
  }
};

class RandomSearch final : public TypedStrategy<RandomSearchState> {
 public:
  explicit RandomSearch(RandomSearchOptions options = {}) : options_(options) {}
  std::string name() const override { return "random_search"; }
  StrategyState init(const Eigen::VectorXd& theta0) const override;
  Eigen::MatrixXd ask(const StrategyState& state, RandomStream& rng) const override;
  StrategyState tell(const StrategyState& state, const Eigen::MatrixXd& population,
                     const Eigen::VectorXd& fitness) const override;
  Eigen::VectorXd mean(const StrategyState& state) const override;
  double step_size(const StrategyState& state) const override;

  int population(int n) const;

 private:
  RandomSearchOptions options_;
};

}  // namespace plast
