// The evaluator's contracts: bitwise-identical fitness with any number of threads, common
// random numbers within a generation, divergence as a counted outcome, the curve objective.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <cmath>
#include <cstring>

#include "rules/registry.hpp"
#include "search/evaluator.hpp"
#include "lib/random.hpp"
#include "tasks/registry.hpp"

using namespace plast;

namespace {

EvaluationSpec oja_spec() {
  EvaluationSpec spec;
  spec.space = std::make_shared<NamedRuleSpace>(rule_registry(), "polynomial_hebbian", ParamValues{},
                                                std::vector<std::string>{"pre*post", "post^2*w"});
  spec.tasks = task_registry().make("pca", {{"steps", 300}});
  spec.tasks_per_generation = 4;
  spec.optimizer = OptimizerSpec{.type = "sgd", .lr = 0.02};
  spec.budget.epochs = 1;
  spec.budget.batch = 1;
  return spec;
}

Eigen::MatrixXd population() {
  Eigen::MatrixXd pop(4, 2);
  pop << 1.0, -1.0,   // Oja
      1.0, -1.0,      // Oja again
      1000.0, 0.0,    // strong plain Hebb: overflows within the budget
      0.3, -0.5;
  return pop;
}

// Task t of (seed 17, generation 3) trained by hand as the evaluator trains it (same task,
// student and key) with `budget`, telemetry off: the golden reference of the curve objective.
TrainResult train_by_hand(const EvaluationSpec& spec, const LearningRule& rule, int t, TrainBudget budget) {
  const Task task = spec.tasks->sample(17, task_index(3, t), Split::meta_train);
  StudentSpec student = spec.student.spec;
  student.hidden = task.default_hidden;
  student.activation = task.default_activation;
  RandomStream key(17, Purpose::init_weights, {3, static_cast<std::uint64_t>(t)});
  Student s = make_student(task, student, rule, spec.optimizer, spec.budget.batch, key.next_u64());
  budget.alignment = false;
  return train(s, rule, task, budget);
}

std::vector<CandidateResult> run(int threads) {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
  const Evaluator evaluator(oja_spec());
  return evaluator.evaluate(population(), 17, 3, Split::meta_train);
}

}  // namespace

