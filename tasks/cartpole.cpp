#include "tasks/cartpole.hpp"

#include <algorithm>
#include <cmath>

#include "lib/error.hpp"

namespace plast {

CartPoleState cartpole_step(const CartPoleParams& p, const CartPoleState& s, int action) {
  const double force = action == 1 ? p.force : -p.force;
  const double cos_t = std::cos(s.theta), sin_t = std::sin(s.theta);
  const double total_mass = p.cart_mass + p.pole_mass;
  const double pole_mass_length = p.pole_mass * p.half_length;
  const double temp = (force + pole_mass_length * s.theta_dot * s.theta_dot * sin_t) / total_mass;
  const double theta_acc =
      (p.gravity * sin_t - cos_t * temp) / (p.half_length * (4.0 / 3.0 - p.pole_mass * cos_t * cos_t / total_mass));
  const double x_acc = temp - pole_mass_length * theta_acc * cos_t / total_mass;
  CartPoleState n;
  n.x = s.x + p.tau * s.x_dot;
  n.x_dot = s.x_dot + p.tau * x_acc;
  n.theta = s.theta + p.tau * s.theta_dot;
  n.theta_dot = s.theta_dot + p.tau * theta_acc;
  return n;
}

bool cartpole_failed(const CartPoleParams& p, const CartPoleState& s) {
  return s.x < -p.x_limit || s.x > p.x_limit || s.theta < -p.angle_limit || s.theta > p.angle_limit;
}

CartPole::CartPole(CartPoleParams params, std::uint64_t seed, std::uint64_t index, std::uint64_t split)
    : params_(params), seed_(seed), index_(index), split_(split) {}

void CartPole::reset(std::uint64_t episode) {
  RandomStream rng(seed_, Purpose::data, {index_, split_, episode});
  const double r = params_.init_range;
  auto draw = [&] { return -r + 2.0 * r * rng.uniform_double(); };
  state_.x = draw();
  state_.x_dot = draw();
  state_.theta = draw();
  state_.theta_dot = draw();
  steps_ = 0;
  failed_ = false;
}

void CartPole::set_state(const CartPoleState& s) {
  state_ = s;
  steps_ = 0;
  failed_ = cartpole_failed(params_, s);
}

void CartPole::observe(Eigen::Ref<RowVector> o) const {
  o(0) = static_cast<float>(state_.x);
  o(1) = static_cast<float>(state_.x_dot);
  o(2) = static_cast<float>(state_.theta);
  o(3) = static_cast<float>(state_.theta_dot);
}

double CartPole::step(int action) {
  state_ = cartpole_step(params_, state_, action);
  ++steps_;
  failed_ = cartpole_failed(params_, state_);
  return 1.0;
}

double uniform_outside(double u, double lo, double hi, double cut_lo, double cut_hi) {
  const double below = std::max(0.0, std::min(hi, cut_lo) - lo);   // [lo, cut_lo)
  const double above_start = std::max(lo, cut_hi);
  const double above = std::max(0.0, hi - above_start);              // (cut_hi, hi]
  const double t = u * (below + above);
  return t < below ? lo + t : above_start + (t - below);
}

std::vector<ParamSpec> CartPoleTask::params() {
  return {
      {"length_min", 0.4, 0.01, 100, "meta-train pole half-length ~ U(length_min, length_max) (Gym: 0.5)"},
      {"length_max", 0.6, 0.01, 100, "upper end of the meta-train half-length range"},
      {"mass_min", 0.05, 0.001, 100, "meta-train pole mass ~ U(mass_min, mass_max) (Gym: 0.1)"},
      {"mass_max", 0.15, 0.001, 100, "upper end of the meta-train pole mass range"},
      {"test_length_min", 0.3, 0.01, 100, "meta-test half-length ~ U(test_length_min, test_length_max) minus the meta-train range"},
      {"test_length_max", 0.9, 0.01, 100, "upper end of the meta-test half-length range"},
      {"test_mass_min", 0.02, 0.001, 100, "meta-test pole mass ~ U(test_mass_min, test_mass_max) minus the meta-train range"},
      {"test_mass_max", 0.3, 0.001, 100, "upper end of the meta-test pole mass range"},
      {"test_length", 0, 0, 100, "> 0: every meta-test task has this half-length (e.g. 0.25, 2.0); 0: drawn"},
      {"episodes", 1, 1, 1e6, "episodes per task, each from fresh random weights; score −(mean return)", true},
      {"max_steps", 500, 1, 1e7, "time limit of an episode (CartPole-v1: 500)", true},
  };
}

CartPoleTask::CartPoleTask(const ParamValues& p)
    : length_min_(p.at("length_min")), length_max_(p.at("length_max")), mass_min_(p.at("mass_min")),
      mass_max_(p.at("mass_max")), test_length_min_(p.at("test_length_min")),
      test_length_max_(p.at("test_length_max")), test_mass_min_(p.at("test_mass_min")),
      test_mass_max_(p.at("test_mass_max")), test_length_(p.at("test_length")),
      episodes_(static_cast<int>(p.at("episodes"))), max_steps_(static_cast<long>(p.at("max_steps"))) {
  auto ordered = [](const char* key, double lo, double hi, const char* lo_key) {
    if (hi < lo) throw InvalidValue(key, hi, std::string("must be >= ") + lo_key + " (" + std::to_string(lo) + ")");
  };
  ordered("length_max", length_min_, length_max_, "length_min");
  ordered("mass_max", mass_min_, mass_max_, "mass_min");
  ordered("test_length_max", test_length_min_, test_length_max_, "test_length_min");
  ordered("test_mass_max", test_mass_min_, test_mass_max_, "test_mass_min");
  // A held-out range must hold something the meta-train range does not.
  auto held_out = [](const char* key, double value, double lo, double hi, double cut_lo, double cut_hi) {
    const bool point_outside = lo == hi && (lo < cut_lo || lo > cut_hi);
    if (!point_outside && !(std::max(0.0, std::min(hi, cut_lo) - lo) + std::max(0.0, hi - std::max(lo, cut_hi)) > 0))
      throw InvalidValue(key, value, "the held-out range lies inside the meta-train range");
  };
  if (test_length_ == 0)
    held_out("test_length_min", test_length_min_, test_length_min_, test_length_max_, length_min_, length_max_);
  held_out("test_mass_min", test_mass_min_, test_mass_min_, test_mass_max_, mass_min_, mass_max_);
}

CartPoleParams CartPoleTask::physics(std::uint64_t seed, std::uint64_t index, Split split) const {
  const std::uint64_t part = split == Split::meta_train ? 0 : 1;
  RandomStream rng(seed, Purpose::task, {index, part});
  const double u_length = rng.uniform_double(), u_mass = rng.uniform_double();
  CartPoleParams p;
  p.max_steps = max_steps_;
  if (split == Split::meta_train) {
    p.half_length = length_min_ + (length_max_ - length_min_) * u_length;
    p.pole_mass = mass_min_ + (mass_max_ - mass_min_) * u_mass;
  } else {
    p.half_length = test_length_ > 0 ? test_length_
                                     : uniform_outside(u_length, test_length_min_, test_length_max_, length_min_,
                                                       length_max_);
    p.pole_mass = uniform_outside(u_mass, test_mass_min_, test_mass_max_, mass_min_, mass_max_);
  }
  return p;
}

Task CartPoleTask::sample(std::uint64_t seed, std::uint64_t index, Split split) const {
  const CartPoleParams physics = this->physics(seed, index, split);
  const std::uint64_t part = split == Split::meta_train ? 0 : 1;
  auto episodes = std::make_shared<EpisodeTrainer>();
  episodes->make = [physics, seed, index, part] { return std::make_unique<CartPole>(physics, seed, index, part); };
  episodes->episodes = episodes_;
  Task t;
  t.name = "cartpole";
  t.input_size = 4;
  t.output_size = 2;
  t.loss = Loss::mse;   // not used: the score is the episode return
  t.output_activation = Activation::tanh;
  t.classification = false;
  t.default_hidden = {32, 16};
  t.default_activation = Activation::tanh;
  t.train = std::make_shared<Dataset>();
  t.validation = std::make_shared<Dataset>();
  t.test = std::make_shared<Dataset>();
  t.trainer = episodes;   // the policy learns while it acts: episodes, not minibatches
  return t;
}

}  // namespace plast
