#pragma once
// Benchmark functions with known optima (f* = 0 at x* = 0, Rosenbrock at x* = 1), used to
// verify strategies against reference evaluation counts (README, "Strategy correctness").
//   sphere     Σ x_i²
//   ellipsoid  Σ 10^(6(i−1)/(n−1)) x_i²                (condition number 1e6)
//   rosenbrock Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)²
//   rotated_ellipsoid  ellipsoid(R x) with a fixed random rotation R (seeded), which a
//              diagonal (separable) method cannot learn
#include <cstdint>
#include <functional>
#include <string>

#include <Eigen/Core>

#include "search/strategy.hpp"

namespace plast {

double sphere(const Eigen::VectorXd& x);
double ellipsoid(const Eigen::VectorXd& x);
double rosenbrock(const Eigen::VectorXd& x);
// A random orthogonal n×n matrix (QR of a Gaussian matrix with sign-fixed R), from `seed`.
Eigen::MatrixXd random_rotation(int n, std::uint64_t seed);

using Objective = std::function<double(const Eigen::VectorXd&)>;

struct MinimizeResult {
  long evaluations = 0;      // function evaluations until f < target (or the budget)
  bool reached = false;
  double best = 0.0;
  Eigen::VectorXd best_x;
};

// Runs ask/tell from x0 until an evaluated candidate has f < target or `max_evaluations` is
// spent. Generation g draws from RandomStream(seed, strategy, {g}).
MinimizeResult minimize(const Strategy& strategy, const Objective& f, const Eigen::VectorXd& x0, double target,
                        long max_evaluations, std::uint64_t seed);

}  // namespace plast
