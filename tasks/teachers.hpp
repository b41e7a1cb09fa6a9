#pragma once
// Teacher–student regression tasks. Inputs x ~ N(0, I); targets come from a teacher drawn
// from the task's key, so every (seed, index, split) is a different, reproducible teacher.
//
// linear_teacher — the linear problem of Lillicrap et al. 2016 (Nature Communications
//   7:13276, Fig. 2a): y = T x with T (n_out × n_in) uniform in [−1, 1]; the student of the
//   paper is a 30-20-10 linear network.
// mlp_teacher — a random tanh network (Glorot-uniform weights times `gain`, biases 0) as the
//   teacher of a nonlinear student, the classic teacher–student setting (Gardner & Derrida
//   1989; Saad & Solla 1995).
#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

class LinearTeacher final : public TaskFamily {
 public:
  explicit LinearTeacher(const ParamValues& params);
  std::string name() const override { return "linear_teacher"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  static std::vector<ParamSpec> params();

 private:
  int inputs_, outputs_;
  long train_size_, test_size_;
};

class MlpTeacher final : public TaskFamily {
 public:
  explicit MlpTeacher(const ParamValues& params);
  std::string name() const override { return "mlp_teacher"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  static std::vector<ParamSpec> params();

 private:
  int inputs_, outputs_, teacher_width_, teacher_depth_;
  float gain_, noise_;
  long train_size_, test_size_;
};

}  // namespace plast
