// Every study file that ships in studies/ is in the one study language: `plast validate`
// accepts it (a file that drifts from the language fails CI), each command runs only files of
// its kind, and the same seed gives the same student under train, compare and a search.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "lib/harness.hpp"
#include "search/evaluator.hpp"
#include "rules/registry.hpp"
#include "rules/rule_space.hpp"
#include "tasks/registry.hpp"
#include "tests/cli/cli_runner.hpp"

using namespace plast;
namespace fs = std::filesystem;

namespace {
// The child runs in a scratch folder: the data folder is named absolutely.
test::CliEnv data_env() {
  const char* set = std::getenv("PLAST_DATA");
  return {{{"PLAST_DATA", set ? std::string(set) : std::string(PLAST_SOURCE_DIR) + "/data"}}, {}};
}
}  // namespace

TEST_SUITE("cli/studies") {
  TEST_CASE("plast validate accepts every file in studies/") {
    std::vector<std::string> files;
    for (const auto& e : fs::directory_iterator(std::string(PLAST_SOURCE_DIR) + "/studies"))
      if (e.path().extension() == ".yaml") files.push_back(e.path().string());
    REQUIRE(files.size() > 40);
    for (const auto& f : files) {
      CAPTURE(f);
      const auto r = test::run_plast({"validate", f}, data_env());
      CHECK_MESSAGE(r.exit_code == 0, r.err);
      CHECK(r.out.find(": ok — ") != std::string::npos);
    }
  }

  TEST_CASE("each command runs files of its kind; another kind is one located line") {
    const std::string dir = std::string(PLAST_SOURCE_DIR) + "/studies/";
    auto err = [](const std::vector<std::string>& args) { return test::run_plast(args).err; };
    CHECK(err({"train", dir + "oja.yaml"}) ==
          dir + "oja.yaml:7:7: kind = search: plast train runs files of kind train (run this one with plast run)\n");
    CHECK(err({"run", dir + "fashion-zoo.yaml"}).find(
              "kind = compare: plast run runs files of kind search (run this one with plast compare)\n") !=
          std::string::npos);
    CHECK(err({"compare", dir + "linear-teacher.yaml", "--no-plots"}).find(
              "kind = train: plast compare runs files of kind compare (run this one with plast train)\n") !=
          std::string::npos);
  }

  TEST_CASE("the same seed gives the same student under train, compare and a search's first task") {
    const test::ScratchDir s;
    const std::string task = "{type: mlp_teacher, inputs: 4, outputs: 2, teacher_width: 3, train_size: 64, test_size: 32}";
    const std::string common = "rule: backprop\nstudent: {hidden: [5]}\noptimizer: {type: sgd, lr: 0.05}\n"
                               "training: {epochs: 2, batch: 8}\nseed: 7\n";
    const auto train = test::run_plast({"train", s.write("t.yaml", "kind: train\ntask: " + task + "\n" + common),
                                        "--json", "--quiet", "--csv", s.path("c.csv")});
    REQUIRE_MESSAGE(train.exit_code == 0, train.err);
    const auto compare = test::run_plast({"compare", s.write("c.yaml", "kind: compare\ntasks: [" + task + "]\n" + common),
                                          "--json", "--quiet", "--no-plots", "--out", s.path("out")});
    REQUIRE_MESSAGE(compare.exit_code == 0, compare.err);
    const double train_loss = nlohmann::json::parse(train.out)["test_loss"];
    double compare_loss = -1;
    const auto rows = nlohmann::json::parse(compare.out)["rows"];
    for (const auto& row : rows)
      if (row["metric"] == "test_loss") compare_loss = row["mean"];
    CHECK(train_loss == compare_loss);
    // The search evaluator's task 0 of generation 0 (meta-train tasks of a synthetic family are
    // scored on their own test set: no validation split) with the same rule is the same run.
    EvaluationSpec ev;
    ev.space = std::make_shared<FixedRuleSpace>(rule_registry().make("backprop"), "backprop");
    ev.tasks = task_registry().make("mlp_teacher", {{"inputs", 4}, {"outputs", 2}, {"teacher_width", 3},
                                                    {"train_size", 64}, {"test_size", 32}});
    ev.tasks_per_generation = 1;
    ev.student = {.spec = {.hidden = {5}}, .hidden_given = true};
    ev.optimizer = OptimizerSpec{.type = "sgd", .lr = 0.05};
    ev.budget.epochs = 2;
    ev.budget.batch = 8;
    const auto scored = Evaluator(ev).evaluate(Eigen::MatrixXd(1, 0), 7, 0, Split::meta_train);
    CHECK(scored[0].task_losses[0] == train_loss);
  }
}
