#include "search/pes.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/error.hpp"
#include "lib/random.hpp"

namespace plast {
namespace {

// Keeps PES's perturbation streams apart from every other user of Purpose::strategy.
constexpr std::uint64_t kPesStream = 0x5045535354524d31ull;   // "PESSTRM1"

}  // namespace

std::string_view to_string(EsVariant v) {
  switch (v) {
    case EsVariant::persistent: return "persistent";
    case EsVariant::truncated: return "truncated";
    case EsVariant::full: return "full";
  }
  return "?";
}

void UnrolledEsOptions::validate() const {
  if (pairs < 1) throw InvalidValue("pairs", pairs, "must be >= 1");
  if (!(sigma > 0.0) || !std::isfinite(sigma)) throw InvalidValue("sigma", sigma, "must be > 0 and finite");
  if (truncation < 1) throw InvalidValue("truncation", truncation, "must be >= 1");
}

UnrolledEs::UnrolledEs(const UnrolledSystem& system, Eigen::Index dimension, UnrolledEsOptions options,
                       std::uint64_t seed)
    : system_(system), dimension_(dimension), options_(options), seed_(seed) {
  options_.validate();
  if (dimension_ < 1) throw InvalidValue("dimension", dimension_, "must be >= 1");
  const long horizon = system_.horizon();
  if (horizon < 1) throw InvalidValue("horizon", horizon, "must be >= 1");
  truncation_ = options_.variant == EsVariant::full ? horizon : std::min(options_.truncation, horizon);
  states_.resize(2 * static_cast<std::size_t>(options_.pairs));
  xi_.assign(static_cast<std::size_t>(options_.pairs), Eigen::VectorXd::Zero(dimension_));
  reset();
}

void UnrolledEs::reset() {
  position_ = 0;
  for (int i = 0; i < options_.pairs; ++i) {
    const auto k = static_cast<std::size_t>(i);
    states_[2 * k] = system_.initial_state(episode_, k);
    states_[2 * k + 1] = states_[2 * k]->clone();
    xi_[k].setZero();
  }
}

UnrollEstimate UnrolledEs::step(const Eigen::VectorXd& theta) {
  if (theta.size() != dimension_)
    throw Error("theta has " + std::to_string(theta.size()) + " entries, the estimator was built for " +
                std::to_string(dimension_));
  const auto n = static_cast<std::size_t>(options_.pairs);
  const double sigma = options_.sigma;
  const long steps = std::min(truncation_, system_.horizon() - position_);

  // Perturbations, in pair order, from streams keyed by (truncation count, pair).
  std::vector<Eigen::VectorXd> eps(n, Eigen::VectorXd(dimension_));
  for (std::size_t i = 0; i < n; ++i) {
    RandomStream rng(seed_, Purpose::strategy, {kPesStream, truncations_, i});
    for (Eigen::Index d = 0; d < dimension_; ++d) eps[i](d) = sigma * static_cast<double>(rng.normal());
    if (options_.variant == EsVariant::persistent)
      xi_[i] += eps[i];
    else
      xi_[i] = eps[i];   // truncated and full ES: only this window's perturbation
  }

  // Every particle unrolls K steps at its own θ ± ε_i; each writes its own slot.
  std::vector<double> losses(2 * n);
  const long first = position_;
  tbb::parallel_for(std::size_t{0}, 2 * n, [&](std::size_t p) {
    const std::size_t i = p / 2;
    const Eigen::VectorXd perturbed = p % 2 == 0 ? Eigen::VectorXd(theta + eps[i]) : Eigen::VectorXd(theta - eps[i]);
    losses[p] = system_.unroll(*states_[p], perturbed, first, steps);
  });

  UnrollEstimate e;
  e.gradient = Eigen::VectorXd::Zero(dimension_);
  e.episode = episode_;
  e.first = first;
  e.steps = steps;
  double loss_sum = 0.0;
  int finite = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double plus = losses[2 * i], minus = losses[2 * i + 1];
    if (!std::isfinite(plus) || !std::isfinite(minus)) {
      ++e.nonfinite_pairs;
      continue;
    }
    e.gradient += (plus - minus) * xi_[i];
    loss_sum += plus + minus;
    ++finite;
  }
  e.gradient /= 2.0 * static_cast<double>(n) * sigma * sigma;
  e.loss = finite > 0 ? loss_sum / (2.0 * finite) : std::numeric_limits<double>::quiet_NaN();

  ++truncations_;
  position_ += steps;
  if (position_ >= system_.horizon()) {
    e.episode_end = true;
    ++episode_;
    reset();
  }
  return e;
}

Eigen::VectorXd UnrolledEs::episode_gradient(const Eigen::VectorXd& theta) {
  Eigen::VectorXd sum = Eigen::VectorXd::Zero(dimension_);
  while (true) {
    const UnrollEstimate e = step(theta);
    sum += e.gradient;
    if (e.episode_end) return sum;
  }
}

}  // namespace plast
