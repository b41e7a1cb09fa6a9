#pragma once
// Teachers that differ from one another only along k random directions of weight space
// ("fast learning on the axis that matters").
//
// A teacher is a tanh MLP (inputs-width^depth-outputs, linear output) whose flattened
// parameters are
//     θ_T = θ_0 + U c,      c ~ N(0, scale² I_k) per task,
// with a base θ_0 (Glorot-uniform weights times `gain`, biases 0) and an orthonormal basis
// U (P × k, the thin Q of a Gaussian matrix, Haar-distributed) of k ≪ P directions, P the
// number of teacher parameters. θ_0 and U are drawn from the family's seed alone (the `seed`
// of sample()), so every task of a study, meta-train and meta-test alike, shares them; only c
// is the task's own, drawn from the stream (seed, Purpose::task, {index, split}), so the two
// splits use disjoint streams. Inputs are x ~ N(0, I), targets y = teacher(x) (+ noise on the
// training targets), as in mlp_teacher (tasks/teachers.hpp, teacher_task).
//
// Why: the whole family lives on a k-dimensional affine subspace of the P-dimensional
// parameter space. A learner that starts at θ_0 and moves only within span(U) — a meta-learned
// initialization plus a learned preconditioner (Meta-SGD, Li et al. 2017; learned optimizers,
// Andrychowicz et al. 2016) — solves a k-parameter regression instead of a P-parameter one and
// can learn a new task in a few steps, while backprop from a standard initialization has to
// find the teacher in all P dimensions. The default student therefore has the teacher's
// architecture (so the teacher is realizable and U lies in the student's parameter space);
// the parameter order is that of flatten(). The relevant measure is held-out: meta-test tasks
// are new points c on the same subspace.
//
// With the defaults (10-20-2, P = 262, k = 8, scale 1, gain 1.5) ‖θ_0‖ ≈ 6 and ‖U c‖ ≈ √8 ≈ 2.8.
// Cost: U is a Householder QR of a P × k matrix, O(P k²), computed once per seed and cached.
#include <cstdint>
#include <memory>
#include <mutex>

#include <Eigen/Core>

#include "lib/mlp.hpp"
#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

class SubspaceTeacher final : public TaskFamily {
 public:
  explicit SubspaceTeacher(const ParamValues& params);   // throws InvalidValue when directions > P
  std::string name() const override { return "subspace_teacher"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  static std::vector<ParamSpec> params();

  // The shared part of the family of `seed`: base θ_0 (P) and basis U (P × k, UᵀU = I).
  struct Subspace {
    Eigen::VectorXd base;
    Eigen::MatrixXd basis;
  };
  std::shared_ptr<const Subspace> subspace(std::uint64_t seed) const;
  // The task's coordinates c (k) and its teacher network θ_0 + U c.
  Eigen::VectorXd coordinates(std::uint64_t seed, std::uint64_t index, Split split) const;
  Mlp teacher(std::uint64_t seed, std::uint64_t index, Split split) const;
  MlpShape teacher_shape() const;
  long num_teacher_parameters() const;

  // A network's parameters as one vector: layer by layer, W_l in row-major order (W_l is
  // fan_out × fan_in), then b_l. unflatten() writes such a vector back (sizes must match).
  static Eigen::VectorXd flatten(const Mlp& net);
  static void unflatten(const Eigen::Ref<const Eigen::VectorXd>& theta, Mlp& net);

 private:
  int inputs_, outputs_, teacher_width_, teacher_depth_, directions_;
  float gain_, scale_, noise_;
  long train_size_, test_size_;
  // One cached subspace (the last seed asked for): a study uses a single seed.
  mutable std::mutex cache_mutex_;
  mutable std::uint64_t cached_seed_ = 0;
  mutable std::shared_ptr<const Subspace> cached_;
};

}  // namespace plast
