// noisy_linear_teacher: the linear teacher's data with input noise as the task's own batch
// source — exact noise-free batches at σ = 0, noise of the declared size keyed by (seed, step),
// and Bishop's (1995) result that input noise σ shrinks a linear student's least-squares map
// T by 1/(1 + σ²) when x ~ N(0, I).
#include <doctest/doctest.h>

#include <cmath>
#include <numeric>

#include "lib/harness.hpp"
#include "rules/registry.hpp"
#include "tasks/noisy_teacher.hpp"
#include "tasks/registry.hpp"

using namespace plast;

namespace {

Task noisy(double sd) {
  return task_registry()
      .make("noisy_linear_teacher", {{"inputs", 8}, {"outputs", 4}, {"train_size", 2000}, {"test_size", 200},
                                     {"input_noise", sd}})
      ->sample(3, 0, Split::meta_train);
}

struct Batch {
  Matrix x, y;
};

Batch fill(const Task& t, std::uint64_t step, Eigen::Index n) {
  std::vector<Eigen::Index> rows(static_cast<std::size_t>(n));
  std::iota(rows.begin(), rows.end(), Eigen::Index{0});
  Batch b{Matrix(n, t.input_size), Matrix(n, t.output_size)};
  fill_batch(t, rows, 11, step, b.x, b.y);
  return b;
}

}  // namespace

TEST_SUITE("tasks/noisy_teacher") {
  TEST_CASE("the same teacher and data as linear_teacher; noise only in the training batches") {
    const Task plain = task_registry()
                           .make("linear_teacher", {{"inputs", 8}, {"outputs", 4}, {"train_size", 2000}, {"test_size", 200}})
                           ->sample(3, 0, Split::meta_train);
    const Task t = noisy(0.5);
    CHECK(t.name == "noisy_linear_teacher");
    CHECK(t.train->x == plain.train->x);
    CHECK(t.train->y == plain.train->y);
    CHECK(t.test->x == plain.test->x);   // evaluation never sees noise
    REQUIRE(t.batches);
  }

  TEST_CASE("σ = 0 gives the rows as they are; σ > 0 adds noise of that size, keyed by (seed, step)") {
    const Batch clean = fill(noisy(0.0), 0, 2000);
    const Task t = noisy(0.5);
    CHECK(clean.x == t.train->x);
    const Batch a = fill(t, 4, 2000), again = fill(t, 4, 2000), other = fill(t, 5, 2000);
    CHECK(a.x == again.x);
    CHECK(a.x != other.x);
    CHECK(a.y == t.train->y);   // targets are the clean teacher's
    const Eigen::ArrayXXd e = (a.x - t.train->x).cast<double>().array();
    CHECK(std::abs(e.mean()) < 0.01);
    CHECK(std::sqrt((e - e.mean()).square().mean()) == doctest::Approx(0.5).epsilon(0.02));
  }

  TEST_CASE("input noise σ = 1 shrinks a linear student's map by 1/(1 + σ²) = 1/2 (Bishop 1995)") {
    const auto backprop = rule_registry().make("backprop");
    auto trained_map = [&](double sd) {
      const Task t = noisy(sd);
      StudentSpec spec{.hidden = {}, .activation = Activation::linear};
      Student s = make_student(t, spec, *backprop, OptimizerSpec{.type = "sgd", .lr = 0.01}, 32, student_seed(3, 0, 0));
      TrainBudget budget;
      budget.epochs = 20;
      budget.batch = 32;
      budget.alignment = false;
      REQUIRE(train(s, *backprop, t, budget).outcome == Outcome::ok);
      return Matrix(s.net.weight(0));
    };
    const Matrix clean = trained_map(0.0), shrunk = trained_map(1.0);
    const double ratio = shrunk.cast<double>().norm() / clean.cast<double>().norm();
    CHECK(ratio == doctest::Approx(0.5).epsilon(0.05));
    // The direction is the teacher's: only the scale changes.
    const double cosine = (shrunk.cast<double>().array() * clean.cast<double>().array()).sum() /
                          (shrunk.cast<double>().norm() * clean.cast<double>().norm());
    CHECK(cosine > 0.995);
  }
}
