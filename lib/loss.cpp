#include "lib/loss.hpp"

#include <cmath>

#include "lib/error.hpp"

namespace plast {

std::string_view to_string(Loss l) {
  switch (l.kind) {
    case Loss::Kind::softmax_cross_entropy: return "softmax_cross_entropy";
    case Loss::Kind::soft_targets: return "soft_targets";
    case Loss::Kind::mse: break;
  }
  return "mse";
}

Loss Loss::soft_targets(float temperature, float hard_weight) {
  if (!(temperature > 0.0f) || !std::isfinite(temperature)) throw InvalidValue("temperature", temperature, "must be > 0");
  if (!(hard_weight >= 0.0f && hard_weight <= 1.0f)) throw InvalidValue("hard_weight", hard_weight, "must be in [0, 1]");
  return Loss{Kind::soft_targets, temperature, hard_weight};
}

int Loss::target_columns(int outputs) const {
  return kind == Kind::soft_targets && hard_weight > 0.0f ? 2 * outputs : outputs;
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

// Row r's soft-target loss (1−α) T² KL(p ‖ softmax(z/T)) + α CE(y, softmax(z)); when `delta`
// is given, also its gradient (1−α) T (softmax(z/T) − p) + α (softmax(z) − y) into delta's row
// r (before the 1/B). p = t.leftCols(K), y = t.rightCols(K) (read only when α > 0).
template <class Delta>
double row_soft_targets(const Loss& loss, const Eigen::Ref<const Matrix>& z, const Eigen::Ref<const Matrix>& t,
                        Eigen::Index r, Delta* delta) {
  const Eigen::Index k_out = z.cols();
  const double temp = loss.temperature, alpha = loss.hard_weight;
  const float max = z.row(r).maxCoeff();
  double sum_t = 0.0;
  for (Eigen::Index k = 0; k < k_out; ++k) sum_t += std::exp((static_cast<double>(z(r, k)) - max) / temp);
  const double log_norm_t = std::log(sum_t);   // of (z − max)/T
  double kl = 0.0;
  for (Eigen::Index k = 0; k < k_out; ++k) {
    const double p = t(r, k);
    const double log_q = (static_cast<double>(z(r, k)) - max) / temp - log_norm_t;
    if (p > 0.0) kl += p * (std::log(p) - log_q);
    if (delta) (*delta)(r, k) = static_cast<float>((1.0 - alpha) * temp * (std::exp(log_q) - p));
  }
  double loss_value = (1.0 - alpha) * temp * temp * kl;
  if (alpha > 0.0) {
    double sum = 0.0;
    for (Eigen::Index k = 0; k < k_out; ++k) sum += std::exp(static_cast<double>(z(r, k)) - max);
    const double log_norm = std::log(sum);
    for (Eigen::Index k = 0; k < k_out; ++k) {
      const double y = t(r, k_out + k);
      const double log_s = static_cast<double>(z(r, k)) - max - log_norm;
      if (y != 0.0) loss_value -= alpha * y * log_s;
      if (delta) (*delta)(r, k) += static_cast<float>(alpha * (std::exp(log_s) - y));
    }
  }
  return loss_value;
}

void check_soft_target_shape(const Loss& loss, Eigen::Index outputs, Eigen::Index target_columns) {
  if (target_columns != loss.target_columns(static_cast<int>(outputs)))
    throw Error("soft_targets loss: target rows have " + std::to_string(target_columns) + " columns, " +
                std::to_string(loss.target_columns(static_cast<int>(outputs))) + " expected for " +
                std::to_string(outputs) + " outputs" + (loss.hard_weight > 0.0f ? " ([soft | one-hot])" : ""));
}

}  // namespace

double loss_value(Loss loss, const Eigen::Ref<const Matrix>& z, const Eigen::Ref<const Matrix>& h,
                  const Eigen::Ref<const Matrix>& target) {
  const auto n = z.rows();
  double total = 0.0;
  if (loss == Loss::softmax_cross_entropy) {
    for (Eigen::Index r = 0; r < n; ++r) total += row_cross_entropy(z, target, r);
  } else if (loss.kind == Loss::Kind::soft_targets) {
    check_soft_target_shape(loss, z.cols(), target.cols());
    for (Eigen::Index r = 0; r < n; ++r) total += row_soft_targets<Matrix>(loss, z, target, r, nullptr);
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
  if (loss.kind == Loss::Kind::soft_targets) {
    check_soft_target_shape(loss, z.cols(), target.cols());
    double total = 0.0;
    for (Eigen::Index r = 0; r < n; ++r) total += row_soft_targets(loss, z, target, r, &delta);
    delta *= inv_n;
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
