#pragma once
// Direct feedback alignment (Nøkland, "Direct feedback alignment provides learning in deep
// neural networks", NeurIPS 2016, eq. 3): the output error e = dL/dz_L reaches every hidden
// layer directly through a fixed random matrix D_l (n_{l+1} × n_out):
//   δ_l = (e D_lᵀ) ⊙ f'(z_l) for hidden layers,  δ_L = e for the output layer.
// D_l ~ U(±scale·√(6/(n_{l+1}+n_out))).
#include <memory>
#include <vector>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class DirectFeedbackAlignment final : public LearningRule {
 public:
  explicit DirectFeedbackAlignment(float scale) : scale_(scale) {}
  // Given matrices instead of random ones (searched feedback, rules/feedback_space.hpp):
  // given[l] = D_l for the hidden layers l = 0 … L−2, checked against the student in make_state.
  explicit DirectFeedbackAlignment(std::shared_ptr<const std::vector<Matrix>> given)
      : scale_(1.0f), given_(std::move(given)) {}
  std::string name() const override { return "direct_feedback_alignment"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  double update_flops(const MlpShape& shape, int batch) const override;
  // A front end's convolutions each receive the output error through a fixed random D_k of shape
  // (its output volume's size × n_out), drawn from rng.child({Mlp::kFrontKey, k}).
  bool trains_front_end() const override { return true; }

  static std::vector<ParamSpec> params();
  // D_l of a hidden layer l (0 ≤ l < L−1), of shape (n_{l+1} × n_out).
  static Matrix& feedback(RuleState& state, int layer);

 private:
  float scale_;
  std::shared_ptr<const std::vector<Matrix>> given_;
};

}  // namespace plast
