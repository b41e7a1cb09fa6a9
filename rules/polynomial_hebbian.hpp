#pragma once
// Polynomial Hebbian plasticity: a local rule written as a weighted sum of monomials of the
// presynaptic activity, the postsynaptic activity and the weight itself,
//   Δw_ij = η Σ_{a,b,c ∈ {0,1,2}} θ_abc · pre_j^a · post_i^b · w_ij^c,
// averaged over the batch (η is the optimizer's learning rate). The 27 coefficients θ_abc are
// the rule's parameters, named by their monomial ("pre*post", "post^2*w", "1"); a study
// searches the subset it lists and fixes the rest (0 unless given). This is the search space
// of Jordan, Schmidt, Senn & Petrovici 2021 ("Evolving interpretable plasticity for spiking
// networks", eLife 10:e66273) and of Confavreux et al. 2020 (NeurIPS), restricted to rate
// neurons; Oja's rule (Oja 1982) is θ(pre*post) = 1, θ(post^2*w) = −1 — the defaults.
// Layer l uses pre = h_l and post = h_{l+1}; biases do not change. No output error is used.
#include <array>
#include <string>
#include <vector>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

class PolynomialHebbian final : public LearningRule {
 public:
  // theta[a][b][c]: the coefficient of pre^a · post^b · w^c.
  using Coefficients = std::array<std::array<std::array<double, 3>, 3>, 3>;

  explicit PolynomialHebbian(const ParamValues& params);
  std::string name() const override { return "polynomial_hebbian"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  double update_flops(const MlpShape& shape, int batch) const override;

  static std::vector<ParamSpec> params();
  // "pre^2*post*w", "post", "1" for (a, b, c).
  static std::string term_name(int a, int b, int c);
  const Coefficients& coefficients() const { return theta_; }

 private:
  Coefficients theta_{};
  std::vector<std::pair<int, int>> active_pairs_;   // (a, b) with some θ_abc ≠ 0
};

}  // namespace plast
