// The meta-learning task families (tasks/teachers.hpp mlp_teacher,
// tasks/subspace_teacher.hpp, tasks/sinusoid.hpp): shapes and default students, the same key
// gives the same task, meta-train and meta-test are disjoint (no meta-test task equals a
// meta-train task of any index), the sinusoid ranges of Finn et al. 2017, subspace teachers
// that differ only within span(U), a backprop student whose test loss falls on each family,
// and bad parameters as `key = value: must be ...` errors.
#include <doctest/doctest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"
#include "tasks/sinusoid.hpp"
#include "tasks/subspace_teacher.hpp"
#include "tasks/teachers.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

const char* const kFamilies[] = {"mlp_teacher", "subspace_teacher", "sinusoid"};

// Small datasets so that the suite stays fast (sinusoid's defaults are already small).
ParamValues small(const std::string& family) {
  if (family == "sinusoid") return {};
  return {{"train_size", 256}, {"test_size", 128}};
}

bool same(const Dataset& a, const Dataset& b) { return a.x == b.x && a.y == b.y; }

// The teacher's (or the wave's) identity as one vector, to compare tasks.
Eigen::VectorXd identity(const std::string& family, const TaskFamily& f, std::uint64_t seed, std::uint64_t index,
                         Split split) {
  if (family == "mlp_teacher")
    return SubspaceTeacher::flatten(dynamic_cast<const MlpTeacher&>(f).teacher(seed, index, split));
  if (family == "subspace_teacher")
    return SubspaceTeacher::flatten(dynamic_cast<const SubspaceTeacher&>(f).teacher(seed, index, split));
  const Sinusoid::Wave w = dynamic_cast<const Sinusoid&>(f).wave(seed, index, split);
  return Eigen::Vector2d(w.amplitude, w.phase);
}

// Trains the task's default student with backprop and returns (initial, final) test loss.
std::pair<double, double> backprop_losses(const Task& task, const OptimizerSpec& opt, int epochs, int batch,
                                          std::uint64_t seed) {
  const auto rule = rule_registry().make("backprop");
  StudentSpec spec;
  spec.hidden = task.default_hidden;
  spec.activation = task.default_activation;
  TrainBudget budget;
  budget.epochs = epochs;
  budget.batch = batch;
  budget.alignment = false;
  Student s = make_student(task, spec, *rule, opt, batch, seed);
  const TrainResult r = train(s, *rule, task, budget);
  REQUIRE(r.outcome == Outcome::ok);
  return {r.curve.front().test_loss, r.last().test_loss};
}

}  // namespace

