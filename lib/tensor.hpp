#pragma once
// The numeric types of the inner loop: float32, batch-major (one sample per row).
// Weights follow the papers' orientation: W_l is (fan_out × fan_in), so a layer computes
// z = h W_lᵀ + b for a batch h (rows = samples) and its gradient is δᵀ h.
#include <Eigen/Core>

namespace plast {

using Matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using RowVector = Eigen::Matrix<float, 1, Eigen::Dynamic>;
using MatrixRef = Eigen::Ref<Matrix>;
using ConstMatrixRef = Eigen::Ref<const Matrix>;

}  // namespace plast
