#pragma once
// Taylor-expanded plasticity: a local rule written as a weighted sum of monomials of the
// presynaptic activity, the postsynaptic activity, the weight itself and (optionally) a
// modulatory third factor m delivered to the postsynaptic neuron,
//   Δw_ij = η Σ_{a,b,c ∈ {0,1,2}, d ∈ {0,1}} θ_abcd · pre_j^a · post_i^b · w_ij^c · m_i^d,
// averaged over the batch (η is the optimizer's learning rate). Each coefficient is a rule
// parameter named by its monomial ("pre*post", "post^2*w", "pre*m", "1"); a study searches
// the subset it lists and fixes the rest (0 unless given). This is the search space of
// Jordan, Schmidt, Senn & Petrovici 2021 ("Evolving interpretable plasticity for spiking
// networks", eLife 10:e66273) and of Confavreux et al. 2020 (NeurIPS), for rate neurons.
// Layer l uses pre = h_l and post = h_{l+1}; biases do not change.
//
// Two registered rules share this class:
//   polynomial_hebbian  the 27 (pre, post, w) terms, no third factor; defaults = Oja's rule
//                       (Oja 1982): θ(pre*post) = 1, θ(post^2*w) = −1.
//   taylor              all 54 terms; the third factor m (Frémaux & Gerstner 2016,
//                       "Neuromodulated STDP and theory of three-factor learning rules") is
//                         modulator 1 (error): m = −e D_l, the output error e = ∂L/∂z_out of
//                           each sample sent to layer l's neurons through a fixed random
//                           matrix (DFA's pathway, Nøkland 2016; m = −e at the output layer).
//                           No f'(z) is applied: the polynomial can form it (tanh: 1 − post²),
//                           so pre*m − pre*post^2*m is DFA exactly;
//                         modulator 2 (reward): one global scalar, the batch's −loss;
//                         modulator 3 (reward − baseline): −loss minus its running mean
//                           (rate 0.1), the classic REINFORCE baseline (Williams 1992);
//                       defaults: θ(pre*m) = 1, the rest 0 — with the error modulator the
//                       delta rule at the output and DFA without f'(z) below it.
// normalize = 1 divides each layer by its max |w| after every update (Najarro & Risi 2020).
#include <array>
#include <string>
#include <vector>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

enum class Modulator { none = 0, error = 1, reward = 2, reward_baseline = 3 };

class PolynomialHebbian final : public LearningRule {
 public:
  // theta[a][b][c][d]: the coefficient of pre^a · post^b · w^c · m^d.
  using Coefficients = std::array<std::array<std::array<std::array<double, 2>, 3>, 3>, 3>;

  // `third_factor`: the taylor rule (54 terms, modulator params) rather than polynomial_hebbian.
  PolynomialHebbian(const ParamValues& params, bool third_factor);
  std::string name() const override { return third_factor_ ? "taylor" : "polynomial_hebbian"; }
  bool local_plasticity() const override { return true; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;
  void after_update(Mlp& net, RuleState& state) const override;
  double update_flops(const MlpShape& shape, int batch) const override;

  static std::vector<ParamSpec> params(bool third_factor);
  // "pre^2*post*w", "post*m", "1" for (a, b, c, d).
  static std::string term_name(int a, int b, int c, int d = 0);
  const Coefficients& coefficients() const { return theta_; }

 private:
  bool third_factor_ = false;
  Coefficients theta_{};
  std::vector<std::array<int, 3>> active_;   // (a, b, d) with some θ_abcd ≠ 0
  Modulator modulator_ = Modulator::none;
  float feedback_scale_ = 1.0f;
  bool normalize_ = false;
};

// Divides every layer's weights by its largest |w| (a layer of zeros stays zero).
void normalize_layers(Mlp& net);

}  // namespace plast
