#pragma once
// OpenAI-ES — Salimans, Ho, Chen, Sidor & Sutskever 2017, "Evolution strategies as a scalable
// alternative to reinforcement learning", arXiv:1703.03864, Algorithms 1–2 with the
// refinements of their section 2.2 (antithetic sampling, fitness shaping, weight decay):
//   ε_j ~ N(0, I), j = 1 … λ/2;  the population is μ + σ ε_j (rows 0 … λ/2−1) followed by the
//   mirrored μ − σ ε_j (rows λ/2 … λ−1)                                     (antithetic pairs)
//   u = centered ranks of f (best = −½, worst = +½, NaN worst)               (fitness shaping)
//       with NaN candidates sharing their ranks' mean utility (pool_nan_utilities, search/nes.hpp)
//   g = 1/(λσ) Σ_i u_i ε_i   with ε_i = −ε_j for the mirrored half           (Algorithm 1, line 5)
//   μ ← optimizer step with gradient g.
// σ and the learning rate decay geometrically per generation g (Najarro & Risi 2020's ES
// settings: lr ×0.995, σ ×0.999): σ_g = σ·sigma_decay^g, lr_g = lr·lr_decay^g; both 1 by
// default (fixed, as Salimans et al.). They are functions of the state's generation counter,
// so ask(), tell() (which recovers ε with the same σ_g) and step_size() agree, and a resumed
// study continues exactly.
// With f to be minimized and the best ranked −½, g estimates ∇f (of the Gaussian-smoothed,
// rank-transformed objective), so the optimizer descends along it like a loss gradient.
//
// Optimizers on the mean (the paper uses Adam), with weight decay λ_wd as in lib/optimizer:
//   0 sgd       μ ← μ − lr (g + λ_wd μ)
//   1 momentum  v ← β v + g + λ_wd μ;  μ ← μ − lr v                        (Polyak heavy ball)
//   2 adam      m ← β₁ m + (1−β₁) g;  v ← β₂ v + (1−β₂) g²;  t ← t + 1
//               μ ← μ − lr (m̂ / (√v̂ + ε) + λ_wd μ),  m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
//               (Kingma & Ba 2015; decoupled weight decay, Loshchilov & Hutter 2019)
//
// State: OpenAiEsState below. tell() recovers the noise from the population as
// ε_j = (x_j − x_{j+λ/2}) / (2σ_g).
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/params.hpp"
#include "search/strategy.hpp"

namespace plast {

enum class EsOptimizer { sgd = 0, momentum = 1, adam = 2 };

struct OpenAiEsOptions {
  double sigma = 0.02;             // fixed noise standard deviation σ
  double lr = 0.01;                // learning rate of the optimizer
  int population = 0;              // λ (even); 0 = the smallest even number ≥ 4 + ⌊3 ln n⌋
  EsOptimizer optimizer = EsOptimizer::adam;
  double momentum = 0.9;           // β of the momentum optimizer
  double beta1 = 0.9;              // Adam's β₁
  double beta2 = 0.999;            // Adam's β₂
  double epsilon = 1e-8;           // Adam's ε
  double weight_decay = 0.0;       // λ_wd
  double lr_decay = 1.0;           // lr_g = lr · lr_decay^g
  double sigma_decay = 1.0;        // σ_g = σ · sigma_decay^g

  static const std::vector<ParamSpec>& specs();
  // Throws InvalidValue for an odd population.
  static OpenAiEsOptions from_params(const ParamValues& p);
};

// The gradient estimate 1/(λσ) Σ_i u_i ε_i from the λ noise vectors (rows of `epsilon`, the
// mirrored ones included) and their utilities (lower = better, e.g. centered ranks).
Eigen::VectorXd openai_es_gradient(const Eigen::MatrixXd& epsilon, const Eigen::VectorXd& utilities, double sigma);

struct OpenAiEsState {
  Eigen::VectorXd mean;            // μ (n)
  Eigen::VectorXd m;               // the momentum buffer, or Adam's first moment (n)
  Eigen::VectorXd v;               // Adam's second moment (n; zero for sgd and momentum)
  std::int64_t generation = 0;     // Adam's t, and g of the decays
  std::int64_t evaluations = 0;

  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("mean", s.mean);
    f("m", s.m);
    f("v", s.v);
    f("generation", s.generation);
    f("evaluations", s.evaluations);
  }
};

class OpenAiEs final : public TypedStrategy<OpenAiEsState> {
 public:
  explicit OpenAiEs(OpenAiEsOptions options = {}) : options_(options) {}
  std::string name() const override { return "openai_es"; }
  StrategyState init(const Eigen::VectorXd& theta0) const override;
  Eigen::MatrixXd ask(const StrategyState& state, RandomStream& rng) const override;
  StrategyState tell(const StrategyState& state, const Eigen::MatrixXd& population,
                     const Eigen::VectorXd& fitness) const override;
  Eigen::VectorXd mean(const StrategyState& state) const override;
  double step_size(const StrategyState& state) const override;

  int population(int n) const;
  // The gradient estimate g of one generation (centered ranks of `fitness`, noise recovered
  // from the antithetic population).
  Eigen::VectorXd gradient(const Eigen::MatrixXd& population, const Eigen::VectorXd& fitness) const;
  // The same with the noise recovered at step size `sigma` (σ_g of the generation told).
  Eigen::VectorXd gradient(const Eigen::MatrixXd& population, const Eigen::VectorXd& fitness, double sigma) const;
  // σ_g and lr_g of the state's generation g.
  double sigma(const StrategyState& state) const;
  double learning_rate(const StrategyState& state) const;

 private:
  OpenAiEsOptions options_;
};

}  // namespace plast
