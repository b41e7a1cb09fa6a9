#pragma once
// Node perturbation (Werfel, Xie & Seung, "Learning curves for stochastic gradient descent in
// linear feedforward networks", Neural Computation 17:2699–2718, 2005, eq. 2.4; Fiete & Seung,
// "Gradient learning in spiking neural networks by dynamic perturbation of conductances",
// Phys. Rev. Lett. 97:048104, 2006). A second forward pass adds noise ξ_l ~ N(0, σ²) to the
// pre-activations of every layer (output included), z̃_l = h̃_l W_lᵀ + b_l + ξ_l, and each
// sample's loss change is broadcast back to the units it perturbed:
//   update_l = (1/B) Σ_n (L_n(ξ) − L_n) ξ_{l,n}ᵀ h_{l,n} / σ²,   update_b_l = (1/B) Σ_n (L_n(ξ) − L_n) ξ_{l,n} / σ²
// (the batch mean, as the loss is; L_n is sample n's loss, every sample has its own noise),
// with the sign of a gradient (ΔW = −η update). To first order L_n(ξ) − L_n = Σ_l δ_{l,n}·ξ_{l,n},
// so E[update_l] = (1/B) Σ_n δ_{l,n}ᵀ h_{l,n}, the backprop gradient. h_l is the clean pass's
// activity (the eligibility trace of the unperturbed input), which keeps the estimate unbiased
// to first order in σ. Its variance grows with the number of perturbed units, not of weights
// (rules/perturbation_variance.hpp measures both).
//
// The perturbed pass's buffers are sized in make_state; the noise comes from the state's
// stream, so a step allocates nothing.
#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class NodePerturbation final : public LearningRule {
 public:
  explicit NodePerturbation(float sigma) : sigma_(sigma) {}
  std::string name() const override { return "node_perturbation"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  // The noisy forward pass and the outer products ξ_lᵀ h_l.
  double update_flops(const MlpShape& shape, int batch) const override;
  // Telemetry: the update is an unbiased estimate of the gradient (curves report its SNR).
  bool estimates_gradient() const override { return true; }

  static std::vector<ParamSpec> params();

 private:
  float sigma_;
};

}  // namespace plast
