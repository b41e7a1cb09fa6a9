#pragma once
// Weight mirrors (Akrout, Wilson, Humphreys, Lillicrap & Tweed, "Deep learning without weight
// transport", NeurIPS 2019, section 4, eqs. 9–11). Learning in the forward weights is feedback
// alignment through a feedback matrix B_l (n_l × n_{l+1}):
//   δ_{l-1} = (δ_l B_lᵀ) ⊙ f'(z_{l-1}),
// and B_l learns in "mirror mode": the units of layer l fire noise x_l (zero mean, variance σ²,
// independent across units), the forward weights carry it to the layer above as
// y_{l+1} = W_l x_l, and B_l learns the correlation of its two ends,
//   ΔB_l = η_B x_l y_{l+1}ᵀ − λ B_l      (averaged over a batch of noise),
// whose expectation is η_B σ² W_lᵀ − λ B_l: B_l is pulled towards (η_B σ²/λ) W_lᵀ. The
// defaults (η_B = λ, σ = 1) make that fixed point W_lᵀ itself, so B also learns W's scale.
//
// Schedule: the paper alternates engaged mode (learning) with mirror mode; here every
// compute_update first runs `mirror_steps` mirror steps for every layer (with the current
// W, before the optimizer moves it) and then the engaged backward pass through the
// just-updated B. mirror_steps = 0 is feedback alignment with FA's B (same stream, same range).
// The noise batch has as many rows as the training batch. Noise is uniform on ±√3σ rather than
// Gaussian: the mirror's expectation only needs zero mean, variance σ² and independence, and a
// uniform draw costs a fraction of a Box–Muller normal (≈ 33,000 draws a step at 784-256-256-10).
// Nothing is mirrored into B_0 (nothing is below the first layer).
#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class WeightMirror final : public LearningRule {
 public:
  struct Options {
    float scale = 1.0f;       // initial B_l ~ U(±scale·glorot), as FA's
    float mirror_lr = 0.01f;  // η_B
    float decay = 0.01f;      // λ
    float sigma = 1.0f;       // noise standard deviation σ
    int mirror_steps = 1;     // mirror steps per training step
  };
  explicit WeightMirror(Options options) : o_(options) {}
  std::string name() const override { return "weight_mirror"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  double update_flops(const MlpShape& shape, int batch) const override;
  // Telemetry: B_l as mirrored so far.
  std::optional<Matrix> feedback_matrix(const RuleState& state, int layer) const override;

  static std::vector<ParamSpec> params();
  static Options options(const ParamValues& p);
  // B_l of a state (l ≥ 1), writable for tests.
  static Matrix& feedback(RuleState& state, int layer);

 private:
  Options o_;
};

}  // namespace plast
