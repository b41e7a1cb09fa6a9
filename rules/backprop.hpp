#pragma once
// Backpropagation (Rumelhart, Hinton & Williams, Nature 1986): the exact gradient,
// δ_L = dL/dz_L,  δ_{l-1} = (δ_l W_l) ⊙ f'(z_{l-1}),  ΔW_l ∝ −δ_lᵀ h_l.
// It needs weight transport (W_l in the backward pass), which is what the other rules avoid.
#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class Backprop final : public LearningRule {
 public:
  std::string name() const override { return "backprop"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  bool applies_dropout() const override { return true; }   // backprop_gradient reads the cache's masks
  bool trains_front_end() const override { return true; }  // backprop_gradient continues through it

  static std::vector<ParamSpec> params() { return {}; }
};

}  // namespace plast
