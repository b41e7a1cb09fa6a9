#pragma once
// Natural evolution strategies: SNES (separable) and xNES (exponential, full covariance).
// Both sample x_k = μ + σ ⊙ z_k (SNES) or x_k = μ + σ B z_k (xNES), z_k ~ N(0, I), rank the
// samples and weigh them by the NES utilities (rank-based fitness shaping)
//   u_k = max(0, ln(λ/2 + 1) − ln k) / Σ_j max(0, ln(λ/2 + 1) − ln j) − 1/λ,   k = 1 (best) … λ
// which sum to zero (Wierstra et al. 2014, "Natural evolution strategies", JMLR 15, eq. 20).
//
// SNES — Schaul, Glasmachers & Schmidhuber 2011, "High dimensions and heavy tails for natural
// evolution strategies", GECCO, Algorithm 1:
//   ∇_μ J = Σ_k u_k z_k                ∇_σ J = Σ_k u_k (z_k² − 1)          (element-wise)
//   μ ← μ + η_μ σ ⊙ ∇_μ J              σ ← σ ⊙ exp(η_σ/2 ∇_σ J)
//   defaults: λ = 4 + ⌊3 ln n⌋, η_μ = 1, η_σ = (3 + ln n) / (5 √n).
//
// xNES — Glasmachers, Schaul, Sun, Wierstra & Schmidhuber 2010, "Exponential natural evolution
// strategies", GECCO, Algorithm 1 (A = σ B with det B = 1):
//   G_δ = Σ_k u_k z_k                  G_M = Σ_k u_k (z_k z_kᵀ − I)
//   G_σ = tr(G_M) / n                  G_B = G_M − G_σ I
//   μ ← μ + η_μ σ B G_δ                σ ← σ exp(η_σ/2 G_σ)          B ← B expm(η_B/2 G_B)
//   defaults: λ = 4 + ⌊3 ln n⌋, η_μ = 1, η_σ = η_B = 3 (3 + ln n) / (5 n √n).
// B is updated by the true matrix exponential (of a symmetric matrix, computed exactly through
// its eigendecomposition), so xNES learns correlations; an element-wise exp would keep B
// diagonal and reduce xNES to SNES.
//
// State: SnesState and XnesState below. tell() recovers z_k from the population
// (z = (x − μ)/σ, resp. z = B⁻¹(x − μ)/σ), so ask() needs no side channel.
// NaN fitness ranks worst (rank_order), all NaN candidates sharing the mean utility of their
// ranks (pool_nan_utilities): a generation where every candidate diverged leaves μ, σ, B as they are.
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/params.hpp"
#include "search/strategy.hpp"

namespace plast {

// Throws plast::Error unless `population` is λ × n (λ ≥ 1) with λ fitness values; shared by
// the strategies of this family (nes, openai_es, pgpe, random_search).
void check_told_population(const std::string& strategy, int n, const Eigen::MatrixXd& population,
                           const Eigen::VectorXd& fitness);

// Gives every candidate with NaN fitness the average of the utilities their ranks hold, so that
// NaN ranks worst but carries no spurious order among diverged candidates (rank_order would order
// them by index); when every fitness is NaN all become zero (the generation carries no information).
void pool_nan_utilities(const Eigen::VectorXd& fitness, Eigen::VectorXd& utilities);

// λ = 4 + ⌊3 ln n⌋ (Wierstra et al. 2014, Table 1), at least 2.
int nes_default_population(int n);
// The population of a mirrored-sampling strategy (OpenAI-ES, PGPE): `given` when set (> 0),
// rounded up to even, else the smallest even number ≥ nes_default_population(n).
int mirrored_population(int given, int n);
// The NES utilities u_1 … u_λ by rank (u_1 for the best), summing to zero.
Eigen::VectorXd nes_utilities(int lambda);
// exp(S) for a symmetric S via its eigendecomposition V diag(exp(d)) Vᵀ (exact for symmetric S).
Eigen::MatrixXd expm_symmetric(const Eigen::MatrixXd& s);

struct SnesOptions {
  double sigma0 = 1.0;        // initial σ in every coordinate
  int population = 0;         // λ; 0 = 4 + ⌊3 ln n⌋
  double eta_mean = 1.0;      // η_μ
  double eta_sigma = 0.0;     // η_σ; 0 = (3 + ln n) / (5 √n)

  static const std::vector<ParamSpec>& specs();
  static SnesOptions from_params(const ParamValues& p);
};

struct SnesState {
  Eigen::VectorXd mean;            // μ (n)
  Eigen::VectorXd sigma;           // σ per coordinate (n)
  std::int64_t generation = 0;
  std::int64_t evaluations = 0;

  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("mean", s.mean);
    f("sigma", s.sigma);
    f("generation", s.generation);
    f("evaluations", s.evaluations);
  }
};

class Snes final : public TypedStrategy<SnesState> {
 public:
  explicit Snes(SnesOptions options = {}) : options_(options) {}
  std::string name() const override { return "snes"; }
  StrategyState init(const Eigen::VectorXd& theta0) const override;
  Eigen::MatrixXd ask(const StrategyState& state, RandomStream& rng) const override;
  StrategyState tell(const StrategyState& state, const Eigen::MatrixXd& population,
                     const Eigen::VectorXd& fitness) const override;
  Eigen::VectorXd mean(const StrategyState& state) const override;
  // The geometric mean of the per-coordinate σ.
  double step_size(const StrategyState& state) const override;

  int population(int n) const;
  double eta_sigma(int n) const;

 private:
  SnesOptions options_;
};

struct XnesOptions {
  double sigma0 = 1.0;        // initial σ (B starts as the identity)
  int population = 0;         // λ; 0 = 4 + ⌊3 ln n⌋
  double eta_mean = 1.0;      // η_μ
  double eta_sigma = 0.0;     // η_σ; 0 = 3 (3 + ln n) / (5 n √n)
  double eta_B = 0.0;         // η_B; 0 = 3 (3 + ln n) / (5 n √n)

  static const std::vector<ParamSpec>& specs();
  static XnesOptions from_params(const ParamValues& p);
};

struct XnesState {
  Eigen::VectorXd mean;            // μ (n)
  double sigma = 0;                // σ, the scale of A = σ B
  Eigen::MatrixXd B;               // the shape (n × n, det B = 1)
  std::int64_t generation = 0;
  std::int64_t evaluations = 0;

  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("mean", s.mean);
    f("sigma", s.sigma);
    f("B", s.B);
    f("generation", s.generation);
    f("evaluations", s.evaluations);
  }
};

class Xnes final : public TypedStrategy<XnesState> {
 public:
  explicit Xnes(XnesOptions options = {}) : options_(options) {}
  std::string name() const override { return "xnes"; }
  StrategyState init(const Eigen::VectorXd& theta0) const override;
  Eigen::MatrixXd ask(const StrategyState& state, RandomStream& rng) const override;
  StrategyState tell(const StrategyState& state, const Eigen::MatrixXd& population,
                     const Eigen::VectorXd& fitness) const override;
  Eigen::VectorXd mean(const StrategyState& state) const override;
  double step_size(const StrategyState& state) const override;

  int population(int n) const;
  double eta_sigma(int n) const;
  double eta_B(int n) const;

 private:
  XnesOptions options_;
};

}  // namespace plast
