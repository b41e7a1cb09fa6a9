#pragma once
// A learned optimizer (learning to optimize: Andrychowicz et al. 2016, "Learning to learn by
// gradient descent by gradient descent", NeurIPS, section 2: one small network applied to every
// parameter, "coordinatewise"; Metz et al. 2019, "Understanding and correcting pathologies in
// the training of learned optimizers", ICML, section 4 and appendix: per-parameter MLP on
// momentum traces at several rates and tanh(t / T) time features; Metz et al. 2020, "Tasks,
// stability, architecture, and compute", arXiv:2009.11243, section 3.2: the update
// Δw = λ₁ d exp(λ₂ s) as a direction times an exponentiated magnitude).
//
// Every parameter w (weight or bias, every layer) is updated by the SAME small function of its
// own features, whose weights are θ. Per parameter, with g = ∂L/∂w the exact gradient of the
// batch (backprop_gradient, lib/gradient.hpp) and t = 1, 2, … the step:
//   traces       m_f ← β_f m_f + (1 − β_f) g          (fast momentum, β_f = 0.9)
//                m_s ← β_s m_s + (1 − β_s) g          (slow momentum, β_s = 0.99)
//                v   ← β_v v   + (1 − β_v) g²         (second moment, β_v = 0.999)
//   normalizer   ρ = √(v / (1 − β_vᵗ)) + ε            (bias-corrected running RMS of g)
//   features     x = ( g/ρ,  m̂_f/ρ,  m̂_s/ρ,  w ),   m̂ = m / (1 − βᵗ)   (Adam's bias correction)
//   time         τ = ( tanh(t/10), tanh(t/100), tanh(t/1000) )       (Metz et al. 2019)
//   MLP          h = tanh((W̄ + θ_W) [x; τ] + θ_b)    (8 hidden units, W̄ a fixed random draw)
//   direction    d = base + θ_dirᵀ x + θ_hdᵀ h
//   log step     s = clamp(θ_lr + θ_tᵀ τ + θ_hmᵀ h, −10, 10)
//   update       u = lr · exp(s) · d                   (the optimizer then does w ← w − η u)
// base (parameter `base`): 0 = g, so θ = 0 is plain SGD (bitwise: u = g at lr 1);
//                          1 = m̂_f/ρ, so θ = 0 is Adam (β₁ = β_f, β₂ = β_v, ε) — the default.
//
// Why the features are divided by ρ (Metz et al. 2019, appendix; Adam's reason): a student's
// gradients differ in size by orders of magnitude between layers, tasks, widths and over
// training. Divided by their own running RMS, g, m_f and m_s are of order one for every
// parameter, so one θ means the same thing on any layer and any student, the tanh units are
// neither saturated nor silent, and an isotropic search step σ on θ is a comparable change
// everywhere. (Unnormalized, a θ found on a narrow student would be tuned to that student's
// gradient scale, which shrinks as the hidden layer widens.) The time features are the same
// for every parameter: through θ_t and the MLP they give a learned step-size schedule.
//
// Why θ = 0 is meaningful: the MLP's output weights θ_hd, θ_hm are 0 there, so it contributes
// nothing, and u is the base optimizer at the optimizer's rate η (times lr). Its input weights
// are W̄ + θ_W with W̄ ~ U(±√(6/(7+8))) (Glorot) drawn once from (init_seed, Purpose::
// init_weights, {kLearnedOptimizerStream}): at θ = 0 the hidden units already respond to the
// features, so a search's first step along θ_hd, θ_hm has a first-order effect (with W̄ = 0 it
// would not: h = tanh(0) = 0). Because the function is per parameter and shared, θ has the same
// 88 values for any student shape, and a θ found on one width runs on any other.
//
// θ's order (names(), the registered rule's coefficients, searched by a study's `terms: all`):
//   dir_g, dir_m_fast, dir_m_slow, dir_w            θ_dir (4)
//   log_lr, log_lr_t10, log_lr_t100, log_lr_t1000   θ_lr and θ_t (4)
//   mlp_in[i][j]  (i = 0…7 hidden, j = 0…6 over g, m_fast, m_slow, w, t10, t100, t1000)   θ_W (56)
//   mlp_bias[i], mlp_dir[i], mlp_mag[i]   (i = 0…7)     θ_b, θ_hd, θ_hm (24)
// State: the three traces per parameter and t, allocated in make_state; a step allocates
// nothing (the MLP runs over fixed-size blocks of 64 parameters on the stack).
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/learning_rule.hpp"
#include "lib/params.hpp"

