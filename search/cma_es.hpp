#pragma once
// CMA-ES, the covariance matrix adaptation evolution strategy, as in N. Hansen, "The CMA
// Evolution Strategy: A Tutorial", arXiv:1604.00772 (2016): default parameters of its Table 1
// (α_cov = 2, c_m = 1), the active covariance update with negative recombination weights
// (eq. 46–47 and Table 1: negative weights scaled by min(α_μ⁻, α_μeff⁻, α_posdef⁻), and each
// negatively weighted y rescaled by √n / ‖C^{-1/2} y‖), h_σ stalling of p_c, and the
// eigendecomposition C = B D² Bᵀ refreshed every max(1, ⌊1/(10 n (c_1 + c_μ))⌋) generations
// (Appendix A's lazy update; every generation for n ≤ ~50).
//
// Variants (registered in search/cma_es.cpp):
//   name          covariance  restarts                         file
//   cma_es        full        none                             cma_es.cpp
//   ipop_cma_es   full        IPOP: λ doubles at each restart  cma_es.cpp
//                             (Auger & Hansen, CEC 2005, "A restart CMA evolution strategy
//                             with increasing population size")
//   bipop_cma_es  full        BIPOP: interlaced large (doubling) and small (random λ, σ)
//                             regimes (Hansen, GECCO 2009 BBOB workshop, "Benchmarking a
//                             BI-population CMA-ES on the BBOB-2009 function testbed")
//   sep_cma_es    diagonal    none  (Ros & Hansen 2008; see sep_cma_es.hpp)
//
// Restarts begin again from the initial point θ0 (not from a random point of a box: plast
// searches around a given rule's θ0), with a fresh C = I, p_σ = p_c = 0. A run ends when one of
// the tutorial's termination criteria (Appendix B.3) fires: MaxIter, TolFun, EqualFunValues,
// Stagnation, TolX, TolXUp, NoEffectAxis, NoEffectCoord, ConditionCov (CmaStop below). After
// `max_restarts` restarts (counted in large runs for BIPOP, whose small runs are free, as in
// pycma) the last run goes on without termination checks.
//
// BIPOP draws two uniform numbers per small-regime run (λ_s = ⌊λ_0 · m^{u_1²}⌋ with m the
// last large multiplier, σ = σ_0 · 10^{−2 u_2}, and a budget of at most half the evaluations
// spent in large runs). tell() has no random stream, so u_1, u_2 come from the R2
// low-discrepancy sequence (Roberts 2018; additive recurrence with the plastic number) indexed
// by the number of small runs: deterministic, evenly spread, and independent of the seed.
//
// All state lives in a CmaState (below; exact checkpoints). mean() is the mean of the current
// run (after a restart that is θ0 again).
//
// Cost: O(n²λ) per generation plus an O(n³) eigendecomposition every eigen_interval
// generations, and C, B are n×n in every checkpoint (two 8 MB arrays at n = 1000): beyond a
// few hundred parameters use sep_cma_es, which is O(nλ) in time and O(n) in state.
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/params.hpp"
#include "search/strategy.hpp"