TEST_SUITE("tasks/meta_families") {

TEST_CASE("shapes, losses and default students") {
  const Task m = task_registry().make("mlp_teacher", small("mlp_teacher"))->sample(1, 0, Split::meta_train);
  CHECK(m.name == "mlp_teacher");
  CHECK(m.input_size == 20);
  CHECK(m.output_size == 5);
  CHECK(m.default_hidden == std::vector<int>{40});
  CHECK(m.default_activation == Activation::tanh);

  const Task s = task_registry().make("subspace_teacher", small("subspace_teacher"))->sample(1, 0, Split::meta_train);
  CHECK(s.name == "subspace_teacher");
  CHECK(s.input_size == 10);
  CHECK(s.output_size == 2);
  CHECK(s.default_hidden == std::vector<int>{20});   // the teacher's architecture: realizable
  CHECK(s.default_activation == Activation::tanh);

  const Task w = task_registry().make("sinusoid")->sample(1, 0, Split::meta_train);
  CHECK(w.name == "sinusoid");
  CHECK(w.input_size == 1);
  CHECK(w.output_size == 1);
  CHECK(w.default_hidden == std::vector<int>{40, 40});   // Finn et al. 2017: 1-40-40-1 ReLU
  CHECK(w.default_activation == Activation::relu);
  CHECK(w.train->size() == 10);                         // 10-shot by default
  CHECK(w.test->size() == 100);
  CHECK(task_registry().make("sinusoid", {{"shots", 5}, {"test_size", 7}})->sample(1, 0, Split::meta_train).train->size() == 5);

  for (const Task* t : {&m, &s, &w}) {
    CAPTURE(t->name);
    CHECK(t->loss == Loss::mse);
    CHECK(t->output_activation == Activation::linear);
    CHECK_FALSE(t->classification);
    CHECK(t->validation->empty());
    CHECK(t->train->labels.empty());
  }
}

TEST_CASE("the same key gives the same task, bit for bit") {
  for (const std::string name : kFamilies) {
    CAPTURE(name);
    const auto f = task_registry().make(name, small(name));
    const auto g = task_registry().make(name, small(name));   // a second instance: no hidden state
    for (Split split : {Split::meta_train, Split::meta_test}) {
      const Task a = f->sample(11, 3, split), b = f->sample(11, 3, split), c = g->sample(11, 3, split);
      CHECK(same(*a.train, *b.train));
      CHECK(same(*a.test, *b.test));
      CHECK(same(*a.train, *c.train));
      CHECK(same(*a.test, *c.test));
      CHECK(a.train->x.allFinite());
      CHECK(a.train->y.allFinite());
    }
    // Another seed or index gives another task.
    CHECK_FALSE(same(*f->sample(11, 3, Split::meta_train).train, *f->sample(12, 3, Split::meta_train).train));
    CHECK_FALSE(same(*f->sample(11, 3, Split::meta_train).train, *f->sample(11, 4, Split::meta_train).train));
  }
}

TEST_CASE("meta-train and meta-test are disjoint: no meta-test task equals any meta-train task") {
  for (const std::string name : kFamilies) {
    CAPTURE(name);
    const auto f = task_registry().make(name, small(name));
    constexpr int n = 12;
    std::vector<Eigen::VectorXd> train_ids, test_ids;
    for (std::uint64_t i = 0; i < n; ++i) {
      train_ids.push_back(identity(name, *f, 5, i, Split::meta_train));
      test_ids.push_back(identity(name, *f, 5, i, Split::meta_test));
    }
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j) {
        CAPTURE(i);
        CAPTURE(j);
        CHECK((train_ids[i] - test_ids[j]).norm() > 1e-3 * train_ids[i].norm());
        if (i != j) CHECK((train_ids[i] - train_ids[j]).norm() > 1e-3 * train_ids[i].norm());
      }
    // The data differ too, at the same index.
    const Task a = f->sample(5, 0, Split::meta_train), b = f->sample(5, 0, Split::meta_test);
    CHECK_FALSE(same(*a.train, *b.train));
    CHECK_FALSE(same(*a.test, *b.test));
  }
}

TEST_CASE("mlp_teacher and subspace_teacher targets are the teacher's outputs on x ~ N(0, I); noise only on training targets") {
  for (const std::string name : {"mlp_teacher", "subspace_teacher"}) {
    CAPTURE(name);
    for (double noise : {0.0, 0.5}) {
      CAPTURE(noise);
      ParamValues p = small(name);
      p["noise"] = noise;
      p["train_size"] = 2000;
      const auto f = task_registry().make(name, p);
      const Task t = f->sample(2, 1, Split::meta_test);
      const Mlp teacher = name == "mlp_teacher" ? dynamic_cast<const MlpTeacher&>(*f).teacher(2, 1, Split::meta_test)
                                                : dynamic_cast<const SubspaceTeacher&>(*f).teacher(2, 1, Split::meta_test);
      for (const Dataset* d : {t.train.get(), t.test.get()}) {
        ForwardCache cache(teacher.shape(), static_cast<int>(d->size()));
        forward(teacher, d->x, cache);
        const double residual = std::sqrt((d->y - cache.output()).squaredNorm() / static_cast<double>(d->y.size()));
        if (d == t.test.get() || noise == 0.0)
          CHECK(residual < 1e-6);
        else
          CHECK(residual == doctest::Approx(noise).epsilon(0.05));
      }
      // Inputs ~ N(0, I).
      CHECK(t.train->x.mean() == doctest::Approx(0.0).scale(1.0).epsilon(0.02));
      CHECK(t.train->x.array().square().mean() == doctest::Approx(1.0).epsilon(0.03));
    }
  }
}

