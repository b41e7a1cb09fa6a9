#pragma once
// Kolen–Pollack learning (Kolen & Pollack, "Backpropagation without weight transport", IEEE
// ICNN 1994; Akrout, Wilson, Humphreys, Lillicrap & Tweed, "Deep learning without weight
// transport", NeurIPS 2019, section 3, eqs. 7–8). The backward pass of feedback alignment,
//   δ_{l-1} = (δ_l B_lᵀ) ⊙ f'(z_{l-1}),   B_l (n_l × n_{l+1}) starting U(±scale·glorot) as FA's,
// but B_l learns: it receives the transpose of W_l's own update, and both decay,
//   ΔW_l = −η δ_l h_lᵀ − λ W_l,     ΔB_l = −η (δ_l h_lᵀ)ᵀ − λ B_l,
// so W_l − B_lᵀ shrinks by (1 − ηλ) every step whatever the data, and B_l → W_lᵀ.
//
// How B gets W's learning rate. The optimizer, not the rule, applies ΔW (with its learning
// rate, schedule, momentum or Adam moments), so the rule cannot compute η δhᵀ itself.
// Instead it watches the weights: compute_update keeps a copy of W_l, and after_update (which
// runs once the optimizer has stepped) adds the change W_l(new) − W_l(old), transposed, to
// B_l. B therefore receives exactly the step W received, with the same η, schedule and
// momentum/Adam state (as in Akrout et al.'s code, where B is a parameter of the same
// optimizer fed the transposed gradient), and no second learning rate has to be kept in step
// with the optimizer's by hand. The decay −ηλ(W, B) needs η too: the rule reads it off the same
// step, η_t = ‖ΔW‖/‖update‖ over the layers with feedback (exactly lr·schedule for SGD, the
// effective rate for momentum or Adam), and scales W_l and B_l by the same factor (1 − λη_t).
// A fixed per-step factor would keep shrinking the weights after a cosine schedule has brought
// η to zero (it cost 5 points of Fashion-MNIST accuracy in the last epoch of a 3-epoch run).
// The optimizer's own weight_decay acts on W only, so it does not make W and Bᵀ converge.
// Only the layers with a feedback matrix decay (l ≥ 1): the decay is there to make W_l and
// B_lᵀ converge, and W_0 has no B_0; decaying it too would only add L2 regularization (the
// optimizer's weight_decay does that), which cost 4 points of accuracy at λ = 0.1.
#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class KolenPollack final : public LearningRule {
 public:
  KolenPollack(float scale, float decay) : scale_(scale), decay_(decay) {}
  std::string name() const override { return "kolen_pollack"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  void after_update(Mlp& net, RuleState& state) const override;
  // Telemetry: B_l as it has learned so far.
  std::optional<Matrix> feedback_matrix(const RuleState& state, int layer) const override;

  // A front end: B_0 and one kernel per convolution, mirrored and decayed exactly as B_l.
  bool trains_front_end() const override { return true; }
  static std::vector<ParamSpec> params();
  // B_l of a state (l ≥ 1), writable so tests can set B_l = W_lᵀ.
  static Matrix& feedback(RuleState& state, int layer);

 private:
  float scale_, decay_;
};

}  // namespace plast
