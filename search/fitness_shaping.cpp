#include "search/fitness_shaping.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lib/error.hpp"

namespace plast {

const std::vector<std::string>& shaping_names() {
  static const std::vector<std::string> names = {"identity", "z_score", "centered_ranks", "cma_weights"};
  return names;
}

Shaping parse_shaping(const std::string& name) {
  if (name == "identity") return Shaping::identity;
  if (name == "z_score") return Shaping::z_score;
  if (name == "centered_ranks") return Shaping::centered_ranks;
  if (name == "cma_weights") return Shaping::cma_weights;
  throw Error("unknown fitness shaping '" + name + "' (known: identity, z_score, centered_ranks, cma_weights)");
}

std::vector<int> rank_order(const Eigen::VectorXd& fitness) {
  std::vector<int> order(static_cast<std::size_t>(fitness.size()));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
    const double fa = fitness(a), fb = fitness(b);
    if (std::isnan(fa)) return false;
    if (std::isnan(fb)) return true;
    return fa < fb;
  });
  return order;
}

Eigen::VectorXd shape_fitness(Shaping shaping, const Eigen::VectorXd& fitness) {
  const auto n = fitness.size();
  Eigen::VectorXd u(n);
  if (n == 0) return u;
  // NaN counts as worse than the worst finite value.
  double worst = -std::numeric_limits<double>::infinity();
  for (Eigen::Index i = 0; i < n; ++i)
    if (!std::isnan(fitness(i))) worst = std::max(worst, fitness(i));
  switch (shaping) {
    case Shaping::identity:
      for (Eigen::Index i = 0; i < n; ++i) u(i) = std::isnan(fitness(i)) ? std::numeric_limits<double>::infinity() : fitness(i);
      return u;
    case Shaping::z_score: {
      Eigen::VectorXd f = fitness;
      for (Eigen::Index i = 0; i < n; ++i)
        if (std::isnan(f(i))) f(i) = std::isfinite(worst) ? worst : 0.0;
      const double mean = f.mean();
      const double sd = n > 1 ? std::sqrt((f.array() - mean).square().sum() / static_cast<double>(n - 1)) : 0.0;
      u = sd > 0 ? Eigen::VectorXd((f.array() - mean) / sd) : Eigen::VectorXd::Zero(n);
      for (Eigen::Index i = 0; i < n; ++i)
        if (std::isnan(fitness(i))) u(i) = std::max(u.maxCoeff(), 0.0) + 1.0;
      return u;
    }
    case Shaping::centered_ranks: {
      const auto order = rank_order(fitness);
      for (std::size_t r = 0; r < order.size(); ++r)
        u(order[r]) = n > 1 ? static_cast<double>(r) / static_cast<double>(n - 1) - 0.5 : 0.0;
      return u;
    }
    case Shaping::cma_weights: {
      const auto order = rank_order(fitness);
      const auto mu = std::max<Eigen::Index>(1, n / 2);
      Eigen::VectorXd w(mu);
      for (Eigen::Index i = 0; i < mu; ++i) w(i) = std::log((static_cast<double>(n) + 1.0) / 2.0) - std::log(static_cast<double>(i + 1));
      // λ = 1 makes the single log weight 0: fall back to equal weights.
      if (w.sum() > 0) w /= w.sum();
      else w.setConstant(1.0 / static_cast<double>(mu));
      u.setZero();
      for (Eigen::Index i = 0; i < mu; ++i) u(order[static_cast<std::size_t>(i)]) = w(i);
      return u;
    }
  }
  return u;
}

}  // namespace plast
