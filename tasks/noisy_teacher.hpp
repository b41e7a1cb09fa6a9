#pragma once
// noisy_linear_teacher — the linear teacher of Lillicrap et al. 2016 (y = T x, T ~ U[−1, 1],
// x ~ N(0, I); tasks/teachers.hpp) with fresh Gaussian noise of standard deviation σ added to
// the training inputs at every step, never to validation or test inputs. Training with input
// noise is, to first order in σ², training with a Tikhonov penalty on the network's input
// gradient (Bishop 1995, "Training with noise is equivalent to Tikhonov regularization",
// Neural Computation 7:108): for the linear student y = W x the expected loss is the clean loss
// plus σ²‖W‖²_F (per output, mean squared error), so noise shrinks the learned map — a
// regularizer a rule must cope with, where a rule whose update ignores the input's second
// moments (a Hebbian term) sees the noise as signal.
//
// The noise is the task's own batch source (lib/task.hpp, BatchSource): the training loop
// knows nothing of it. Each draw comes from (student seed, Purpose::augment, {step}), so a
// batch depends on neither the thread count nor the schedule.
#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

// Adds N(0, σ²) noise to the copied training inputs of each step.
class InputNoise final : public BatchSource {
 public:
  explicit InputNoise(float sd) : sd_(sd) {}
  void fill(const Dataset& train, std::span<const Eigen::Index> rows, std::uint64_t seed, std::uint64_t step,
            Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) const override;
  float sd() const { return sd_; }

 private:
  float sd_;
};

class NoisyLinearTeacher final : public TaskFamily {
 public:
  explicit NoisyLinearTeacher(const ParamValues& params);
  std::string name() const override { return "noisy_linear_teacher"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  static std::vector<ParamSpec> params();

 private:
  ParamValues teacher_;   // the linear teacher's own parameters
  float input_noise_;
};

}  // namespace plast