namespace plast {

// Hansen (2016), Table 1. `weights` has λ entries, by rank: w_1..w_μ > 0 summing to 1, then the
// negative (active) weights summing to −min(α_μ⁻, α_μeff⁻, α_posdef⁻).
struct CmaParameters {
  int n = 0, lambda = 0, mu = 0;
  Eigen::VectorXd weights;
  double mu_eff = 0, mu_eff_minus = 0;
  double c_sigma = 0, d_sigma = 0, c_c = 0, c_1 = 0, c_mu = 0, c_m = 1;
  double alpha_mu_minus = 0, alpha_mu_eff_minus = 0, alpha_posdef_minus = 0;
  double chi_n = 0;          // E‖N(0, I)‖ ≈ √n (1 − 1/(4n) + 1/(21n²))
  int eigen_interval = 1;    // generations between eigendecompositions
};

// The tutorial's defaults for dimension n and population λ (0: λ = 4 + ⌊3 ln n⌋).
// Note: c_μ = min(1 − c_1, α_cov (¼ + μ_eff + 1/μ_eff − 2) / ((n+2)² + α_cov μ_eff / 2)), with
// the tutorial's ¼ term (n = 10: c_μ = 0.02355; without ¼ it would be 0.02015).
CmaParameters cma_defaults(int n, int lambda = 0);
// Rescales the negative weights for the current c_1, c_μ (after a variant changed them).
void set_negative_weights(CmaParameters& p);

enum class CmaRestarts { none, ipop, bipop };

struct CmaOptions {
  double sigma0 = 0.5;      // initial step size σ_0 (θ is searched in units of σ_0 around θ0)
  int population = 0;       // λ; 0: 4 + ⌊3 ln n⌋
  CmaRestarts restarts = CmaRestarts::none;
  int max_restarts = 9;
};

// Why a run ended (Hansen 2016, Appendix B.3); the last one is kept in CmaState::last_stop.
enum class CmaStop {
  none = 0,
  max_iter,           // 100 + 150 (n+3)² / √λ generations (pycma's default)
  tol_fun,            // range of recent best values and of this generation < 1e-12
  equal_fun_values,   // best == k-th best in > ⅓ of the last 10 + ⌈30n/λ⌉ generations
  stagnation,         // median of best and median f of the recent 30% no better than the first 30%
  tol_x,              // σ p_c and σ √C_ii all < 1e-12 σ_0
  tol_x_up,           // σ max(D) > 1e4 σ_0
  no_effect_axis,     // m + 0.1 σ D_jj b_j == m, j = g mod n
  no_effect_coord,    // m_i + 0.2 σ √C_ii == m_i for some i
  condition_cov,      // cond(C) > 1e14
};
std::string cma_stop_name(CmaStop stop);

// BIPOP's regime of the current run (pycma's bookkeeping: the first run counts as small).
enum class CmaRegime { small = 0, large = 1 };

// The state of every CMA-ES variant. The restart fields stay empty (zero) without restarts.
struct CmaState {
  Eigen::VectorXd mean;                  // m, of the current run
  double sigma = 0;                      // σ
  Eigen::VectorXd p_sigma, p_c;          // the evolution paths p_σ, p_c
  Eigen::MatrixXd C;                     // n×n; sep-CMA-ES: n×1, the diagonal
  Eigen::MatrixXd B;                     // eigenvectors of C (n×n; empty for sep-CMA-ES)
  Eigen::VectorXd D;                     // √eigenvalues of C (n; empty for sep-CMA-ES)
  std::int64_t generation = 0;           // over all runs
  std::int64_t evaluations = 0;          // over all runs
  std::int64_t lambda = 0;               // λ of the current run
  std::int64_t run_generation = 0;       // g within the current run
  std::int64_t eigen_generation = 0;     // run_generation of the last eigendecomposition
  // Restart variants only.
  Eigen::VectorXd x0;                    // θ0, where every run starts
  double sigma0_run = 0;                 // σ_0 of the current run
  Eigen::VectorXd history_best;          // recent best f (+∞ for NaN), for TolFun and Stagnation
  Eigen::VectorXd history_median;        // recent median f, for Stagnation
  Eigen::VectorXd history_equal;         // 1 where best == k-th best, for EqualFunValues
  std::int64_t restarts = 0;
  std::int64_t max_run_generations = 0;  // MaxIter of the current run
  CmaRegime regime = CmaRegime::small;
  std::int64_t small_runs = 0;
  std::int64_t small_evaluations = 0;    // spent in finished small runs (BIPOP)
  std::int64_t large_evaluations = 0;    // spent in finished large runs (BIPOP)
  std::int64_t run_evaluations = 0;      // spent in the current run
  CmaStop last_stop = CmaStop::none;     // why the last run ended