TEST_CASE("sinusoid: amplitude in [0.1, 5], phase in [0, pi], x in [-5, 5], y = A sin(x - phase)") {
  const auto f = task_registry().make("sinusoid");
  const auto& sin_family = dynamic_cast<const Sinusoid&>(*f);
  double amp_min = 1e9, amp_max = -1e9, phase_min = 1e9, phase_max = -1e9, amp_sum = 0, phase_sum = 0;
  double x_min = 1e9, x_max = -1e9;
  constexpr int n = 2000;
  for (int i = 0; i < n; ++i) {
    const Split split = i % 2 ? Split::meta_test : Split::meta_train;
    const auto w = sin_family.wave(3, static_cast<std::uint64_t>(i), split);
    amp_min = std::min(amp_min, w.amplitude);
    amp_max = std::max(amp_max, w.amplitude);
    phase_min = std::min(phase_min, w.phase);
    phase_max = std::max(phase_max, w.phase);
    amp_sum += w.amplitude;
    phase_sum += w.phase;
    if (i < 50) {
      const Task t = f->sample(3, static_cast<std::uint64_t>(i), split);
      for (const Dataset* d : {t.train.get(), t.test.get()})
        for (Eigen::Index r = 0; r < d->size(); ++r) {
          const double x = d->x(r, 0);
          x_min = std::min(x_min, x);
          x_max = std::max(x_max, x);
          CHECK(d->y(r, 0) == doctest::Approx(w.amplitude * std::sin(x - w.phase)).epsilon(1e-5).scale(1.0));
        }
    }
  }
  CHECK(amp_min >= 0.1);
  CHECK(amp_max <= 5.0);
  CHECK(phase_min >= 0.0);
  CHECK(phase_max <= std::numbers::pi);
  CHECK(x_min >= -5.0);
  CHECK(x_max <= 5.0);
  // ... and they fill the ranges (uniform: means at the centres).
  CHECK(amp_min < 0.15);
  CHECK(amp_max > 4.95);
  CHECK(phase_min < 0.01);
  CHECK(phase_max > std::numbers::pi - 0.01);
  CHECK(x_min < -4.9);
  CHECK(x_max > 4.9);
  CHECK(amp_sum / n == doctest::Approx(2.55).epsilon(0.03));
  CHECK(phase_sum / n == doctest::Approx(std::numbers::pi / 2).epsilon(0.03));

  // Other ranges are honoured.
  const auto g = task_registry().make("sinusoid", {{"amplitude_min", 1}, {"amplitude_max", 1}, {"phase_min", 0},
                                                   {"phase_max", 0}, {"input_min", 0}, {"input_max", 1}});
  const Task t = g->sample(1, 0, Split::meta_train);
  for (Eigen::Index r = 0; r < t.test->size(); ++r) {
    CHECK(t.test->x(r, 0) >= 0.0f);
    CHECK(t.test->x(r, 0) <= 1.0f);
    CHECK(t.test->y(r, 0) == doctest::Approx(std::sin(t.test->x(r, 0))).epsilon(1e-5));
  }
}

TEST_CASE("subspace teachers: theta_0 and U shared by all tasks and both splits, U orthonormal, teachers differ only within span(U)") {
  const auto f = task_registry().make("subspace_teacher", small("subspace_teacher"));
  const auto& sub = dynamic_cast<const SubspaceTeacher&>(*f);
  CHECK(sub.num_teacher_parameters() == 10 * 20 + 20 + 20 * 2 + 2);
  const auto space = sub.subspace(7);
  const Eigen::Index p = sub.num_teacher_parameters();
  REQUIRE(space->base.size() == p);
  REQUIRE(space->basis.rows() == p);
  REQUIRE(space->basis.cols() == 8);
  CHECK((space->basis.transpose() * space->basis - Eigen::MatrixXd::Identity(8, 8)).cwiseAbs().maxCoeff() < 1e-12);
  // Another instance and a repeated call give the same subspace; another seed another one.
  const auto again = dynamic_cast<const SubspaceTeacher&>(*task_registry().make("subspace_teacher")).subspace(7);
  CHECK(again->base == space->base);
  CHECK(again->basis == space->basis);
  const auto other = sub.subspace(8);
  CHECK((other->base - space->base).norm() > 1.0);
  CHECK((other->basis.transpose() * space->basis).cwiseAbs().maxCoeff() < 0.5);
  CHECK(sub.subspace(7)->basis == space->basis);   // after the cache moved on to seed 8

  // The projector on the orthogonal complement of span(U).
  const Eigen::MatrixXd complement = Eigen::MatrixXd::Identity(p, p) - space->basis * space->basis.transpose();
  std::vector<Eigen::VectorXd> teachers;
  for (std::uint64_t i = 0; i < 6; ++i)
    for (Split split : {Split::meta_train, Split::meta_test})
      teachers.push_back(SubspaceTeacher::flatten(sub.teacher(7, i, split)));
  for (std::size_t a = 0; a < teachers.size(); ++a) {
    CAPTURE(a);
    // θ_T − θ_0 = U c, c of scale 1 in 8 directions: ‖U c‖ ≈ √8, and nothing outside span(U)
    // beyond float32 rounding of the teacher's weights.
    CHECK((complement * (teachers[a] - space->base)).norm() < 1e-5);
    for (std::size_t b = a + 1; b < teachers.size(); ++b) {
      const Eigen::VectorXd diff = teachers[a] - teachers[b];
      CHECK(diff.norm() > 0.5);
      CHECK((complement * diff).norm() < 1e-5 * diff.norm());
    }
  }
  // c ~ N(0, scale² I): its norm over many tasks, and the teacher is θ_0 + U c.
  double sum_sq = 0.0;
  for (std::uint64_t i = 0; i < 500; ++i) sum_sq += sub.coordinates(7, i, Split::meta_train).squaredNorm();
  CHECK(sum_sq / 500 == doctest::Approx(8.0).epsilon(0.05));
  const Eigen::VectorXd c = sub.coordinates(7, 2, Split::meta_test);
  CHECK((teachers[5] - (space->base + space->basis * c)).cwiseAbs().maxCoeff() < 1e-6);
  const auto scaled = task_registry().make("subspace_teacher", {{"scale", 3}});
  CHECK((dynamic_cast<const SubspaceTeacher&>(*scaled).coordinates(7, 2, Split::meta_test) - 3.0 * c).norm() < 1e-5);
  // flatten and unflatten are inverse.
  Mlp net(sub.teacher_shape());
  SubspaceTeacher::unflatten(teachers[3], net);
  CHECK(SubspaceTeacher::flatten(net) == teachers[3]);
  CHECK(test::error_message([&] { SubspaceTeacher::unflatten(Eigen::VectorXd::Zero(3), net); })
            .find("3 values for the 262 parameters") != std::string::npos);
}

