#pragma once
// Losses of the student's output. Both are batch means, so the output delta
// dL/dz_out carries the 1/B factor and rules need not know the batch size.
//   softmax_cross_entropy: L = -(1/B) Σ_n Σ_k t_nk log softmax(z_n)_k   (output activation linear)
//   mse:                   L =  (1/B) Σ_n ½‖h_n − t_n‖²                  (any output activation)
#include <string>
#include <string_view>

#include "lib/activation.hpp"
#include "lib/tensor.hpp"

namespace plast {

enum class Loss { softmax_cross_entropy, mse };

std::string_view to_string(Loss l);
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
