// The task registry contract (DESIGN.md, "Conventions worth copying"): every registered task
// family is built from its defaults, samples the same task twice from the same key, gives
// datasets (or an environment) shaped as the task declares, and a backprop student with the
// task's default architecture takes a training step on it; out-of-range parameters are
// `key = value: must be in [...]` errors. A family is tested the moment it is registered.
// Families that read data files are skipped, with a message, where scripts/get-data has not run.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

bool needs_missing_data(const std::string& message) {
  return message.find("file not found") != std::string::npos && message.find("get-data") != std::string::npos;
}

void check_dataset(const Task& t, const Dataset& d, bool may_be_empty) {
  if (!may_be_empty) CHECK(d.size() > 0);
  if (d.empty()) return;
  CHECK(d.x.cols() == t.input_size);
  CHECK(d.y.cols() == t.output_size);
  CHECK(d.y.rows() == d.x.rows());
  CHECK(d.x.allFinite());
  CHECK(d.y.allFinite());
  if (t.classification) CHECK(d.labels.size() == static_cast<std::size_t>(d.size()));
}

}  // namespace

TEST_SUITE("tasks/registry") {

TEST_CASE("every registered task family has a unique name, a summary and sane parameters") {
  const auto& reg = task_registry();
  CHECK(reg.kind() == "task");
  std::set<std::string> seen;
  for (const auto& e : reg.entries()) {
    CAPTURE(e.name);
    CHECK(seen.insert(e.name).second);
    CHECK_FALSE(e.summary.empty());
    CHECK(static_cast<bool>(e.make));
    std::set<std::string> params;
    for (const auto& p : e.params) {
      CAPTURE(p.name);
      CHECK(params.insert(p.name).second);
      CHECK(p.min <= p.default_value);
      CHECK(p.default_value <= p.max);
      CHECK_FALSE(p.help.empty());
      if (p.integer) CHECK(p.default_value == std::floor(p.default_value));
    }
  }
  for (const char* name : {"mlp_teacher", "subspace_teacher", "sinusoid", "gaussian_clusters", "linear_teacher"})
    CHECK(reg.contains(name));
}

TEST_CASE("every registered task family, built from defaults, samples reproducibly, well shaped, and trains a backprop student") {
  const auto backprop = rule_registry().make("backprop");
  for (const auto& entry : task_registry().entries()) {
    CAPTURE(entry.name);
    const auto family = task_registry().make(entry.name);
    REQUIRE(family != nullptr);
    CHECK(family->name() == entry.name);
    Task a, b;
    try {
      a = family->sample(1, 0, Split::meta_train);
    } catch (const Error& e) {
      if (needs_missing_data(e.what())) {
        MESSAGE("skipped " << entry.name << ": " << e.what());
        continue;
      }
      throw;
    }
    b = family->sample(1, 0, Split::meta_train);
    CHECK(a.name == entry.name);
    CHECK(a.input_size > 0);
    CHECK(a.output_size > 0);
    if (a.trainer) {   // a task with its own training procedure (control) has no datasets to check
      CHECK(b.trainer != nullptr);
    } else {
      REQUIRE(a.train);
      REQUIRE(a.test);
      REQUIRE(a.validation);
      check_dataset(a, *a.train, false);
      check_dataset(a, *a.validation, true);
      check_dataset(a, *a.test, false);
      CHECK(a.train->x == b.train->x);
      CHECK(a.train->y == b.train->y);
      CHECK(a.test->x == b.test->x);
      CHECK(a.test->y == b.test->y);
      CHECK(a.train->labels == b.train->labels);
    }
    // The meta-test split samples too.
    const Task held_out = family->sample(1, 0, Split::meta_test);
    CHECK(held_out.input_size == a.input_size);
    CHECK(held_out.output_size == a.output_size);

    StudentSpec spec;
    spec.hidden = a.default_hidden;
    spec.activation = a.default_activation;
    OptimizerSpec sgd;
    sgd.lr = 0.01;
    TrainBudget budget;
    budget.epochs = 1;
    budget.max_steps = 1;
    budget.batch = a.trainer ? 1 : static_cast<int>(std::min<Eigen::Index>(32, a.train->size()));
    budget.alignment = false;
    budget.evaluate_start = false;
    Student s = make_student(a, spec, *backprop, sgd, budget.batch, 7);
    const TrainResult r = train(s, *backprop, a, budget);
    CHECK(r.outcome == Outcome::ok);
    REQUIRE_FALSE(r.curve.empty());
    CHECK(std::isfinite(r.last().test_loss));
    CHECK(s.net.all_finite());
  }
}

TEST_CASE("out-of-range, non-finite and unknown task parameters throw, naming the value") {
  for (const auto& entry : task_registry().entries()) {
    CAPTURE(entry.name);
    for (const auto& p : entry.params) {
      CAPTURE(p.name);
      const double above = p.max + std::max(1.0, std::abs(p.max));
      const double below = p.min - std::max(1.0, std::abs(p.min));
      for (double bad : {above, below, std::numeric_limits<double>::quiet_NaN()}) {
        CAPTURE(bad);
        try {
          task_registry().make(entry.name, {{p.name, bad}});
          FAIL("accepted an out-of-range value");
        } catch (const InvalidValue& e) {
          CHECK(e.key() == p.name);
          CHECK(std::string(e.what()).rfind(p.name + " = ", 0) == 0);
          CHECK(std::string(e.what()).find("must be in [") != std::string::npos);
        }
      }
    }
    CHECK(test::error_message([&] { task_registry().make(entry.name, {{"no_such_parameter", 1}}); })
              .rfind("task " + entry.name + ": unknown parameter 'no_such_parameter'", 0) == 0);
  }
}

}  // TEST_SUITE
