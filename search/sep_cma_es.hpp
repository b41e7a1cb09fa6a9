#pragma once
// sep-CMA-ES: R. Ros & N. Hansen, "A simple modification in CMA-ES achieving linear time and
// space complexity", PPSN X (2008). The covariance matrix is kept diagonal (C = diag(c), an n×1
// matrix CmaState::C), so sampling and updating cost O(λ n) per generation and no
// eigendecomposition is ever needed: suited to thousands of parameters. Because a diagonal
// matrix has only n degrees of freedom instead of n(n+1)/2, it can learn faster: c_1 and c_μ
// are multiplied by (n+2)/3 (the paper's c_cov^sep), c_μ capped at 1 − c_1, and the negative
// (active) weights are rescaled for those rates. Everything else (λ, weights, c_σ, d_σ, c_c,
// h_σ, the active update's √n/‖C^{-1/2} y‖ rescaling) is CmaEs's, from Hansen (2016).
// It cannot learn correlations between parameters (a rotated ellipsoid stays hard).
#include "search/cma_es.hpp"

namespace plast {

// cma_defaults(n, λ) with c_1 ← c_1 (n+2)/3, c_μ ← min(1 − c_1, c_μ (n+2)/3).
CmaParameters sep_cma_defaults(int n, int lambda = 0);

class SepCmaEs : public CmaEs {
 public:
  explicit SepCmaEs(CmaOptions options = {}) : CmaEs(options) {}
  std::string name() const override;
  CmaParameters parameters(int n, int lambda) const override { return sep_cma_defaults(n, lambda); }

 protected:
  void reset_covariance(CmaState& s, int n) const override;
  Eigen::MatrixXd scale(const CmaState& s, const Eigen::MatrixXd& z) const override;
  Eigen::MatrixXd whiten(const CmaState& s, const Eigen::MatrixXd& y) const override;
  void update_covariance(CmaState& s, const CmaParameters& p, double decay, const Eigen::VectorXd& p_c,
                         const Eigen::MatrixXd& y, const Eigen::VectorXd& w_circ) const override;
  Eigen::VectorXd covariance_diagonal(const CmaState& s) const override;
  Eigen::VectorXd principal_axis(const CmaState& s, int j) const override;
  double condition(const CmaState& s) const override;
  double max_axis(const CmaState& s) const override;
};

}  // namespace plast
