#pragma once
// The LearningRule interface (DESIGN.md, "Central interfaces"). A rule is immutable and
// shared by every worker thread; everything a student accumulates while it learns
// (feedback matrices, traces, buffers) lives in its RuleState. A rule turns one batch's
// signals into an update for every layer, with the sign of a gradient (optimizers subtract it).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "lib/gradient.hpp"
#include "lib/loss.hpp"
#include "lib/mlp.hpp"
#include "lib/random.hpp"

namespace plast {

// What a rule may read for one training batch.
struct StepSignals {
  const Mlp& net;
  const ForwardCache& cache;                       // inputs h[0], every z and h
  const Eigen::Ref<const Matrix>& output_delta;    // dL/dz_out (already divided by the batch size)
  const Eigen::Ref<const Matrix>& target;
  std::uint64_t step;
  // The task's loss, for rules that measure it on a perturbed network (weight and node
  // perturbation: L = loss_value(*loss, z_out, h_out, target), the output activation being
  // net's). Empty where there is none (control tasks learn from reward, not from a target).
  std::optional<Loss> loss = std::nullopt;
};

class RuleState {
 public:
  virtual ~RuleState() = default;
  // A deep copy: used to probe a rule's update without disturbing the student's own state.
  virtual std::unique_ptr<RuleState> clone() const = 0;
};

class LearningRule {
 public:
  virtual ~LearningRule() = default;
  virtual std::string name() const = 0;
  // A fresh state for one student; `rng` is the student's own stream for this purpose.
  // `capacity` is the largest batch the student will see (buffers are sized once).
  virtual std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const = 0;
  // For rules that own the student's initial weights (a meta-learned initialization: Meta-SGD,
  // rules/meta_sgd.hpp): overwrites the weights and biases of a freshly initialized student.
  // make_student calls it right after the Glorot draw and before make_state, and run_episode
  // (lib/episode.hpp) after every episode's fresh draw, so a learned initialization replaces
  // the random one wherever a student starts. The default keeps the random draw. Throws
  // plast::Error when the rule's initialization does not fit the network's shape.
  virtual void initialize(Mlp& /*net*/) const {}
  // Writes the update of every layer into `out` (shaped like the network). Must not allocate.
  virtual void compute_update(const StepSignals& signals, RuleState& state, Gradients& out) const = 0;
  // Called once the optimizer has applied the update: rules that constrain the weights
  // themselves (Najarro & Risi 2020 divide each layer by its max |w|) do it here. Must not allocate.
  virtual void after_update(Mlp& /*net*/, RuleState& /*state*/) const {}
  // Optional fast path for plain SGD (Optimizer::plain_step_size): W ← W − η·update followed
  // by after_update, in as few passes over the weights as the rule can manage, without writing
  // the update out. Returns false when the rule has no such path (the caller then runs
  // compute_update, the optimizer and after_update). Must not allocate. Used where tiny
  // networks take millions of one-sample steps (control episodes): there the separate passes,
  // not the arithmetic, were the cost.
  virtual bool apply_sgd_step(const StepSignals& /*signals*/, RuleState& /*state*/, float /*step_size*/,
                              Mlp& /*net*/) const {
    return false;
  }
  // Floating-point operations of the matrix products in one compute_update, so that
  // `plast bench` can report a rule's throughput against the GEMM roofline. The default is
  // backprop's cost: dW_l = δ_lᵀh_l for every layer and δ_l W_l for every layer above the first.
  virtual double update_flops(const MlpShape& shape, int batch) const { return backprop_update_flops(shape, batch); }

  // Telemetry: what a training curve reports beside the update-vs-gradient angle.
  // The feedback matrix B_l that carries layer l's error to layer l−1, shaped like W_lᵀ
  // (n_l × n_{l+1}, l ≥ 1), for rules that send errors through one (FA, sign symmetry,
  // Kolen–Pollack, weight mirror, learned feedback): curves report ∠(W_lᵀ, B_l) and ‖B_l‖/‖W_l‖.
  // Empty for rules without one (backprop uses W_lᵀ itself; DFA's matrices skip layers).
  // A copy, because some rules build B_l on the fly (sign symmetry).
  virtual std::optional<Matrix> feedback_matrix(const RuleState& /*state*/, int /*layer*/) const { return std::nullopt; }
  // True for rules whose update is an unbiased estimate of the gradient (weight and node
  // perturbation): curves then report the estimate's signal-to-noise ratio ‖g‖²/‖ĝ − g‖².
  virtual bool estimates_gradient() const { return false; }
  // True for rules whose backward pass applies the training cache's dropout masks (lib/dropout.hpp;
  // backprop's, lib/gradient.cpp). make_student refuses dropout for every other rule: it would
  // see masked activations going forward and an unmasked error coming back.
  virtual bool applies_dropout() const { return false; }
  // True for rules that train a student's front end (convolution, pooling, normalization,
  // concatenation: lib/front_end.hpp) as well as its dense layers: their compute_update fills
  // Gradients::front. make_student refuses a front end to every other rule with one line naming
  // the rule and the layer.
  virtual bool trains_front_end() const { return false; }
  // True for local plasticity rules, whose Δw is a function of (pre, post, w, m) at each
  // synapse (Taylor and ABCD rules, term pools): only for them do `plast inspect`'s synapse
  // recording, nearest known rule and prune-and-refit mean something. Learners built on the
  // gradient or an error pathway (Meta-SGD, learned optimizers, FA, teachers) say false.
  virtual bool local_plasticity() const { return false; }
};

}  // namespace plast
