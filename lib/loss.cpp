#include "lib/loss.hpp"

#include <cmath>

#include "lib/error.hpp"

namespace plast {

std::string_view to_string(Loss l) {
  return l == Loss::softmax_cross_entropy ? "softmax_cross_entropy" : "mse";
}

Loss parse_loss(std::string_view name) {
  if (name == "softmax_cross_entropy" || name == "cross_entropy") return Loss::softmax_cross_entropy;
  if (name == "mse") return Loss::mse;
  throw Error("unknown loss '" + std::string(name) + "' (known: softmax_cross_entropy, mse)");
}

namespace {

// -Σ_k t_k log softmax(z)_k for one row, by the log-sum-exp trick.
double row_cross_entropy(const Eigen::Ref<const Matrix>& z, const Eigen::Ref<const Matrix>& t, Eigen::Index r) {
  const float max = z.row(r).maxCoeff();
  double sum = 0.0;
  for (Eigen::Index k = 0; k < z.cols(); ++k) sum += std::exp(static_cast<double>(z(r, k) - max));
  const double log_norm = max + std::log(sum);
  double loss = 0.0;
  for (Eigen::Index k = 0; k < z.cols(); ++k)
    if (t(r, k) != 0.0f) loss -= t(r, k) * (z(r, k) - log_norm);
  return loss;
}

}  // namespace

double loss_value(Loss loss, const Eigen::Ref<const Matrix>& z, const Eigen::Ref<const Matrix>& h,
                  const Eigen::Ref<const Matrix>& target) {
  const auto n = z.rows();
  double total = 0.0;
  if (loss == Loss::softmax_cross_entropy) {
    for (Eigen::Index r = 0; r < n; ++r) total += row_cross_entropy(z, target, r);
  } else {
    total = 0.5 * (h - target).cast<double>().squaredNorm();
  }
  return total / static_cast<double>(n);
}

double loss_and_delta(Loss loss, Activation output, const Eigen::Ref<const Matrix>& z,
                      const Eigen::Ref<const Matrix>& h, const Eigen::Ref<const Matrix>& target,
                      Eigen::Ref<Matrix> delta) {
  const auto n = z.rows();
  const float inv_n = 1.0f / static_cast<float>(n);
  if (loss == Loss::softmax_cross_entropy) {
    // dL/dz = (softmax(z) − t)/B; the output activation must be linear (z are logits).
    double total = 0.0;
    for (Eigen::Index r = 0; r < n; ++r) {
      const float max = z.row(r).maxCoeff();
      delta.row(r) = (z.row(r).array() - max).exp();
      const float sum = delta.row(r).sum();
      delta.row(r) /= sum;
      const double log_norm = max + std::log(static_cast<double>(sum));
      for (Eigen::Index k = 0; k < z.cols(); ++k)
        if (target(r, k) != 0.0f) total -= target(r, k) * (z(r, k) - log_norm);
    }
    delta = (delta - target) * inv_n;
    return total / static_cast<double>(n);
  }
  delta = (h - target) * inv_n;
  multiply_by_derivative(output, z, h, delta);
  return 0.5 * (h - target).cast<double>().squaredNorm() / static_cast<double>(n);
}

long count_correct(const Eigen::Ref<const Matrix>& z, const int* labels) {
  long correct = 0;
  for (Eigen::Index r = 0; r < z.rows(); ++r) {
    Eigen::Index best = 0;
    z.row(r).maxCoeff(&best);
    if (best == labels[r]) ++correct;
  }
  return correct;
}

}  // namespace plast
