#pragma once
// Synthetic gradients: decoupled neural interfaces (Jaderberg, Czarnecki, Osindero, Vinyals,
// Graves, Silver & Kavukcuoglu, "Decoupled Neural Interfaces using Synthetic Gradients",
// ICML 2017, section 2 and eqs. 1–3; cDNI in section 3.2).
//
// Every hidden activity h_j (j = 1 … L−1, the output of layer j−1) has a linear module M_j
// that predicts the gradient of the loss with respect to that activity from the activity itself
// (and, for cDNI, from the target y as well):
//   ĝ_j = M_j(h_j) = h_j A_j + b_j (+ y C_j),   A_j: n_j × n_j,  C_j: n_out × n_j,  b_j: 1 × n_j.
// The layer below learns from the prediction instead of a backward pass:
//   δ_{j−1} = (ĝ_j / B) ⊙ f'(z_{j−1}),   ΔW_{j−1} ∝ δ_{j−1}ᵀ h_{j−1}
// (the output layer uses the true δ_out). The modules regress targets, minimizing
// ½‖ĝ_j − g_j‖² (the paper's L2 loss): the top module sees the true gradient,
//   g_{L−1} = B · δ_out W_{L−1}   (= ∂ℓ/∂h_{L−1} of each sample),
// and every module below is trained on a bootstrapped target: the next module's prediction
// carried down through the layer between them (the paper's eq. 3),
//   g_j = (ĝ_{j+1} ⊙ f'(z_j)) W_j.
//
// What is predicted: ∂ℓ/∂h_j, the gradient with respect to the activity (as in the paper, δ̂_i
// ≈ ∂L/∂h_i), not with respect to the pre-activation z. The derivative f'(z_{j−1}) is local to
// the layer below, which applies it itself exactly as in backprop; a linear module could not
// represent the product with f'(z) (it depends on z elementwise), so leaving it out of what is
// predicted makes the prediction linear wherever the layers above are (a linear network's
// gradient map is exactly h A + y C + b, the reduction the tests check). Modules predict the
// gradient of one sample's loss ℓ_n (B times plast's batch-mean dL/dh), so what they learn does
// not depend on the batch size; the update divides by B as every other rule's does.
//
// Deviations, and why:
//  - Order within a step (`fresh`). DNI trains a module when its target arrives, after the layer
//    below has already used the module's prediction (that is what unlocks the update): that is
//    `fresh: 0`. A plast step has the whole batch's signals at once, so by default (`fresh: 1`)
//    each module, from the top down, first takes its step on this batch's target and the layer
//    below then learns from the freshly trained module (its prediction one step fresher). With
//    modules initialized at zero (as in the paper) every layer then moves from the first step
//    on, and the prediction is better: on a 4,000-image MNIST subset (784-128-128-10 tanh,
//    momentum 0.01, 5 epochs) cDNI reached 87.4% fresh and 86.3% in DNI's order; backprop
//    91.6%, FA 90.0%, the output layer alone (lr 0) 81.0%. The prediction loss reported is
//    measured before the step, on a batch the module has not trained on.
//  - Module optimizer. The paper trains modules with Adam; here a module takes one normalized
//    least-mean-squares step per batch (Widrow & Hoff; NLMS),
//      Θ ← Θ − (lr / mean_n ‖x_n‖²) · (1/B) xᵀ(ĝ − g),   x = [h, y, 1],
//    so lr is the fraction of the batch error removed (stable for 0 < lr < 2) whatever the
//    layer's width and activity scale, and one default serves every network (lr 1 beat 0.1 and
//    0.3 for cDNI on the MNIST subset above; 0.1 trained DNI's lower layer against the gradient,
//    telemetry angle > 90°). `normalized: 0` gives plain SGD with step lr. The student's
//    optimizer (SGD, momentum, Adam) applies the weight updates as for every rule; the modules
//    are the rule's own state.
//  - Modules are linear (the paper also uses linear modules for its MNIST MLPs; its best use
//    one or two hidden layers). Their weights start at zero (the paper zeroes the modules'
//    last layer) or, with init_scale > 0, at U(±init_scale·glorot(n_j, n_j)).
//  - No update locking or asynchrony is simulated: every layer updates every step.
//
// A limit worth knowing: unconditional linear modules cannot follow a regression's gradient.
// The top module's target is (out − y) W; once the output layer has fit, the residual out − y is
// linearly uncorrelated with h, so a linear function of h predicts almost none of it (relative
// prediction loss ≈ 1 on a tanh teacher, tests/rules/test_synthetic_gradients.cpp). cDNI reads y
// and predicts it (relative loss 0.06 for the top module there).
#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class SyntheticGradients final : public LearningRule {
 public:
  struct Options {
    float lr = 1.0f;           // module learning rate (NLMS fraction when normalized)
    bool conditional = false;  // cDNI: the module also reads the target y
    float init_scale = 0.0f;   // module weights ~ U(±init_scale·glorot); 0: zeros (the paper)
    bool normalized = true;    // NLMS step (lr / mean ‖x‖²) or plain SGD (lr)
    bool fresh = true;         // the layer below reads the module after (true) or before its step
  };
  // One module M_j: ĝ = h A + b (+ y C).
  struct Module {
    Matrix a;        // n_j × n_j
    Matrix c;        // n_out × n_j (cDNI), empty otherwise
    RowVector bias;  // 1 × n_j
  };

  explicit SyntheticGradients(Options options) : o_(options) {}
  std::string name() const override { return "synthetic_gradients"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  double update_flops(const MlpShape& shape, int batch) const override;

  static std::vector<ParamSpec> params();
  static Options options(const ParamValues& p);
  // M_j of a state, for the hidden activity h_j (1 ≤ j ≤ L−1); writable for tests.
  static Module& module(RuleState& state, int activity);
  // M_j's prediction loss in the last compute_update, measured before its step:
  // ½ mean_n ‖ĝ_n − g_n‖², and that divided by ½ mean_n ‖g_n‖² (1 for a zero module).
  static double module_loss(const RuleState& state, int activity);
  static double module_relative_loss(const RuleState& state, int activity);

 private:
  Options o_;
};

}  // namespace plast
