#pragma once
// Weight updates of a whole network, and the exact gradient (backpropagation,
// Rumelhart, Hinton & Williams 1986) that every other rule is measured against.
// A rule's update follows the sign of a gradient: optimizers subtract it.
#include <vector>

#include "lib/mlp.hpp"

namespace plast {

struct Gradients {
  std::vector<Matrix> dW;      // dW[l] has the shape of W_l
  std::vector<RowVector> db;
  FrontWeights front;          // the front end's convolutions (lib/front_end.hpp); empty without one

  static Gradients like(const Mlp& net);   // zero, shaped as net
  void set_zero();
  bool all_finite() const;
};

// dW_l = δ_lᵀ h_l and db_l = Σ_rows δ_l, where δ_l = dL/dz_l for the cached batch.
void layer_gradient(const ForwardCache& cache, int layer, const Eigen::Ref<const Matrix>& delta,
                    Gradients& out);

// Per-layer δ buffers of a backward pass, allocated once.
struct DeltaBuffers {
  std::vector<Matrix> delta;   // delta[l]: capacity × n_{l+1}
  Matrix feature_error;        // front end only: dL/dh_0, capacity × n_0
  FrontBuffers front;          // front end only: its backward pass
  DeltaBuffers() = default;
  DeltaBuffers(const MlpShape& shape, int capacity);
};

// Exact gradient: δ_{l-1} = (δ_l W_l) ⊙ f'(z_{l-1}), starting from the output delta. With a
// front end, its error δ_0 W_0 continues through it with every convolution's own W.
void backprop_gradient(const Mlp& net, const ForwardCache& cache,
                       const Eigen::Ref<const Matrix>& output_delta, DeltaBuffers& buffers,
                       Gradients& out);

// Backprop's backward pass with each W_l replaced by a feedback matrix B_l (n_l × n_{l+1}, the
// shape of W_lᵀ; feedback[0] is never read): δ_{l-1} = (δ_l B_lᵀ) ⊙ f'(z_{l-1}). Feedback
// alignment and every rule that learns its B (Kolen–Pollack, weight mirrors) run this.
// With a front end, feedback[0] = B_0 (n_0 × n_1) carries δ_0 into it and front_feedback[k]
// (convolution k's weight shape) carries errors below convolution k (lib/front_end.hpp).
void feedback_gradient(const Mlp& net, const ForwardCache& cache, const Eigen::Ref<const Matrix>& output_delta,
                       const std::vector<Matrix>& feedback, DeltaBuffers& buffers, Gradients& out,
                       const std::vector<Matrix>* front_feedback = nullptr);

// Glorot-uniform random feedback for a student's front end, drawn as feedback alignment draws its
// B_l: B_0 (n_0 × n_1) from rng.child({0}) and convolution k's kernel from
// rng.child({Mlp::kFrontKey, k}), each in ±scale·(its forward weights' Glorot limit).
std::vector<Matrix> random_front_feedback(const Mlp& net, RandomStream& rng, float scale);
Matrix random_dense_input_feedback(const Mlp& net, RandomStream& rng, float scale);

// Multiply–add count ×2 of the products in backprop_gradient (and of any rule with its shape).
double backprop_update_flops(const MlpShape& shape, int batch);
// ... and of one forward pass.
double forward_flops(const MlpShape& shape, int batch);

// Angle in degrees between two updates seen as flat vectors (90 when either is zero).
double angle_degrees(const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Matrix>& b);

}  // namespace plast
