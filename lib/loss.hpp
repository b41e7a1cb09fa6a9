#pragma once
// Losses of the student's output. All are batch means, so the output delta
// dL/dz_out carries the 1/B factor and rules need not know the batch size.
//   softmax_cross_entropy: L = -(1/B) Σ_n Σ_k t_nk log softmax(z_n)_k   (output activation linear)
//   mse:                   L =  (1/B) Σ_n ½‖h_n − t_n‖²                  (any output activation)
//   soft_targets (knowledge distillation, Hinton, Vinyals & Dean 2015 §2; linear output): the
//   target row holds a teacher's softened outputs p_n = softmax(z_teacher,n / T) and, when the
//   hard-label weight α > 0, the one-hot label y_n after them ([p_n | y_n], 2K columns):
//     L     = (1/B) Σ_n [ (1−α) T² KL(p_n ‖ softmax(z_n/T)) + α CE(y_n, softmax(z_n)) ]
//     dL/dz = (1/B)     [ (1−α) T (softmax(z/T) − p)       + α (softmax(z) − y) ]
//   The T² is the paper's: the soft term's gradient shrinks as 1/T², so multiplying by T² keeps
//   its size comparable across temperatures and against the hard term. KL differs from the
//   paper's cross-entropy only by the teacher's entropy (no gradient), and is 0 at a perfect
//   match; at T = 1, α = 0 and one-hot p it is exactly softmax_cross_entropy.
#include <string>
#include <string_view>

#include "lib/activation.hpp"
#include "lib/tensor.hpp"

namespace plast {

// A loss and its parameters (only soft_targets has any). `Loss::mse` and
// `Loss::softmax_cross_entropy` read as the enum values they used to be.
struct Loss {
  enum class Kind { softmax_cross_entropy, mse, soft_targets };
  Kind kind = Kind::mse;
  float temperature = 1.0f;   // soft_targets: T > 0
  float hard_weight = 0.0f;   // soft_targets: α in [0, 1]

  static const Loss softmax_cross_entropy;
  static const Loss mse;
  // Throws InvalidValue for T <= 0 or α outside [0, 1].
  static Loss soft_targets(float temperature, float hard_weight = 0.0f);

  // Columns of a target row for `outputs` output units: 2·outputs for soft targets with α > 0.
  int target_columns(int outputs) const;
  bool operator==(const Loss&) const = default;
};
inline constexpr Loss Loss::softmax_cross_entropy{Loss::Kind::softmax_cross_entropy};
inline constexpr Loss Loss::mse{Loss::Kind::mse};

std::string_view to_string(Loss l);   // the kind's name
Loss parse_loss(std::string_view name);

// Batch-mean loss of outputs (z pre-activation, h activation) against targets.
double loss_value(Loss loss, const Eigen::Ref<const Matrix>& z, const Eigen::Ref<const Matrix>& h,
                  const Eigen::Ref<const Matrix>& target);

// Batch-mean loss, and delta = dL/dz (same shape as z), without allocating.
double loss_and_delta(Loss loss, Activation output, const Eigen::Ref<const Matrix>& z,
                      const Eigen::Ref<const Matrix>& h, const Eigen::Ref<const Matrix>& target,
                      Eigen::Ref<Matrix> delta);

// Number of rows whose largest output matches the label.
long count_correct(const Eigen::Ref<const Matrix>& z, const int* labels);

}  // namespace plast