namespace plast {

inline constexpr std::uint64_t kLearnedOptimizerStream = 0x6c326c;   // "l2l": the index of W̄'s stream

struct LearnedOptimizerOptions {
  int base = 1;               // 0: sgd (u = g at θ = 0), 1: adam (u = m̂_f/ρ at θ = 0)
  double lr = 1.0;            // scales every update (times the optimizer's η)
  double beta_fast = 0.9, beta_slow = 0.99, beta_rms = 0.999;
  double epsilon = 1e-8;
  std::uint64_t init_seed = 0;   // W̄'s draw
};

class LearnedOptimizer final : public LearningRule {
 public:
  static constexpr int kInputs = 4;        // g, m_f, m_s, w (divided by ρ but w)
  static constexpr int kTime = 3;          // tanh(t/10), tanh(t/100), tanh(t/1000)
  static constexpr int kHidden = 8;
  static constexpr int kDimension = kInputs + 1 + kTime + kHidden * (kInputs + kTime) + 3 * kHidden;   // 88
  static constexpr float kMaxLogStep = 10.0f;

  // θ of kDimension values in names()'s order. Throws InvalidValue for options out of range,
  // a θ of another size or a non-finite θ value.
  LearnedOptimizer(const LearnedOptimizerOptions& options, const Eigen::Ref<const Eigen::VectorXd>& theta);

  std::string name() const override { return "learned_optimizer"; }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override;
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override;

  static const std::vector<std::string>& names();
  // Options (base, lr, beta_fast, beta_slow, beta_rms, epsilon, init_seed), then the 88
  // coefficients (ParamSpec::coefficient, default 0) in names()'s order.
  static std::vector<ParamSpec> params();
  static LearnedOptimizerOptions options(const ParamValues& params);
  static Eigen::VectorXd theta(const ParamValues& params);
  // W̄: the fixed input weights of the MLP (kHidden × (kInputs + kTime)) for init_seed.
  static Eigen::Matrix<float, kHidden, kInputs + kTime> base_input_weights(std::uint64_t init_seed);

  const LearnedOptimizerOptions& options() const { return options_; }
  // The update of one parameter with these features (the scalar form of compute_update, for
  // tests and `plast inspect`-style probing): d and s as in the header, u = lr·exp(s)·d.
  // `grad` is g itself (base 0 uses it); x = (g/ρ, m̂_f/ρ, m̂_s/ρ, w); t ≥ 1.
  double update_of(double grad, const std::array<double, kInputs>& x, long long t) const;

 private:
  LearnedOptimizerOptions options_;
  Eigen::VectorXd theta_;
  // θ unpacked in float, as compute_update uses it.
  Eigen::Matrix<float, 1, kInputs> dir_;
  float log_lr_ = 0.0f;
  Eigen::Matrix<float, 1, kTime> log_lr_t_;
  Eigen::Matrix<float, kHidden, kInputs + kTime> w_in_;   // W̄ + θ_W
  Eigen::Matrix<float, kHidden, 1> b_;
  Eigen::Matrix<float, 1, kHidden> w_dir_, w_mag_;
  bool mlp_silent_ = true;                                   // θ_hd = θ_hm = 0: skip the MLP
};

}  // namespace plast
