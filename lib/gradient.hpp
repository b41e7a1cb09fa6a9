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
  DeltaBuffers() = default;
  DeltaBuffers(const MlpShape& shape, int capacity);
};

// Exact gradient: δ_{l-1} = (δ_l W_l) ⊙ f'(z_{l-1}), starting from the output delta.
void backprop_gradient(const Mlp& net, const ForwardCache& cache,
                       const Eigen::Ref<const Matrix>& output_delta, DeltaBuffers& buffers,
                       Gradients& out);

// Backprop's backward pass with each W_l replaced by a feedback matrix B_l (n_l × n_{l+1}, the
// shape of W_lᵀ; feedback[0] is never read): δ_{l-1} = (δ_l B_lᵀ) ⊙ f'(z_{l-1}). Feedback
// alignment and every rule that learns its B (Kolen–Pollack, weight mirrors) run this.
void feedback_gradient(const Mlp& net, const ForwardCache& cache, const Eigen::Ref<const Matrix>& output_delta,
                       const std::vector<Matrix>& feedback, DeltaBuffers& buffers, Gradients& out);

// Multiply–add count ×2 of the products in backprop_gradient (and of any rule with its shape).
double backprop_update_flops(const MlpShape& shape, int batch);
// ... and of one forward pass.
double forward_flops(const MlpShape& shape, int batch);

// Angle in degrees between two updates seen as flat vectors (90 when either is zero).
double angle_degrees(const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Matrix>& b);

}  // namespace plast
