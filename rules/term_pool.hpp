#pragma once
// A pool of local plasticity terms with fixed random feedback (Shervani-Tabar & Rosenbaum,
// "Meta-learning biologically plausible plasticity rules with random feedback pathways",
// Nature Communications 14:1805, 2023). Each layer's update is a weighted sum of named terms,
//   ΔW_l = − Σ_r θ_r F^r_l,
// and the coefficients θ_r are declared parameters, so a study searches them by name (the
// paper meta-learns them by gradient descent with an L1 penalty on θ, its Eq. (6), so that
// only the terms that matter survive: its Fig. 4d).
//
// Signals of layer l (W_l maps pre = h_l to post = h_{l+1}), per sample, then averaged over
// the batch like a gradient:
//   e_{l+1} = the error at post delivered by feedback: e_L = ∂L/∂z_L (softmax − one-hot for
//             cross-entropy), e_l = (e_{l+1} B_lᵀ) ⊙ f'(z_{l−1}) — feedback alignment's
//             backward pass (Lillicrap et al. 2016; rules/feedback_alignment.hpp), same B_l,
//             same stream, same range;
//   e_pre   = the error at pre: e_l for l ≥ 1; for the input layer e_in = e_1 B_0ᵀ with no
//             derivative (the inputs have none; the authors' code multiplies by the softplus
//             derivative of the input too, which is meaningless for inputs that can be < 0).
//
// The terms (θ's names; "paper" marks the terms of the authors' published pool, F0, F2, F9 in
// the paper's numbering, and "code" those of the authors' earlier pool in their repository
// NeuralDynamicsAndComputing/MetaLearning-Plasticity, optim.py; the rest are the classics the
// issue asks for). The sign follows the paper: error terms with θ > 0 descend (they enter like
// a gradient), activity terms with θ > 0 potentiate (Hebbian), decay with θ > 0 shrinks w.
//   pseudo_grad   F0 = e_post pre ᵀ                         paper: FA's update (θ = η)
//   error_hebb    F2 = e_post e_pre ᵀ                       paper: error-based Hebbian
//   oja_subspace  F9 = post preᵀ − (post postᵀ) W            paper: Oja's rule, subspace form (Oja 1989)
//   oja           post_i pre_j − post_i² w_ij               Oja 1982, single-neuron (local) form
//   hebb          post preᵀ                                 Hebb 1949
//   decay         w                                         weight decay
//   post_error    post e_preᵀ                               code: y_ℓ e_{ℓ−1}ᵀ
//   error_oja     e_post e_preᵀ − (e_post e_postᵀ) W        code: Oja's form on the errors
// The update handed to the optimizer (which subtracts it) is therefore
//   U_l = θ_pg F0 + θ_eh F2 + θ_pe F_pe + θ_eo F_eo − θ_oja F_oja − θ_ojas F9 − θ_hebb F_hebb + θ_decay w,
// and biases move by θ_pg Σ e_post only (FA's bias update). With the defaults (pseudo_grad 1,
// every other term 0) the rule is feedback_alignment exactly, given the same feedback stream.
// At the output layer post is the network's output as computed (the logits under
// cross-entropy; the paper uses the softmax probabilities there).
//
// `symmetric = 1` uses W_lᵀ as feedback (the paper's "sym" setting): with the defaults that is
// backprop, so tuning pseudo_grad tunes backprop's learning rate in the same harness.
#include <array>
#include <string>
#include <vector>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class TermPool final : public LearningRule {
 public:
  enum Term { pseudo_grad, error_hebb, oja_subspace, oja, hebb, decay, post_error, error_oja, term_count };

  explicit TermPool(const ParamValues& params);
  std::string name() const override { return "term_pool"; }
  bool local_plasticity() const override { return true; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  double update_flops(const MlpShape& shape, int batch) const override;

  static std::vector<ParamSpec> params();
  // The parameter name of each term, in Term order.
  static const std::array<std::string, term_count>& term_names();
  // The feedback matrix B_l of a state (n_l × n_{l+1}, the shape of W_lᵀ; B_0 carries the
  // error to the input layer), writable so tests can set it.
  static Matrix& feedback(RuleState& state, int layer);

  double coefficient(Term t) const { return theta_[t]; }

 private:
  bool uses_pre_error() const;
  std::array<double, term_count> theta_{};
  float scale_;
  bool symmetric_;
};

}  // namespace plast
