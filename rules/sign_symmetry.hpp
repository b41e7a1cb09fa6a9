#pragma once
// Sign-concordant feedback ("sign symmetry"): Liao, Leibo & Poggio, "How important is weight
// symmetry in backpropagation?", AAAI 2016 (uSF, brSF, frSF); Xiao, Chen, Liao & Poggio,
// "Biologically-plausible learning algorithms can scale to large datasets", ICLR 2019 (uSF at
// ImageNet scale, with a scaled sign); benchmarked as usf / brsf / frsf by BioTorch (Sanfiz &
// Akrout 2021). The backward pass of backprop with W_l replaced by a matrix that shares only
// W_l's signs, read from the CURRENT forward weights at every step:
//   δ_{l-1} = (δ_l B_lᵀ) ⊙ f'(z_{l-1}),   B_l = scale · m_l · sign(W_l)ᵀ ⊙ M_l   (n_l × n_{l+1}),
//   m_l = mean |W_l|  (the layer's current mean magnitude),
//   uSF:  M_l = 1                                   (uniform magnitude)
//   brSF: M_l ~ U(0, 2) entrywise, redrawn every batch  (batchwise random magnitude)
//   frSF: M_l ~ U(0, 2) entrywise, drawn once at the start (fixed random magnitude)
// Why m_l: the sign alone (BioTorch's uSF) has entries of 1, about 20× W's Glorot entries at
// 784-256-256-10, so the hidden deltas and updates would be ~20× backprop's per layer and the
// learning rate tuned for BP would not carry over. Xiao et al. scale the sign by a Glorot
// constant, which matches W only at initialization; m_l equals that constant's size at Glorot
// initialization (mean |U(±g)| = g/2) and keeps tracking the weights as they grow. E[M_l] = 1,
// so the three variants carry the same mean magnitude and differ only in how the magnitude is
// spread, the question Liao et al. asked. With m_l, uSF is exactly backprop when every weight
// of a layer has the same magnitude (W_l = ±c), which the tests check.
// B_0 is never used (nothing is below the first layer), so nothing is drawn for it.
#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class SignSymmetry final : public LearningRule {
 public:
  enum class Variant { uniform, batch_random, fixed_random };

  SignSymmetry(Variant variant, float scale) : variant_(variant), scale_(scale) {}
  std::string name() const override;
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  // Telemetry: the B_l the last compute_update built (feedback(state, layer)); the training
  // loop reads it after probing an update, so it is never the unfilled buffer of a fresh state.
  std::optional<Matrix> feedback_matrix(const RuleState& state, int layer) const override;
  // A front end's convolutions send their errors down through kernels built from their own
  // weights exactly as B_lᵀ is built from W_l (and B_0 carries δ_0 into the front end).
  bool trains_front_end() const override { return true; }

  // The registered name of a variant: usf, brsf, frsf.
  static std::string name_of(Variant variant);
  static std::vector<ParamSpec> params();

  // The feedback B_l (n_l × n_{l+1}, l ≥ 1) that the last compute_update used.
  static Matrix feedback(const RuleState& state, int layer);

 private:
  // bt = scale·mean|W|·sign(W) (⊙ M for frSF, ⊙ a fresh draw from rng.child({layer, step}) for brSF).
  void build(const Matrix& w, const Matrix& magnitude, const RandomStream& rng, std::uint64_t layer, std::uint64_t step,
             Matrix& bt) const;
  Variant variant_;
  float scale_;
};

}  // namespace plast
