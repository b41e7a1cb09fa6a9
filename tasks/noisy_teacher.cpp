#include "tasks/noisy_teacher.hpp"

#include "lib/random.hpp"
#include "tasks/teachers.hpp"

namespace plast {

void InputNoise::fill(const Dataset& train, std::span<const Eigen::Index> rows, std::uint64_t seed, std::uint64_t step,
                      Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) const {
  copy_rows(train, rows, x, y);
  RandomStream rng(seed, Purpose::augment, {step});
  for (Eigen::Index r = 0; r < x.rows(); ++r)
    for (Eigen::Index c = 0; c < x.cols(); ++c) x(r, c) += sd_ * rng.normal();
}

std::vector<ParamSpec> NoisyLinearTeacher::params() {
  std::vector<ParamSpec> p = LinearTeacher::params();
  p.push_back({"input_noise", 0.5, 0.0, 100.0, "standard deviation of the noise added to training inputs at every step"});
  return p;
}

NoisyLinearTeacher::NoisyLinearTeacher(const ParamValues& p)
    : teacher_(p), input_noise_(static_cast<float>(p.at("input_noise"))) {
  teacher_.erase("input_noise");
}

Task NoisyLinearTeacher::sample(std::uint64_t seed, std::uint64_t index, Split split) const {
  Task t = LinearTeacher(teacher_).sample(seed, index, split);   // the same teacher and data
  t.name = name();
  t.batches = std::make_shared<InputNoise>(input_noise_);
  return t;
}

}  // namespace plast
