#pragma once
// CartPole: balance a pole hinged on a cart by pushing the cart left or right — the classic
// control benchmark of Barto, Sutton & Anderson 1983 ("Neuronlike adaptive elements that can
// solve difficult learning control problems", IEEE Trans. SMC 13(5)), with the equations of
// motion of their appendix (frictionless) as OpenAI Gym's CartPole-v1 implements them:
//   temp  = (F + m_p l θ̇² sin θ) / (m_c + m_p)
//   θ̈     = (g sin θ − cos θ · temp) / (l (4/3 − m_p cos² θ / (m_c + m_p)))
//   ẍ     = temp − m_p l θ̈ cos θ / (m_c + m_p)
// integrated by explicit Euler with τ = 0.02 s (x ← x + τẋ, ẋ ← ẋ + τẍ, θ ← θ + τθ̇,
// θ̇ ← θ̇ + τθ̈, in that order, from the old values), g = 9.8, m_c = 1.0, F = ±10 N (action 1
// pushes right, action 0 left), l the pole's HALF-length. Gym's defaults are m_p = 0.1,
// l = 0.5. The episode fails when |x| > 2.4 or |θ| > 12°; it is cut at max_steps (500 as in
// CartPole-v1). Reward 1 per step, the failing step included (Gym), so the return is the
// number of steps taken. Initial state: every coordinate ~ U(−0.05, 0.05). Observation
// (x, ẋ, θ, θ̇) as it is, unscaled (what Najarro & Risi's networks see).
//
// The `cartpole` task family (Najarro & Risi 2020's meta-learning setting, lib/episode.hpp):
// each task draws the pole's half-length and mass; meta-train tasks from [length_min,
// length_max] × [mass_min, mass_max], meta-test tasks from the held-out ranges
// [test_length_min, test_length_max] and [test_mass_min, test_mass_max] with the meta-train
// interval cut out (so held-out poles are both shorter and longer, lighter and heavier than
// any seen in the search). test_length > 0 fixes every meta-test task's half-length instead
// (to report returns at unseen lengths such as 0.25 and 2.0). Episodes start from keys of
// (seed, task index, split, episode): every student scored on a task meets the same starts.
// The student: a 4-32-16-2 tanh policy (the network), tanh outputs as Najarro & Risi.
#include <cstdint>

#include "lib/episode.hpp"
#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

struct CartPoleParams {
  double gravity = 9.8;
  double cart_mass = 1.0;
  double pole_mass = 0.1;
  double half_length = 0.5;
  double force = 10.0;
  double tau = 0.02;
  double x_limit = 2.4;
  double angle_limit = 12.0 * 2.0 * 3.14159265358979323846 / 360.0;   // 12° in radians (Gym's constant)
  long max_steps = 500;
  double init_range = 0.05;
};

// The state (x, ẋ, θ, θ̇), in double precision as in Gym.
struct CartPoleState {
  double x = 0.0, x_dot = 0.0, theta = 0.0, theta_dot = 0.0;
};

// One Euler step of the equations above with force +F (action 1) or −F (action 0).
CartPoleState cartpole_step(const CartPoleParams& p, const CartPoleState& s, int action);
// |x| > x_limit or |θ| > angle_limit.
bool cartpole_failed(const CartPoleParams& p, const CartPoleState& s);

class CartPole final : public Environment {
 public:
  // Episode starts are keyed by (seed, Purpose::data, {key..., episode}).
  CartPole(CartPoleParams params, std::uint64_t seed, std::uint64_t index, std::uint64_t split);
  int observation_size() const override { return 4; }
  int action_count() const override { return 2; }
  void reset(std::uint64_t episode) override;
  void observe(Eigen::Ref<RowVector> observation) const override;
  double step(int action) override;
  bool done() const override { return failed_ || steps_ >= params_.max_steps; }

  // For tests: set the state directly (the episode clock restarts).
  void set_state(const CartPoleState& s);
  const CartPoleState& state() const { return state_; }
  const CartPoleParams& params() const { return params_; }
  long steps() const { return steps_; }

 private:
  CartPoleParams params_;
  std::uint64_t seed_, index_, split_;
  CartPoleState state_;
  long steps_ = 0;
  bool failed_ = false;
};

class CartPoleTask final : public TaskFamily {
 public:
  explicit CartPoleTask(const ParamValues& params);
  std::string name() const override { return "cartpole"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  static std::vector<ParamSpec> params();

  // The pole of task (seed, index, split): half-length and mass.
  CartPoleParams physics(std::uint64_t seed, std::uint64_t index, Split split) const;

 private:
  double length_min_, length_max_, mass_min_, mass_max_;
  double test_length_min_, test_length_max_, test_mass_min_, test_mass_max_, test_length_;
  int episodes_;
  long max_steps_;
};

// Uniform on [lo, hi] with the interval (cut_lo, cut_hi) removed, from one uniform u ∈ [0, 1).
double uniform_outside(double u, double lo, double hi, double cut_lo, double cut_hi);

}  // namespace plast