TEST_SUITE("search/evaluator") {
  TEST_CASE("fitness is bitwise identical with 1 and 2 threads") {
    const auto one = run(1), two = run(2);
    REQUIRE(one.size() == two.size());
    for (std::size_t m = 0; m < one.size(); ++m) {
      CHECK(std::memcmp(&one[m].fitness, &two[m].fitness, sizeof(double)) == 0);
      CHECK(one[m].task_losses == two[m].task_losses);
    }
  }

  TEST_CASE("members of a generation share tasks and students (common random numbers)") {
    const auto r = run(2);
    CHECK(r[0].fitness == r[1].fitness);
    CHECK(r[0].status == CandidateStatus::ok);
    CHECK(r[0].fitness < 0.1);
    CHECK(r[0].fitness < r[3].fitness);
  }

  TEST_CASE("a diverging candidate gets the worst fitness and status diverged, and the others go on") {
    const auto r = run(2);
    CHECK(r[2].status == CandidateStatus::diverged);
    CHECK(std::isinf(r[2].fitness));
    CHECK(std::isfinite(r[3].fitness));
  }

  TEST_CASE("other generations see other tasks; the worst-task aggregation is the max") {
    const Evaluator evaluator(oja_spec());
    const auto g3 = evaluator.evaluate(population().topRows(1), 17, 3, Split::meta_train);
    const auto g4 = evaluator.evaluate(population().topRows(1), 17, 4, Split::meta_train);
    CHECK(g3[0].task_losses != g4[0].task_losses);
    auto spec = oja_spec();
    spec.aggregation = Aggregation::worst;
    const auto worst = Evaluator(spec).evaluate(population().topRows(1), 17, 3, Split::meta_train);
    CHECK(worst[0].fitness == *std::max_element(g3[0].task_losses.begin(), g3[0].task_losses.end()));
  }

  TEST_CASE("an unknown searched parameter is an error before any work") {
    CHECK_THROWS_WITH_AS(NamedRuleSpace(rule_registry(), "polynomial_hebbian", {}, {"pre*psot"}),
                         "rule polynomial_hebbian: unknown parameter 'pre*psot' (did you mean 'pre*post'?)", Error);
  }

  TEST_CASE("the L1 penalty is added to the fitness, not to the loss") {
    auto spec = oja_spec();
    spec.l1 = 0.01;
    const auto plain = Evaluator(oja_spec()).evaluate(population(), 17, 3, Split::meta_train);
    const auto sparse = Evaluator(spec).evaluate(population(), 17, 3, Split::meta_train);
    for (int m : {0, 3}) {
      CHECK(sparse[m].loss == plain[m].loss);
      CHECK(sparse[m].fitness == doctest::Approx(plain[m].fitness + 0.01 * population().row(m).cwiseAbs().sum()));
    }
    CHECK(std::isinf(sparse[2].fitness));
    CHECK_THROWS_AS(Evaluator([] { auto s = oja_spec(); s.l1 = -1; return s; }()), InvalidValue);
  }

  TEST_CASE("objective curve: each task scores the mean test loss of the curve train() reports") {
    // Golden: the same task, student and budget trained by hand; the curve's points are step 0
    // and every 50 of the 300 steps (7 points), and the task's score is their plain mean.
    auto spec = oja_spec();
    spec.objective = MetaObjective::curve;
    spec.budget.eval_every = 50;
    spec.tasks_per_generation = 2;
    const Eigen::MatrixXd theta = population().bottomRows(1);
    const auto got = Evaluator(spec).evaluate(theta, 17, 3, Split::meta_train)[0];
    REQUIRE(got.status == CandidateStatus::ok);
    const auto rule = spec.space->make(theta.row(0).transpose());
    double mean_of_tasks = 0.0;
    for (int t = 0; t < 2; ++t) {
      const TrainResult r = train_by_hand(spec, *rule, t, spec.budget);
      REQUIRE(r.curve.size() == 7);
      CHECK(r.curve.front().step == 0);
      double sum = 0.0;
      for (const CurvePoint& p : r.curve) sum += p.test_loss;
      CHECK(got.task_losses[static_cast<std::size_t>(t)] == sum / 7.0);
      CHECK(got.task_losses[static_cast<std::size_t>(t)] != r.last().test_loss);
      mean_of_tasks += sum / 7.0;
    }
    CHECK(got.fitness == doctest::Approx(mean_of_tasks / 2.0).epsilon(1e-15));
    // The default (final) is the last point alone, with or without eval_every.
    auto final_spec = oja_spec();
    final_spec.budget.eval_every = 50;
    final_spec.tasks_per_generation = 2;
    const auto last = Evaluator(final_spec).evaluate(theta, 17, 3, Split::meta_train)[0];
    const auto plain = Evaluator([] { auto s = oja_spec(); s.tasks_per_generation = 2; return s; }())
                           .evaluate(theta, 17, 3, Split::meta_train)[0];
    CHECK(last.task_losses == plain.task_losses);
    CHECK(last.task_losses != got.task_losses);
  }

  TEST_CASE("objective curve with evaluate_start false: the points after the first step only") {
    // Golden: the 6 points after steps 50 … 300 are the 7-point curve without its step-0 point,
    // which is taken from the same student trained by hand.
    auto spec = oja_spec();
    spec.objective = MetaObjective::curve;
    spec.budget.eval_every = 50;
    spec.tasks_per_generation = 2;
    const Eigen::MatrixXd theta = population().bottomRows(1);
    const auto with_start = Evaluator(spec).evaluate(theta, 17, 3, Split::meta_train)[0];
    spec.budget.evaluate_start = false;
    const auto after_steps = Evaluator(spec).evaluate(theta, 17, 3, Split::meta_train)[0];
    const auto rule = spec.space->make(theta.row(0).transpose());
    for (int t = 0; t < 2; ++t) {
      TrainBudget first_point = spec.budget;
      first_point.evaluate_start = true;
      first_point.max_steps = 1;   // only the step-0 point matters here
      const double start = train_by_hand(spec, *rule, t, first_point).curve.front().test_loss;
      const double all7 = with_start.task_losses[static_cast<std::size_t>(t)];
      CHECK(after_steps.task_losses[static_cast<std::size_t>(t)] == doctest::Approx((7.0 * all7 - start) / 6.0).epsilon(1e-12));
      CHECK(after_steps.task_losses[static_cast<std::size_t>(t)] != all7);
    }
  }

  TEST_CASE("objective curve: bitwise identical with 1 and 2 threads; a diverging student is +inf, diverged") {
    auto spec = oja_spec();
    spec.objective = MetaObjective::curve;
    spec.budget.eval_every = 50;
    auto run_curve = [&](int threads) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads));
      return Evaluator(spec).evaluate(population(), 17, 3, Split::meta_train);
    };
    const auto one = run_curve(1), two = run_curve(2);
    for (std::size_t m = 0; m < one.size(); ++m) {
      CHECK(std::memcmp(&one[m].fitness, &two[m].fitness, sizeof(double)) == 0);
      CHECK(one[m].task_losses == two[m].task_losses);
    }
    CHECK(one[2].status == CandidateStatus::diverged);
    CHECK(std::isinf(one[2].fitness));
    CHECK(one[3].status == CandidateStatus::ok);
    CHECK(std::isfinite(one[3].fitness));
  }
}
