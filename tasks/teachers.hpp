#pragma once
// Teacher–student regression tasks. Inputs x ~ N(0, I); targets come from a teacher drawn
// from the task's key, so every (seed, index, split) is a different, reproducible teacher.
//
// linear_teacher — the linear problem of Lillicrap et al. 2016 (Nature Communications
//   7:13276, Fig. 2a): y = T x with T (n_out × n_in) uniform in [−1, 1]; the student of the
//   paper is a 30-20-10 linear network.
// mlp_teacher — a random tanh network (Glorot-uniform weights times `gain`, biases 0) as the
//   teacher of a nonlinear student, the classic teacher–student setting (Gardner & Derrida
//   1989; Saad & Solla 1995, Phys. Rev. E 52:4225; Goldt et al. 2019, NeurIPS, "Dynamics of
//   stochastic gradient descent for two-layer neural networks in the teacher-student setup").
//   The default student is a tanh MLP with one hidden layer twice the teacher's width.
//
// Meta-train and meta-test splits are disjoint by key: the split is part of every stream a
// task draws from (teacher: Purpose::task with {index, split}; inputs and noise:
// Purpose::data with {index, split, part, ...}), so a meta-test teacher is never the
// meta-train teacher of any index (distinct Philox streams; continuous weights coincide with
// probability zero). tests/tasks/test_meta_families.cpp checks this.
#include "lib/mlp.hpp"
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
  // The teacher network of task (seed, index, split).
  Mlp teacher(std::uint64_t seed, std::uint64_t index, Split split) const;

 private:
  int inputs_, outputs_, teacher_width_, teacher_depth_;
  float gain_, noise_;
  long train_size_, test_size_;
};

// The regression task of a given teacher, shared by the teacher families: x ~ N(0, I) from the
// stream (seed, Purpose::data, {index, split, part}) with part 0 for training and 1 for test,
// y = teacher(x), plus Gaussian noise of standard deviation `noise` on the training targets
// only (stream {index, split, 0, 1}). Squared loss, linear outputs; no validation set.
Task teacher_task(std::string name, const Mlp& teacher, std::uint64_t seed, std::uint64_t index, Split split,
                  long train_size, long test_size, float noise, std::vector<int> default_hidden,
                  Activation default_activation);

}  // namespace plast
