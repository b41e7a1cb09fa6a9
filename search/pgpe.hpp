#pragma once
// PGPE — Sehnke, Osendorfer, Rückstieß, Graves, Peters & Schmidhuber 2010, "Parameter-exploring
// policy gradients", Neural Networks 23(4), section 2.4 (symmetric sampling) with the reward
// normalisation of section 2.5, as in the authors' PyBrain implementation, written for a
// minimized f (reward r = −f):
//   ε_j ~ N(0, diag(σ²)), j = 1 … N;  population μ + ε_j (rows 0 … N−1), μ − ε_j (rows N … 2N−1)
//   f*  = the best (lowest) f seen so far, this generation included
//   r_T,j = (f⁻_j − f⁺_j) / (f⁺_j + f⁻_j − 2 f*)                (normalised symmetric reward, ∈ [−1, 1])
//   r_S,j = (b − f̄_j) / (b − f*),   f̄_j = (f⁺_j + f⁻_j)/2      (normalised reward against the baseline)
//   μ ← μ + α_μ · 1/N Σ_j r_T,j ε_j
//   σ ← σ + α_σ · 1/N Σ_j max(r_S,j, 0) (ε_j² − σ²) / σ      (element-wise; only pairs better than
//                                                            the baseline adapt σ, as in PyBrain,
//                                                            which also keeps σ ≥ (1 − α_σ) σ > 0)
//   b ← β b + (1 − β) · 1/N Σ_j f̄_j                           (moving-average baseline; the first
//                                                            finite generation only sets b and adapts no σ)
// The paper's sums run over one pair per step; with N pairs we average, so α_μ and α_σ keep their
// meaning (paper defaults α_μ = 0.2, α_σ = 0.1). Non-finite fitness (NaN, ±∞) counts as the
// worst finite value of the generation; a generation without any finite value changes nothing
// but the counters.
//
// State: PgpeState below. tell() recovers ε_j = (x_j − x_{j+N}) / 2.
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/params.hpp"
#include "search/strategy.hpp"

namespace plast {

struct PgpeOptions {
  double sigma0 = 1.0;              // initial σ in every coordinate
  double lr_mean = 0.2;             // α_μ
  double lr_sigma = 0.1;            // α_σ
  int population = 0;               // 2N (even); 0 = the smallest even number ≥ 4 + ⌊3 ln n⌋
  double baseline_decay = 0.9;      // β of the moving-average baseline

  static const std::vector<ParamSpec>& specs();
  // Throws InvalidValue for an odd population.
  static PgpeOptions from_params(const ParamValues& p);
};

struct PgpeState {
  Eigen::VectorXd mean;            // μ (n)
  Eigen::VectorXd sigma;           // σ per coordinate (n)
  double baseline = 0;             // b, the moving average of the pairs' mean f
  double best = 0;                 // f*, the best f so far (+∞ before any finite value)
  std::int64_t generation = 0;
  std::int64_t evaluations = 0;

  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("mean", s.mean);
    f("sigma", s.sigma);
    f("baseline", s.baseline);
    f("best", s.best);
    f("generation", s.generation);
    f("evaluations", s.evaluations);
  }
};

class Pgpe final : public TypedStrategy<PgpeState> {
 public:
  explicit Pgpe(PgpeOptions options = {}) : options_(options) {}
  std::string name() const override { return "pgpe"; }
  StrategyState init(const Eigen::VectorXd& theta0) const override;
  Eigen::MatrixXd ask(const StrategyState& state, RandomStream& rng) const override;
  StrategyState tell(const StrategyState& state, const Eigen::MatrixXd& population,
                     const Eigen::VectorXd& fitness) const override;
  Eigen::VectorXd mean(const StrategyState& state) const override;
  // The geometric mean of the per-coordinate σ.
  double step_size(const StrategyState& state) const override;

  int population(int n) const;

 private:
  PgpeOptions options_;
};

}  // namespace plast
