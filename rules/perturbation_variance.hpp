#pragma once
// The variance argument against simple perturbation learning (Werfel, Xie &
// Seung, Neural Computation 17:2699–2718, 2005, section 4): a single weight-perturbation
// estimate ĝ = (ΔL/σ²)ψ of the gradient g has, for small σ,
//   E‖ĝ − g‖² = E[(g·ε)² ‖ε‖²] − ‖g‖² = (N + 1)‖g‖²      (ε ~ N(0, I_N), N perturbed parameters)
// so its relative variance grows linearly with the number of weights; node perturbation's,
// E‖ĝ − g‖² = (M + 1)‖g‖² for one sample with M perturbed output units, grows with the number
// of units and not with the fan-in. This measures both with the rules themselves
// (rules/weight_perturbation, rules/node_perturbation; float32, finite σ) on linear students
// z = x Wᵀ + b with squared loss against a random linear teacher, one sample per estimate.
// Reproduce the table: build/tests/plast_tests -ts=slow -tc="*variance argument*"
// (tests/rules/test_perturbation.cpp prints it and checks the slopes).
#include <cstdint>
#include <vector>

namespace plast {

struct PerturbationVarianceOptions {
  // Student shapes (inputs, outputs), one row of the table each.
  std::vector<std::pair<int, int>> shapes = {{3, 3}, {5, 5}, {10, 10}, {20, 20}, {50, 50}, {100, 100}};
  int samples = 1000;        // single-sample estimates per shape and rule
  double sigma = 1e-3;       // perturbation size (small: the first-order regime)
  std::uint64_t seed = 1;
};

struct PerturbationVarianceRow {
  int inputs = 0, outputs = 0;
  long parameters = 0;       // N = weights + biases: what weight perturbation perturbs
  long units = 0;            // M = output units: what node perturbation perturbs (one sample)
  // E‖ĝ − g‖² / ‖g‖² over `samples` estimates, g the backprop gradient of the same sample.
  double weight_perturbation = 0.0;
  double weight_perturbation_antithetic = 0.0;
  double node_perturbation = 0.0;
};

// Throws plast::InvalidValue for a non-positive shape, sample count or σ.
std::vector<PerturbationVarianceRow> perturbation_variance(const PerturbationVarianceOptions& options);

// Least-squares slope of log y against log x (the exponent of a power law y ∝ x^slope).
double loglog_slope(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace plast
