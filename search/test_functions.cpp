#include "search/test_functions.hpp"

#include <Eigen/QR>
#include <cmath>
#include <limits>

namespace plast {

double sphere(const Eigen::VectorXd& x) { return x.squaredNorm(); }

double ellipsoid(const Eigen::VectorXd& x) {
  const auto n = x.size();
  double f = 0.0;
  for (Eigen::Index i = 0; i < n; ++i) {
    const double e = n > 1 ? 6.0 * static_cast<double>(i) / static_cast<double>(n - 1) : 0.0;
    f += std::pow(10.0, e) * x(i) * x(i);
  }
  return f;
}

double rosenbrock(const Eigen::VectorXd& x) {
  double f = 0.0;
  for (Eigen::Index i = 0; i + 1 < x.size(); ++i) {
    const double a = x(i + 1) - x(i) * x(i), b = 1.0 - x(i);
    f += 100.0 * a * a + b * b;
  }
  return f;
}

Eigen::MatrixXd random_rotation(int n, std::uint64_t seed) {
  RandomStream rng(seed, Purpose::probe, {static_cast<std::uint64_t>(n)});
  Eigen::MatrixXd g(n, n);
  for (Eigen::Index i = 0; i < g.size(); ++i) g.data()[i] = rng.normal();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  Eigen::MatrixXd q = qr.householderQ();
  const Eigen::MatrixXd r = qr.matrixQR().triangularView<Eigen::Upper>();
  for (int j = 0; j < n; ++j)
    if (r(j, j) < 0) q.col(j) *= -1.0;
  return q;
}

MinimizeResult minimize(const Strategy& strategy, const Objective& f, const Eigen::VectorXd& x0, double target,
                        long max_evaluations, std::uint64_t seed) {
  MinimizeResult result;
  result.best = std::numeric_limits<double>::infinity();
  StrategyState state = strategy.init(x0);
  for (std::uint64_t g = 0; result.evaluations < max_evaluations; ++g) {
    RandomStream rng(seed, Purpose::strategy, {g});
    const Eigen::MatrixXd pop = strategy.ask(state, rng);
    Eigen::VectorXd fitness(pop.rows());
    for (Eigen::Index i = 0; i < pop.rows(); ++i) {
      fitness(i) = f(pop.row(i).transpose());
      ++result.evaluations;
      if (fitness(i) < result.best) {
        result.best = fitness(i);
        result.best_x = pop.row(i).transpose();
      }
      if (fitness(i) < target) {
        result.reached = true;
        return result;
      }
    }
    state = strategy.tell(state, pop, fitness);
  }
  return result;
}

}  // namespace plast
