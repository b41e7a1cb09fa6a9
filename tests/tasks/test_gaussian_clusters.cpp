// The gaussian_clusters family (tasks/gaussian_clusters.hpp): shapes and balanced one-hot
// targets, determinism per key, different tasks per index and per split, clusters that a
// nearest-class-mean classifier separates, and online learning (batch 1, 250 steps) with
// feedback alignment well above chance.
#include <doctest/doctest.h>

#include <numeric>

#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "tasks/gaussian_clusters.hpp"
#include "tasks/registry.hpp"

using namespace plast;

namespace {

std::shared_ptr<const TaskFamily> family(const ParamValues& given = {}) {
  return task_registry().make("gaussian_clusters", given);
}

// Accuracy on `test` of the classifier that assigns the class whose training mean is nearest.
double nearest_mean_accuracy(const Dataset& train, const Dataset& test, int classes) {
  Matrix means = Matrix::Zero(classes, train.x.cols());
  std::vector<int> counts(static_cast<std::size_t>(classes), 0);
  for (Eigen::Index i = 0; i < train.size(); ++i) {
    means.row(train.labels[i]) += train.x.row(i);
    ++counts[static_cast<std::size_t>(train.labels[i])];
  }
  for (int k = 0; k < classes; ++k) means.row(k) /= static_cast<float>(counts[static_cast<std::size_t>(k)]);
  long correct = 0;
  for (Eigen::Index i = 0; i < test.size(); ++i) {
    Eigen::Index best = 0;
    (means.rowwise() - test.x.row(i)).rowwise().squaredNorm().minCoeff(&best);
    correct += best == test.labels[i];
  }
  return static_cast<double>(correct) / static_cast<double>(test.size());
}

}  // namespace

TEST_SUITE("tasks/gaussian_clusters") {

TEST_CASE("a task is 5-way classification in 32-D: 250 balanced training samples, one-hot targets, 32-64-32-5 ReLU") {
  const Task t = family()->sample(1, 0, Split::meta_train);
  CHECK(t.name == "gaussian_clusters");
  CHECK(t.input_size == 32);
  CHECK(t.output_size == 5);
  CHECK(t.classification);
  CHECK(t.loss == Loss::softmax_cross_entropy);
  CHECK(t.output_activation == Activation::linear);
  CHECK(t.default_hidden == std::vector<int>{64, 32});
  CHECK(t.default_activation == Activation::relu);
  REQUIRE(t.train);
  REQUIRE(t.test);
  CHECK(t.train->size() == 250);
  CHECK(t.test->size() == 500);
  for (const Dataset* d : {t.train.get(), t.test.get()}) {
    CHECK(d->x.cols() == 32);
    CHECK(d->y.cols() == 5);
    REQUIRE(d->labels.size() == static_cast<std::size_t>(d->size()));
    std::vector<int> counts(5, 0);
    for (Eigen::Index i = 0; i < d->size(); ++i) {
      const int k = d->labels[static_cast<std::size_t>(i)];
      ++counts[static_cast<std::size_t>(k)];
      CHECK(d->y(i, k) == 1.0f);
      CHECK(d->y.row(i).sum() == 1.0f);
    }
    for (int c : counts) CHECK(c == d->size() / 5);
    CHECK(d->x.allFinite());
  }
  CHECK(t.validation->empty());
}

TEST_CASE("the same key gives the same task; another index or the other split gives another") {
  const auto f = family();
  const Task a = f->sample(3, 7, Split::meta_train), b = f->sample(3, 7, Split::meta_train);
  CHECK(a.train->x == b.train->x);
  CHECK(a.test->x == b.test->x);
  CHECK(a.train->labels == b.train->labels);
  const Task other_index = f->sample(3, 8, Split::meta_train);
  const Task other_split = f->sample(3, 7, Split::meta_test);
  const Task other_seed = f->sample(4, 7, Split::meta_train);
  for (const Task* o : {&other_index, &other_split, &other_seed}) {
    // Different centers: the class means differ by far more than sampling noise.
    CHECK((o->train->x - a.train->x).cwiseAbs().mean() > 0.5f);
  }
  // Train and test sets of one task are different draws from the same clusters.
  CHECK(a.train->x.topRows(250) != a.test->x.topRows(250));
}

TEST_CASE("parameters shape the task: classes, dims, sizes; noise 0 puts every sample on its center") {
  const Task t = family({{"classes", 3}, {"dims", 4}, {"train_size", 30}, {"test_size", 12}, {"noise", 0.0}})
                     ->sample(1, 0, Split::meta_test);
  CHECK(t.input_size == 4);
  CHECK(t.output_size == 3);
  CHECK(t.train->size() == 30);
  CHECK(t.test->size() == 12);
  // Noise 0: all samples of a class coincide, in train and test alike.
  for (Eigen::Index i = 3; i < 30; ++i) CHECK(t.train->x.row(i) == t.train->x.row(i % 3));
  for (Eigen::Index i = 0; i < 12; ++i) CHECK(t.test->x.row(i) == t.train->x.row(i % 3));
}

TEST_CASE("the default clusters are learnable but not trivial: nearest class mean scores between 70% and 99%") {
  const auto f = family();
  double sum = 0.0;
  for (std::uint64_t i = 0; i < 8; ++i) {
    const Task t = f->sample(1, i, Split::meta_test);
    sum += nearest_mean_accuracy(*t.train, *t.test, 5);
  }
  const double mean = sum / 8.0;
  MESSAGE("nearest class mean accuracy (8 tasks): " << mean);
  CHECK(mean > 0.70);
  CHECK(mean < 0.99);
}

TEST_CASE("online feedback alignment (batch 1, one epoch = 250 steps) beats chance (20%) by far") {
  const auto f = family();
  const auto fa = rule_registry().make("feedback_alignment");
  TrainBudget budget;
  budget.epochs = 1;
  budget.batch = 1;
  budget.alignment = false;
  budget.evaluate_start = false;
  OptimizerSpec sgd;
  sgd.type = "sgd";
  sgd.lr = 0.03;   // about the tuned rate (studies/term-pool-fa.yaml finds η ≈ 0.032–0.038)
  double sum = 0.0;
  for (std::uint64_t i = 0; i < 8; ++i) {
    const Task t = f->sample(2, i, Split::meta_test);
    StudentSpec spec{t.default_hidden, t.default_activation};
    Student s = make_student(t, spec, *fa, sgd, 1, 100 + i);
    const TrainResult r = train(s, *fa, t, budget);
    CHECK(r.steps == 250);
    REQUIRE(r.outcome == Outcome::ok);
    sum += r.last().test_accuracy;
  }
  MESSAGE("FA online accuracy (8 tasks, lr 0.03): " << sum / 8.0);
  CHECK(sum / 8.0 > 0.6);
}

}  // TEST_SUITE
