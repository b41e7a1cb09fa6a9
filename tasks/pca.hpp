#pragma once
// Principal component analysis by a single linear neuron y = wᵀx, the task on which Oja's rule
// (Oja 1982, "Simplified neuron model as a principal component analyzer", J. Math. Biol. 15)
// is the classic answer: Δw = η y (x − y w) converges to the unit-norm top eigenvector of
// E[xxᵀ]. Each task instance draws a random rotation Q, a top-eigenvalue scale s ~ U(0.5, 1.5)
// and a random input mean μ; inputs are x = μ + Q diag(√λ) z with z ~ N(0, I) and
// λ_i = s·decay^(i−1). These break the symmetries that otherwise let wrong rules score as well
// (a fixed axis-aligned covariance rewards rules that grow w along a coordinate).
// Score (lower is better): 1 − |cos(w, PC1)| + (‖w‖ − 1)², PC1 the top eigenvector of E[xxᵀ] =
// Q diag(λ) Qᵀ + μμᵀ. The student trains on `steps` single samples (batch 1).
#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

class PcaTask final : public TaskFamily {
 public:
  explicit PcaTask(const ParamValues& params);
  std::string name() const override { return "pca"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  static std::vector<ParamSpec> params();

 private:
  int inputs_;
  long steps_;
  double decay_, mean_scale_;
};

// 1 − |cos(w, pc)| + (‖w‖ − 1)² (pc has unit norm).
double pca_loss(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& pc);

}  // namespace plast
