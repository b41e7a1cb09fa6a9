#pragma once
// Gradient estimates for unrolled computation graphs by evolution strategies: persistent ES
// (PES, unbiased), truncated ES (the biased baseline) and full-unroll ES (the expensive
// reference), sharing one particle machinery.
//
// Vicol, Metz & Sohl-Dickstein 2021, "Unbiased gradient estimation in unrolled computation
// graphs with persistent evolution strategies", ICML, Algorithm 2 (PES with antithetic
// sampling). An inner problem of T steps (a student trained for T steps) depends on the outer
// parameters θ (a rule, an initialization, a learning rate); its meta-loss is the sum of the
// per-step losses L = Σ_t L_t. Unrolling all T steps for every ES evaluation is slow, so the
// inner problem is cut into truncations of K steps and an estimate is produced after each:
//
//   N antithetic pairs; pair i holds two particles (inner states s_i⁺, s_i⁻) and ξ_i:
//   per truncation:  ε_i ~ N(0, σ² I)
//                    ξ_i ← ξ_i + ε_i                                 (persistent)
//                    s_i^± , L_i^± ← unroll(s_i^±, θ ± ε_i, K steps)  (L: sum of the K losses)
//                    ĝ = 1/(2Nσ²) Σ_i ξ_i (L_i⁺ − L_i⁻)
//   at the end of the inner problem (T steps): s_i^± ← s_0 (a new inner problem), ξ_i ← 0.
//
// Each particle keeps running with its own perturbations, so the loss of truncation j depends
// on ε_1 … ε_j, and ξ_i = ε_1 + … + ε_j carries exactly that dependence: ĝ is an unbiased
// estimate of the gradient of truncation j's (Gaussian-smoothed) loss with respect to the θ
// shared by all the steps before it, and the sum of the estimates over one inner problem is an
// unbiased estimate of ∇_θ L. Truncated ES (TES) is the same loop with ξ_i ← ε_i: it ignores
// how θ shaped the state at the start of the window, so it is biased towards short-horizon
// effects (Wu et al. 2018, "Understanding short-horizon bias in stochastic meta-optimization",
// ICLR). Full-unroll ES is TES with K = T: one truncation per inner problem, unbiased and slow.
// tests/search/test_pes.cpp measures all three on a toy problem (studies/README.md, "PES").
//
// Determinism: ε_i of truncation c (counted over the estimator's life) comes from the stream
// (seed, Purpose::strategy, {kPesStream, c, i}); the particles run in parallel (TBB), each
// writing its own slot, and ĝ is summed in pair order, so results do not depend on threads.
// Both particles of a pair start from the same s_0 (common random numbers): the system is
// asked for initial_state(episode, pair) once per pair and inner problem, and its clone.
//
// How a study would use it (not wired into `plast run` yet): θ is a learner's parameters (a
// meta_init initialization and learning rates, a learned optimizer's weights); the
// UnrolledSystem is "train a student on a meta-train task with that learner": the state is the
// Student (network, rule state, optimizer moments) plus its data cursor, initial_state draws
// the task from (study seed, episode, pair) and a fresh student, unroll runs K train_step()s
// and returns the sum of their losses (or of validation losses). After every truncation the
// study applies ĝ with an outer optimizer (Adam on θ), so it updates θ every K inner steps
// instead of every T: thousands of inner steps per inner problem without unrolling them all per
// evaluation. θ then changes during an inner problem; PES is exactly unbiased only for a fixed
// θ, and (as in the paper, which updates θ after every truncation too) a small outer learning
// rate keeps the difference small. All particles share one position in the inner problem
// (Vicol et al. also stagger them so that resets do not coincide; not done here). It does not
// fit the ask/tell Strategy interface as is (the particles' inner states persist across outer
// steps), which is why it lives beside the strategies, not in their registry.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <Eigen/Core>

namespace plast {

// The inner state of one particle: whatever the unrolled system advances.
class UnrollState {
 public:
  virtual ~UnrollState() = default;
  virtual std::unique_ptr<UnrollState> clone() const = 0;
};

// An unrolled computation graph: an inner problem of horizon() steps driven by θ.
class UnrolledSystem {
 public:
  virtual ~UnrolledSystem() = default;
  // T: the number of inner steps of one inner problem.
  virtual long horizon() const = 0;
  // s_0 of inner problem `episode` for particle pair `pair` (both particles start from it).
  virtual std::unique_ptr<UnrollState> initial_state(std::uint64_t episode, std::uint64_t pair) const = 0;
  // Runs inner steps first … first + steps − 1 of the inner problem from `state` with
  // parameters θ, advancing `state`, and returns the sum of those steps' losses. Called
  // concurrently for different states: it must not change the system.
  virtual double unroll(UnrollState& state, const Eigen::VectorXd& theta, long first, long steps) const = 0;
};

enum class EsVariant { persistent, truncated, full };
std::string_view to_string(EsVariant v);

struct UnrolledEsOptions {
  EsVariant variant = EsVariant::persistent;
  int pairs = 8;           // N antithetic pairs (2N particles)
  double sigma = 0.01;     // standard deviation of the perturbations ε
  long truncation = 10;    // K inner steps per truncation; `full` uses the horizon instead

  // Throws InvalidValue ("sigma = 0: must be > 0").
  void validate() const;
};

// One truncation's estimate.
struct UnrollEstimate {
  Eigen::VectorXd gradient;   // ĝ
  double loss = 0.0;          // mean over the 2N particles of their window loss sums L^±
  std::uint64_t episode = 0;  // the inner problem the window belongs to
  long first = 0;             // the window: inner steps first … first + steps − 1
  long steps = 0;
  bool episode_end = false;   // the window reached the horizon (the particles were then reset)
  int nonfinite_pairs = 0;    // pairs with a non-finite L⁺ or L⁻: they contribute 0 to ĝ
};

class UnrolledEs {
 public:
  // `system` must outlive the estimator. Throws InvalidValue for bad options or dimension < 1.
  UnrolledEs(const UnrolledSystem& system, Eigen::Index dimension, UnrolledEsOptions options, std::uint64_t seed);

  // One truncation at θ: perturb, unroll every particle, estimate; resets at the horizon.
  UnrollEstimate step(const Eigen::VectorXd& theta);
  // The sum of step()'s estimates over the rest of the current inner problem (all of it when
  // called at its start): an estimate of ∇_θ Σ_t L_t (unbiased for persistent and full).
  Eigen::VectorXd episode_gradient(const Eigen::VectorXd& theta);

  const UnrolledEsOptions& options() const { return options_; }
  long truncation() const { return truncation_; }   // K in effect (the horizon for `full`)
  long position() const { return position_; }       // inner steps done in the current problem
  std::uint64_t episode() const { return episode_; }
  std::uint64_t truncations() const { return truncations_; }

 private:
  void reset();

  const UnrolledSystem& system_;
  Eigen::Index dimension_;
  UnrolledEsOptions options_;
  std::uint64_t seed_;
  long truncation_;
  long position_ = 0;
  std::uint64_t episode_ = 0;
  std::uint64_t truncations_ = 0;
  std::vector<std::unique_ptr<UnrollState>> states_;   // pair i: 2i is θ + ε_i, 2i + 1 is θ − ε_i
  std::vector<Eigen::VectorXd> xi_;                     // ξ_i of the + particle (the − one has −ξ_i)
};

}  // namespace plast
