#include "search/refine.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/error.hpp"

namespace plast {
namespace {

// The generation index of the refinement's fixed tasks: far beyond any study's generations,
// so they are tasks the search itself never trained on.
constexpr std::uint64_t kRefineGeneration = std::uint64_t{1} << 38;

class Objective final : public ceres::FirstOrderFunction {
 public:
  Objective(const StudySpec& spec, const Evaluator& evaluator, Eigen::VectorXd lower, Eigen::VectorXd upper,
            double relative_step, long long& evaluations)
      : spec_(spec), evaluator_(evaluator), lower_(std::move(lower)), upper_(std::move(upper)),
        relative_step_(relative_step), evaluations_(evaluations) {}

  int NumParameters() const override { return static_cast<int>(lower_.size()); }

  bool Evaluate(const double* parameters, double* cost, double* gradient) const override {
    const auto n = lower_.size();
    const Eigen::VectorXd theta = Eigen::Map<const Eigen::VectorXd>(parameters, n).cwiseMax(lower_).cwiseMin(upper_);
    const Eigen::Index points = gradient ? 2 * n + 1 : 1;
    Eigen::MatrixXd population(points, n);
    Eigen::VectorXd step(n);
    population.row(0) = theta.transpose();
    for (Eigen::Index k = 0; k < n && gradient; ++k) {
      step(k) = relative_step_ * std::max(std::abs(theta(k)), 0.1);
      population.row(1 + 2 * k) = theta.transpose();
      population.row(2 + 2 * k) = theta.transpose();
      population(1 + 2 * k, k) = std::min(theta(k) + step(k), upper_(k));
      population(2 + 2 * k, k) = std::max(theta(k) - step(k), lower_(k));
    }
    const auto results = evaluator_.evaluate(population, spec_.seed, kRefineGeneration, Split::meta_train);
    evaluations_ += points;
    *cost = results[0].loss;
    if (!std::isfinite(*cost)) return false;   // Ceres backs off from a diverging point
    for (Eigen::Index k = 0; k < n && gradient; ++k) {
      const double up = results[static_cast<std::size_t>(1 + 2 * k)].loss;
      const double down = results[static_cast<std::size_t>(2 + 2 * k)].loss;
      const double width = population(1 + 2 * k, k) - population(2 + 2 * k, k);
      gradient[k] = std::isfinite(up) && std::isfinite(down) && width > 0 ? (up - down) / width : 0.0;
    }
    return true;
  }

 private:
  const StudySpec& spec_;
  const Evaluator& evaluator_;
  Eigen::VectorXd lower_, upper_;
  double relative_step_;
  long long& evaluations_;
};

}  // namespace

Refinement refine(const StudySpec& spec, std::shared_ptr<const RuleSpace> space, const Eigen::VectorXd& start,
                  const Eigen::VectorXd& lower, const Eigen::VectorXd& upper, const RefineOptions& options) {
  if (start.size() != space->dimension() || lower.size() != start.size() || upper.size() != start.size())
    throw Error("refine: θ, bounds and the rule space differ in size");
  if (options.tasks < 1 || options.max_iterations < 1 || !(options.relative_step > 0))
    throw Error("refine: tasks and iterations must be >= 1 and the step > 0");
  EvaluationSpec ev = spec.evaluation;
  ev.space = space;
  ev.tasks_per_generation = options.tasks;
  const Evaluator evaluator(ev);
  Refinement r;
  r.start = start;
  Eigen::VectorXd theta = start.cwiseMax(lower).cwiseMin(upper);
  auto* objective = new Objective(spec, evaluator, lower, upper, options.relative_step, r.evaluations);
  double before = 0.0;
  objective->Evaluate(theta.data(), &before, nullptr);
  r.objective_before = before;
  ceres::GradientProblem problem(objective);   // takes ownership
  ceres::GradientProblemSolver::Options o;
  o.line_search_direction_type = ceres::LBFGS;
  o.max_num_iterations = options.max_iterations;
  o.logging_type = ceres::SILENT;
  o.function_tolerance = 1e-6;
  o.gradient_tolerance = 1e-9;
  ceres::GradientProblemSolver::Summary summary;
  ceres::Solve(o, problem, theta.data(), &summary);
  theta = theta.cwiseMax(lower).cwiseMin(upper);
  r.iterations = static_cast<int>(summary.iterations.size());
  r.objective_after = std::isfinite(summary.final_cost) ? summary.final_cost : before;

  // Held-out scores of both, in the study's harness; keep the refined θ only if it is better.
  auto heldout = [&](const Eigen::VectorXd& t) {
    return held_out_score(spec, space->make(t), spec.held_out);
  };
  r.heldout_before = heldout(r.start);
  r.heldout_after = heldout(theta);
  r.kept = r.heldout_after < r.heldout_before;
  r.candidate = theta;
  r.refined = r.kept ? theta : r.start;
  return r;
}

}  // namespace plast
