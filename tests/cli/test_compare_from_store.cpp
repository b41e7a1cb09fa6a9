// A rule found by a study, run by `plast compare` and `plast train` from its store
// ({type: teacher_signal, from_store: PATH, theta: best | mean}; search/stored_rule.hpp): a tiny
// teacher search is run, then compared beside backprop on meta-test tasks; a wrong type, a
// student the stored teacher does not fit, and an empty store are one located line each.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/cli/cli_runner.hpp"

using namespace plast;

namespace {

// mlp_teacher 3 → 2 (teacher width 3); the student 3-4-2 tanh: θ = 1 + 6·4 + 6·2 + 2 + 2·4 = 47.
const char* kStudy =
    "kind: search\n"
    "name: tiny-teacher\n"
    "seed: 1\n"
    "rule: {type: teacher_signal, search_teacher: true, hidden: 2, each: {init: 0, lower: -3, upper: 3}}\n"
    "task: {type: mlp_teacher, inputs: 3, outputs: 2, teacher_width: 3, train_size: 64, test_size: 32, "
    "samples: 2, held_out: 2}\n"
    "student: {hidden: [4], activation: tanh}\n"
    "optimizer: {type: sgd, lr: 0.05}\n"
    "training: {epochs: 1, batch: 16}\n"
    "strategy: {type: openai_es, sigma: 0.1, lr: 0.05, population: 4}\n"
    "budget: {generations: 3}\n";

std::string compare_file(const std::string& store, const std::string& rule_extra, const std::string& network) {
  return "tasks: [{type: mlp_teacher, inputs: 3, outputs: 2, teacher_width: 3, train_size: 64, test_size: 32, "
         "split: meta_test}]\n"
         "rules: [backprop, {type: teacher_signal, from_store: " +
         store + rule_extra +
         "}]\n"
         "student: " +
         network +
         "\n"
         "optimizer: {type: sgd, lr: 0.05}\n"
         "training: {epochs: 2, batch: 16}\n"
         "seeds: [1, 2]\n"
         "kind: compare\n";
}

nlohmann::json last_json_line(const std::string& out) {
  std::string line, last;
  std::istringstream in(out);
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return nlohmann::json::parse(last);
}

}  // namespace

TEST_SUITE("cli/compare") {

TEST_CASE("a stored teacher (best and mean θ) runs beside backprop; misfits are located errors") {
  test::ScratchDir s;
  const std::string store = s.path("teacher.sqlite");
  const std::string study = s.write("study.yaml", std::string(kStudy) + "store: " + store + "\n");
  {
    const auto r = test::run_plast({"run", study, "--threads", "1"});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
  }
  for (const char* theta : {"", ", theta: best", ", theta: mean"}) {
    CAPTURE(theta);
    const std::string config = s.write("c.yaml", compare_file(store, theta, "{hidden: [4], activation: tanh}"));
    const auto r = test::run_plast({"compare", config, "--no-plots", "--json", "--quiet", "--threads", "1", "--out",
                                    s.path("out")});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    const auto j = last_json_line(r.out);
    CHECK(j.at("rules") == nlohmann::json({"backprop", "teacher_signal"}));
    REQUIRE(j.at("runs").size() == 4);
    for (const auto& run : j.at("runs")) CHECK(run.at("outcome") == "ok");
  }
  // `plast train` reads the same entry.
  {
    const std::string config = s.write(
        "t.yaml", "task: {type: mlp_teacher, inputs: 3, outputs: 2, teacher_width: 3, train_size: 64, test_size: 32}\n"
                  "rule: {type: teacher_signal, from_store: " + store + ", theta: mean}\n"
                  "student: {hidden: [4], activation: tanh}\ntraining: {epochs: 1, batch: 16}\nkind: train\n");
    const auto r = test::run_plast({"train", config, "--json"});
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
  }
  // Another student: the teacher was made for 3-4-2 tanh.
  {
    const std::string config = s.write("c.yaml", compare_file(store, "", "{hidden: [5], activation: tanh}"));
    const auto r = test::run_plast({"compare", config, "--no-plots"});
    CHECK(r.exit_code == 1);
    CHECK(r.err == config + ":2:19: rules[1]: task mlp_teacher: rule teacher_signal: the teacher is for 3-4-2 tanh, "
                            "the student is 3-5-2 tanh\n");
  }
  // The store holds another rule's search.
  {
    const std::string config = s.write("c.yaml", "tasks: [{type: linear_teacher, train_size: 64, test_size: 32}]\n"
                                                 "rules: [{type: meta_sgd, from_store: " + store + "}]\nkind: compare\n");
    const auto r = test::run_plast({"compare", config, "--no-plots"});
    CHECK(r.exit_code == 1);
    CHECK(r.err == config + ":2:16: rules[0].type = meta_sgd: the study in " + store +
                       " (tiny-teacher) searched rule teacher_signal\n");
  }
}

}  // TEST_SUITE
