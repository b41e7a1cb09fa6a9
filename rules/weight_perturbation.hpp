#pragma once
// Weight perturbation (Jabri & Flower, "Weight perturbation: an optimal architecture and
// learning technique for analog VLSI feedforward and recurrent multilayer networks", IEEE
// Trans. Neural Networks 3(1):154–157, 1992; analysed by Werfel, Xie & Seung, "Learning curves
// for stochastic gradient descent in linear feedforward networks", NIPS 2003 / Neural
// Computation 17:2699–2718, 2005, eq. 2.3). Every parameter (weights and biases) is perturbed
// at once by ψ ~ N(0, σ²) and the change of the batch loss is broadcast to all of them:
//   update = (L(W + ψ) − L(W)) ψ / σ²                         (one-sided, the papers' form)
//   update = (L(W + ψ) − L(W − ψ)) ψ / (2σ²)                  (antithetic = 1)
// with the sign of a gradient (the optimizer subtracts it: ΔW = −η update). To first order
// E[update] = ∇L; for a loss quadratic in the weights (a linear network with squared loss)
// both forms are unbiased at any σ, because the odd moments of ψ vanish. Its variance grows
// with the number N of perturbed parameters (E‖update − ∇L‖² ≈ (N + 1)‖∇L‖² for small σ;
// rules/perturbation_variance.hpp measures it), the reason it cannot scale.
//
// The perturbed network and its forward cache are copies made in make_state; the noise comes
// from the state's stream (the rng given to make_state), so a step allocates nothing and a
// state clone repeats the same noise.
#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class WeightPerturbation final : public LearningRule {
 public:
  WeightPerturbation(float sigma, bool antithetic) : sigma_(sigma), antithetic_(antithetic) {}
  std::string name() const override { return "weight_perturbation"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  // One (or, antithetic, two) extra forward passes; the update itself is element-wise.
  double update_flops(const MlpShape& shape, int batch) const override;
  // Telemetry: the update is an unbiased estimate of the gradient (curves report its SNR).
  bool estimates_gradient() const override { return true; }

  static std::vector<ParamSpec> params();

 private:
  float sigma_;
  bool antithetic_;
};

}  // namespace plast
