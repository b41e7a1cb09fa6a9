#include "search/sep_cma_es.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/error.hpp"

namespace plast {

CmaParameters sep_cma_defaults(int n, int lambda) {
  CmaParameters p = cma_defaults(n, lambda);
  const double factor = (n + 2.0) / 3.0;   // Ros & Hansen (2008), c_cov^sep = (n+2)/3 · c_cov
  p.c_1 = std::min(1.0, p.c_1 * factor);
  p.c_mu = std::min(1.0 - p.c_1, p.c_mu * factor);
  set_negative_weights(p);
  p.eigen_interval = 1;   // unused: there is no eigendecomposition
  return p;
}

std::string SepCmaEs::name() const {
  switch (options().restarts) {
    case CmaRestarts::none: return "sep_cma_es";
    case CmaRestarts::ipop: return "ipop_sep_cma_es";
    case CmaRestarts::bipop: return "bipop_sep_cma_es";
  }
  return "sep_cma_es";
}

// C is an n×1 matrix (the diagonal); B and D stay empty.
void SepCmaEs::reset_covariance(CmaState& s, int n) const { s.C = Eigen::VectorXd::Ones(n); }

// y = diag(√c) z
Eigen::MatrixXd SepCmaEs::scale(const CmaState& s, const Eigen::MatrixXd& z) const {
  const Eigen::VectorXd d = s.C.col(0).cwiseSqrt();
  return d.asDiagonal() * z;
}

Eigen::MatrixXd SepCmaEs::whiten(const CmaState& s, const Eigen::MatrixXd& y) const {
  const Eigen::VectorXd inv_d = s.C.col(0).cwiseSqrt().cwiseInverse();
  return inv_d.asDiagonal() * y;
}

// The diagonal of the full update: c ← decay c + c_1 p_c² + c_μ Σ w°_i y_i².
void SepCmaEs::update_covariance(CmaState& s, const CmaParameters& p, double decay, const Eigen::VectorXd& p_c,
                                 const Eigen::MatrixXd& y, const Eigen::VectorXd& w_circ) const {
  Eigen::VectorXd c = s.C;
  c = decay * c + p.c_1 * p_c.cwiseAbs2() + p.c_mu * (y.cwiseAbs2() * w_circ);
  if (!c.allFinite()) throw Error(name() + ": the covariance diagonal is no longer finite");
  // α_posdef⁻ keeps c > 0 in exact arithmetic; guard against rounding all the same.
  const double floor = std::max(c.maxCoeff(), 0.0) * 1e-40 + std::numeric_limits<double>::min();
  s.C = c.cwiseMax(floor);
}

Eigen::VectorXd SepCmaEs::covariance_diagonal(const CmaState& s) const { return s.C.col(0); }

Eigen::VectorXd SepCmaEs::principal_axis(const CmaState& s, int j) const {
  Eigen::VectorXd axis = Eigen::VectorXd::Zero(s.C.rows());
  axis(j) = std::sqrt(s.C(j, 0));
  return axis;
}

double SepCmaEs::condition(const CmaState& s) const { return s.C.maxCoeff() / s.C.minCoeff(); }

double SepCmaEs::max_axis(const CmaState& s) const { return std::sqrt(s.C.maxCoeff()); }

}  // namespace plast
