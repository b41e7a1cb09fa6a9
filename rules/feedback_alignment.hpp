#pragma once
// Feedback alignment (Lillicrap, Cownden, Tweed & Akerman, "Random synaptic feedback weights
// support error backpropagation for deep learning", Nature Communications 7:13276, 2016).
// The backward pass of backprop with W_l replaced by a fixed random matrix:
//   δ_{l-1} = (δ_l B_lᵀ) ⊙ f'(z_{l-1}),   B_l of shape (n_l × n_{l+1}), i.e. the shape of W_lᵀ,
// so that B_l = W_lᵀ gives backprop exactly. B_l ~ U(±scale·√(6/(n_l+n_{l+1}))), the forward
// weights' own Glorot range; B_0 is never used (nothing is below the first layer) unless the
// student has a front end (lib/front_end.hpp): then B_0 carries δ_0 into it, and every
// convolution k sends its error down through a fixed random kernel of its weights' shape (the
// convolutional feedback alignment of Lansdell et al. 2020's CIFAR networks).
#include <memory>
#include <vector>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class FeedbackAlignment final : public LearningRule {
 public:
  explicit FeedbackAlignment(float scale) : scale_(scale) {}
  // Given feedback matrices instead of random ones (searched feedback, rules/feedback_space.hpp):
  // given[l] = B_l for l ≥ 1 (given[0] unused), checked against the student in make_state.
  explicit FeedbackAlignment(std::shared_ptr<const std::vector<Matrix>> given)
      : scale_(1.0f), given_(std::move(given)) {}
  std::string name() const override { return "feedback_alignment"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  // Telemetry: B_l itself (fixed, or given).
  std::optional<Matrix> feedback_matrix(const RuleState& state, int layer) const override;

  static std::vector<ParamSpec> params();
  bool trains_front_end() const override { return true; }

  // The feedback matrix B_l of a state (l ≥ 1), writable so tests can set B_l = W_lᵀ.
  // B_0 (layer 0) exists only for a student with a front end: it carries δ_0 into the front end.
  static Matrix& feedback(RuleState& state, int layer);
  // The front end's feedback kernels, one per convolution, each of its weights' shape; drawn as
  // B_l are (random_front_feedback), so a test can set them to the forward kernels.
  static std::vector<Matrix>& front_feedback(RuleState& state);

 private:
  float scale_;
  std::shared_ptr<const std::vector<Matrix>> given_;
};

}  // namespace plast
