// Teacher tasks: reproducible from their key, and the linear problem of Lillicrap et al.
// 2016 (Fig. 2a) learned by both backprop and feedback alignment.
#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <Eigen/QR>

#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"

using namespace plast;

namespace {

// First evaluated step at which the test loss falls below `fraction` of its initial value
// (-1 if never).
long long steps_to(const TrainResult& r, double fraction) {
  for (const auto& p : r.curve)
    if (p.test_loss < fraction * r.curve.front().test_loss) return p.step;
  return -1;
}

}  // namespace

TEST_SUITE("tasks/teachers") {
  TEST_CASE("a teacher task is the same for the same key and differs between keys") {
    for (const std::string name : {"linear_teacher", "mlp_teacher"}) {
      CAPTURE(name);
      const auto family = task_registry().make(name, {{"train_size", 50}, {"test_size", 20}});
      const Task a = family->sample(4, 0, Split::meta_train), b = family->sample(4, 0, Split::meta_train);
      CHECK((a.train->x.array() == b.train->x.array()).all());
      CHECK((a.train->y.array() == b.train->y.array()).all());
      const Task c = family->sample(4, 1, Split::meta_train), d = family->sample(4, 0, Split::meta_test);
      CHECK_FALSE((a.train->y.array() == c.train->y.array()).all());
      CHECK_FALSE((a.train->y.array() == d.train->y.array()).all());
      CHECK(a.train->size() == 50);
      CHECK(a.test->size() == 20);
    }
  }

  TEST_CASE("linear teacher targets are T x with T in [-1, 1]") {
    const auto family = task_registry().make("linear_teacher", {{"train_size", 200}, {"test_size", 10}});
    const Task t = family->sample(1, 0, Split::meta_train);
    // Recover T by least squares from the (noise-free) data and check its range.
    const Eigen::MatrixXd x = t.train->x.cast<double>(), y = t.train->y.cast<double>();
    const Eigen::MatrixXd teacher = x.colPivHouseholderQr().solve(y).transpose();
    CHECK(teacher.rows() == 10);
    CHECK(teacher.cols() == 30);
    CHECK(teacher.maxCoeff() <= 1.0 + 1e-4);
    CHECK(teacher.minCoeff() >= -1.0 - 1e-4);
    CHECK(teacher.cwiseAbs().mean() == doctest::Approx(0.5).epsilon(0.1));
  }

  TEST_CASE("Lillicrap et al.'s linear problem: FA and BP reach 1% of the initial error, FA within 2x BP's steps") {
    // studies/linear-teacher.yaml: 30-20-10 linear student, SGD lr 0.005, batch 32,
    // forward weights ~ U(±0.01) as in the paper.
    const auto family = task_registry().make("linear_teacher");
    StudentSpec spec;
    spec.hidden = {20};
    spec.activation = Activation::linear;
    spec.init_gain = 0.03f;
    OptimizerSpec sgd;
    sgd.type = "sgd";
    sgd.lr = 0.005;
    TrainBudget budget;
    budget.epochs = 2;
    budget.batch = 32;
    budget.eval_every = 5;
    const std::vector<std::uint64_t> seeds = {1, 2, 3};
    std::vector<long long> bp(3), fa(3);
    std::vector<double> bp_final(3), fa_final(3), fa_initial(3);
    tbb::parallel_for(0, 3, [&](int i) {
      const auto k = static_cast<std::size_t>(i);
      const Task task = family->sample(seeds[k], 0, Split::meta_train);
      for (const std::string name : {"backprop", "feedback_alignment"}) {
        const auto rule = rule_registry().make(name);
        Student s = make_student(task, spec, *rule, sgd, budget.batch, seeds[k]);
        const TrainResult r = train(s, *rule, task, budget);
        (name == "backprop" ? bp : fa)[k] = steps_to(r, 0.01);
        (name == "backprop" ? bp_final : fa_final)[k] = r.last().test_loss / r.curve.front().test_loss;
      }
    });
    for (std::size_t k = 0; k < 3; ++k) {
      CAPTURE(k);
      CHECK(bp[k] > 0);
      CHECK(fa[k] > 0);
      CHECK(fa[k] <= 2 * bp[k]);
      CHECK(bp_final[k] < 0.01);
      CHECK(fa_final[k] < 0.01);
    }
  }
}
