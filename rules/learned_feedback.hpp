#pragma once
// Feedback weights learned by node perturbation (Lansdell, Prakash & Kording, "Learning to
// solve the credit assignment problem", ICLR 2020, section 3 and its appendix; the MNIST
// network 784-50-20-10 and the direct variant follow the authors' code, github.com/benlansdell/
// synthfeedback, models/npmodels.py: NPModel4 and DirectNPModel4).
//
// The forward weights learn exactly as in feedback alignment (rules/feedback_alignment.hpp),
// through feedback matrices B_l (n_l × n_{l+1}, the shape of W_lᵀ, l ≥ 1):
//   δ_L−1 = dL/dz_out,   δ_{l-1} = (δ_l B_lᵀ) ⊙ f'(z_{l-1}),   update_l = δ_lᵀ h_l,
// and the B_l learn to carry the true error. Each batch gets the clean pass (the student's
// own) and one noisy pass with noise on the activity of every hidden layer k = 1 … L−1,
//   h̃_k = f(z̃_{k-1}) + ξ_k,   ξ_k = σ ε_k,  ε ~ N(0, I),   z̃_k = h̃_k W_kᵀ + b_k,
// the output itself unperturbed. The change of each sample's loss estimates the error that
// reaches the hidden activity, λ_k = dL_n/dh_k (the node-perturbation estimator, to first order
// L_n(ξ) − L_n = Σ_k λ_k·ξ_k, so E[λ̂] = λ):
//   λ̂_{k,n} = (L_n(ξ) − L_n) ξ_{k,n} / σ²,
// and B_k regresses λ̂_k on the error e_k = dL_n/dz_k that reaches it (the least-squares
// problem min_B E‖B e − λ̂‖², solved by SGD, one step per batch):
//   ΔB_k = −β (1/n) Σ_n (B_k e_{k,n} − λ̂_{k,n}) e_{k,n}ᵀ.
// The regression's fixed point is E[λ̂ e ᵀ] E[e eᵀ]⁻¹ = W_kᵀ when e is the true error, which it is
// for the top layer; each B_k learned makes the error below it exact, so the B_k become W_kᵀ
// from the top down and the update becomes backprop's.
//
// Topology (parameter `topology`):
//   0 layer to layer (FA, the paper's main method): B_k as above, e_k = δ_k of the rule's own
//     backward pass (as the authors' code does; the true δ is not available to the rule).
//   1 direct (DFA, Nøkland 2016; rules/direct_feedback_alignment.hpp): each hidden layer l
//     receives the output error e through D_l (n_{l+1} × n_out), δ_l = (e D_lᵀ) ⊙ f'(z_l), and
//     D_l regresses the error at its own activity: ΔD_l = −β (1/n) Σ_n (D_l e_n − λ̂_{l+1,n}) e_nᵀ.
//     D_l then learns the best linear map from output error to dL/dh_{l+1} (that Jacobian
//     depends on the input, so D_l cannot become it exactly, except for the top hidden layer).
//
// Parameters: sigma (σ, the noise's standard deviation), beta (β, the feedback matrices'
// learning rate; plain SGD, not the student's optimizer), scale (initial B_l or D_l ~
// U(±scale·glorot), drawn exactly as feedback_alignment's or direct_feedback_alignment's from
// the same stream, so β = 0 is FA or DFA with the same matrices), topology, normalize.
// The regression is least-mean-squares, stable for β·E‖e_k‖² < 2, so β scales with the inverse
// size of the errors: the default 0.05 suits regression tasks with errors of order one (a tanh
// teacher), the sigmoid/squared-error MNIST network of the paper wants β ≈ 1-10
// (studies/mnist-lansdell.yaml uses 3; 30 diverges). normalize = 1 divides each layer's step by
// the batch mean of ‖e_n‖² (normalized LMS), which makes one β in (0, 2) stable in every layer
// and task; it is off by default because, as the loss falls, it also amplifies the part of λ̂
// that is noise (on MNIST its B ended 15-25 degrees further from Wᵀ than plain SGD's).
//
// Deviations from the paper, and why:
//   - λ̂ uses each sample's own loss change (L_n(ξ) − L_n) against its own noise, as
//     rules/node_perturbation does; the authors' code multiplies every sample's noise by the
//     change of the batch's summed loss, which has the same expectation and a variance larger
//     by the other samples' loss changes.
//   - The regression is a batch mean (1/n Σ_n) over unscaled per-sample errors, so β does not
//     depend on the batch size (the code's sum over the batch is β_code = β / batch).
//   - B is updated after the forward update is computed with it (the code runs both in one
//     graph step, reading the old B too).
// The noisy pass, its noise and the regression use buffers sized in make_state; a step
// allocates nothing. The forward update with β = 0 is feedback alignment's (or DFA's), and with
// B_l = W_lᵀ it is backprop's.
#include <memory>
#include <optional>
#include <vector>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"
#include "rules/direct_feedback_alignment.hpp"
#include "rules/feedback_alignment.hpp"

namespace plast {

class LearnedFeedback final : public LearningRule {
 public:
  enum class Topology { layer_to_layer = 0, direct = 1 };
  struct Options {
    float sigma = 0.05f;   // σ
    float beta = 0.05f;    // β
    float scale = 1.0f;    // initial feedback ~ U(±scale·glorot)
    bool normalize = false; // normalized LMS: β / mean_n ‖e_n‖² per layer and batch
    Topology topology = Topology::layer_to_layer;
  };
  explicit LearnedFeedback(Options o) : o_(o), fa_(o.scale), dfa_(o.scale) {}
  std::string name() const override { return "learned_feedback"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  // The FA or DFA pass, the noisy forward pass, and per hidden layer the prediction B e and
  // the regression's outer product.
  double update_flops(const MlpShape& shape, int batch) const override;
  // B_l for the layer-to-layer topology (l ≥ 1); empty for the direct one (D_l skips layers).
  std::optional<Matrix> feedback_matrix(const RuleState& state, int layer) const override;

  static std::vector<ParamSpec> params();
  static Options options(const ParamValues& p);
  // Layer to layer only: B_0 carries δ_0 into a front end and each convolution's error goes down
  // through its own learned kernel; the noisy pass perturbs every front-end activity a weight
  // layer reads, and each kernel regresses λ̂ below it through col2im (as Lansdell et al. 2020
  // learned convolutional feedback for their CIFAR-10 networks).
  bool trains_front_end() const override { return o_.topology == Topology::layer_to_layer; }

  // Writable for tests: B_l (l ≥ 1) in the layer-to-layer topology, D_l (hidden l ≥ 0) in the direct one.
  static Matrix& feedback(RuleState& state, int layer);
  // λ̂_k of the last compute_update for hidden activity h_k (1 ≤ k ≤ L−1): the first `rows`
  // rows (the batch) are meaningful; each row is one sample's estimate of dL_n/dh_k.
  static const Matrix& error_estimate(const RuleState& state, int k);

 private:
  void regress_front(const StepSignals& s, RuleState& state) const;
  Options o_;
  FeedbackAlignment fa_;          // draws B_l as feedback_alignment does
  DirectFeedbackAlignment dfa_;   // the direct topology's forward update and D_l
};

}  // namespace plast