TEST_CASE("a backprop student's test loss falls on each family") {
  OptimizerSpec adam;
  adam.type = "adam";
  adam.lr = 0.003;
  for (const std::string name : {"mlp_teacher", "subspace_teacher"}) {
    CAPTURE(name);
    const auto f = task_registry().make(name, {{"train_size", 2000}, {"test_size", 500}});
    for (std::uint64_t i = 0; i < 2; ++i) {
      CAPTURE(i);
      const auto [before, after] = backprop_losses(f->sample(1, i, Split::meta_test), adam, 10, 32, 50 + i);
      CHECK(after < 0.2 * before);
    }
  }
  // Sinusoid: 10 shots, full batch, 200 steps from scratch; the test points lie between the shots.
  adam.lr = 0.01;
  const auto f = task_registry().make("sinusoid");
  double before = 0.0, after = 0.0;
  for (std::uint64_t i = 0; i < 8; ++i) {
    const auto [a, b] = backprop_losses(f->sample(1, i, Split::meta_test), adam, 200, 10, 70 + i);
    before += a;
    after += b;
  }
  CHECK(after < 0.5 * before);
}

TEST_CASE("bad parameters are `key = value: must be ...` errors") {
  CHECK(test::error_message([] { task_registry().make("subspace_teacher", {{"directions", 300}}); }) ==
        "directions = 300: must be <= 262, the number of teacher parameters (10-20-2 tanh)");
  CHECK(test::error_message([] { task_registry().make("subspace_teacher", {{"directions", 0}}); })
            .rfind("directions = 0: must be in [1, ", 0) == 0);
  CHECK(test::error_message([] { task_registry().make("subspace_teacher", {{"scale", -1}}); }) ==
        "scale = -1: must be in [0, 1000]");
  CHECK(test::error_message([] { task_registry().make("subspace_teacher", {{"directions", 2.5}}); }) ==
        "directions = 2.5: must be an integer");
  CHECK(task_registry().make("subspace_teacher", {{"directions", 262}}) != nullptr);   // k = P: all of weight space
  CHECK(test::error_message([] { task_registry().make("sinusoid", {{"amplitude_max", 0.05}}); }) ==
        "amplitude_max = 0.05: must be >= amplitude_min (0.1)");
  CHECK(test::error_message([] { task_registry().make("sinusoid", {{"input_min", 6}}); }) ==
        "input_max = 5: must be >= input_min (6)");
  CHECK(test::error_message([] { task_registry().make("sinusoid", {{"phase_max", -1}}); }) ==
        "phase_max = -1: must be >= phase_min (0)");
  CHECK(test::error_message([] { task_registry().make("sinusoid", {{"shots", 0}}); }) ==
        "shots = 0: must be in [1, 1e+06]");
  CHECK(test::error_message([] { task_registry().make("sinusoid", {{"shot", 5}}); }) ==
        "task sinusoid: unknown parameter 'shot' (did you mean 'shots'?)");
  CHECK(test::error_message([] { task_registry().make("mlp_teacher", {{"noise", -0.1}}); }) ==
        "noise = -0.1: must be in [0, 100]");
}

}  // TEST_SUITE