  template <class S, class F>
  static void fields(S& s, F&& f) {
    f("mean", s.mean);
    f("sigma", s.sigma);
    f("p_sigma", s.p_sigma);
    f("p_c", s.p_c);
    f("C", s.C);
    f("B", s.B);
    f("D", s.D);
    f("generation", s.generation);
    f("evaluations", s.evaluations);
    f("lambda", s.lambda);
    f("run_generation", s.run_generation);
    f("eigen_generation", s.eigen_generation);
    f("x0", s.x0);
    f("sigma0_run", s.sigma0_run);
    f("history_best", s.history_best);
    f("history_median", s.history_median);
    f("history_equal", s.history_equal);
    f("restarts", s.restarts);
    f("max_run_generations", s.max_run_generations);
    f("regime", s.regime);
    f("small_runs", s.small_runs);
    f("small_evaluations", s.small_evaluations);
    f("large_evaluations", s.large_evaluations);
    f("run_evaluations", s.run_evaluations);
    f("last_stop", s.last_stop);
  }
  // Format-01 checkpoints (before typed states) had no restart fields without restarts, and no
  // B, D, eigen_generation for sep-CMA-ES.
  static bool optional_before_02(const char* name);
};

class CmaEs : public TypedStrategy<CmaState> {
 public:
  explicit CmaEs(CmaOptions options = {});
  // sigma0, population; with restarts also max_restarts.
  static std::vector<ParamSpec> params(bool restarts);
  // Options from validated ParamValues (throws InvalidValue for population = 1).
  static CmaOptions options_from(const ParamValues& values, CmaRestarts restarts);

  std::string name() const override;
  StrategyState init(const Eigen::VectorXd& theta0) const override;
  Eigen::MatrixXd ask(const StrategyState& state, RandomStream& rng) const override;
  StrategyState tell(const StrategyState& state, const Eigen::MatrixXd& population,
                     const Eigen::VectorXd& fitness) const override;
  Eigen::VectorXd mean(const StrategyState& state) const override;
  double step_size(const StrategyState& state) const override;

  const CmaOptions& options() const { return options_; }
  // The strategy parameters at dimension n and population λ (a variant may change c_1, c_μ).
  virtual CmaParameters parameters(int n, int lambda) const;

 protected:
  // The covariance model. Full here (C, B, D); diagonal in SepCmaEs (C as an n×1 array).
  virtual void reset_covariance(CmaState& s, int n) const;
  // y = C^{1/2} z for the columns of Z.
  virtual Eigen::MatrixXd scale(const CmaState& s, const Eigen::MatrixXd& z) const;
  // C^{-1/2} y for the columns of Y (with the B, D that sampled them).
  virtual Eigen::MatrixXd whiten(const CmaState& s, const Eigen::MatrixXd& y) const;
  // C ← decay C + c_1 p_c p_cᵀ + c_μ Σ w°_i y_i y_iᵀ, then any derived data (B, D) that is due.
  virtual void update_covariance(CmaState& s, const CmaParameters& p, double decay, const Eigen::VectorXd& p_c,
                                 const Eigen::MatrixXd& y, const Eigen::VectorXd& w_circ) const;
  virtual Eigen::VectorXd covariance_diagonal(const CmaState& s) const;
  // D_jj b_j: the j-th principal axis scaled by its standard deviation.
  virtual Eigen::VectorXd principal_axis(const CmaState& s, int j) const;
  virtual double condition(const CmaState& s) const;   // cond(C)
  virtual double max_axis(const CmaState& s) const;    // max_j D_jj

 private:
  void start_run(CmaState& s, int lambda, double sigma0) const;
  // One generation of Hansen (2016)'s update on the ranked steps y (columns, best first).
  void update(CmaState& s, const CmaParameters& p, const Eigen::MatrixXd& y) const;
  // The restart variants' histories and termination checks after a generation; restarts when due.
  void track_run(CmaState& s, const CmaParameters& p, const Eigen::VectorXd& sorted_fitness) const;
  CmaStop check_stop(const CmaState& s, const CmaParameters& p, const Eigen::VectorXd& sorted_fitness) const;
  void restart(CmaState& s) const;

  CmaOptions options_;
};

}  // namespace plast
