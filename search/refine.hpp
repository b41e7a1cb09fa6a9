#pragma once
// Ceres refinement, the evolution strategy's companion: after the search stops,
// polish θ with Ceres' gradient-problem solver (L-BFGS with a line search) on a deterministic
// objective — the mean loss on a fixed set of meta-train tasks with fixed initial students
// (common random numbers), so that every evaluation of the objective sees the same tasks.
// The gradient is numeric: central differences with a step of `relative_step`·max(|θ_k|, 0.1),
// much larger than a smooth function's optimal step, because a trained student's final loss
// is only piecewise smooth in θ (float32 training, diverging corners); all 2n + 1 points of
// one gradient are evaluated in one parallel Evaluator call. θ stays within the study's bounds.
// The refined θ is kept only if it is better on held-out (meta-test) tasks.
#include <memory>

#include <Eigen/Core>

#include "rules/rule_space.hpp"
#include "search/study.hpp"

namespace plast {

struct RefineOptions {
  int tasks = 16;               // fixed meta-train tasks of the objective
  double relative_step = 0.02;  // central-difference step, relative to max(|θ_k|, 0.1)
  int max_iterations = 20;      // L-BFGS iterations
};

struct Refinement {
  Eigen::VectorXd start, refined;      // `refined` equals `start` when refinement did not help
  Eigen::VectorXd candidate;           // where Ceres ended, kept or not
  double objective_before = 0.0, objective_after = 0.0;   // on the fixed meta-train tasks
  double heldout_before = 0.0, heldout_after = 0.0;       // meta-test, as held_out_score
  bool kept = false;                   // the refined θ was better on held-out tasks
  int iterations = 0;
  long long evaluations = 0;           // objective evaluations (each trains `tasks` students)
};

// Refines θ of `space` (the study's own space, or a pruned one) within [lower, upper].
Refinement refine(const StudySpec& spec, std::shared_ptr<const RuleSpace> space, const Eigen::VectorXd& start,
                  const Eigen::VectorXd& lower, const Eigen::VectorXd& upper, const RefineOptions& options = {});

}  // namespace plast
