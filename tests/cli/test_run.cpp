// `plast run`, `plast validate`, `plast inspect` as a user runs them: a study killed with
// SIGKILL in the middle resumes to exactly the store of an uninterrupted run; bad input gives
// one line and a non-zero exit; --json ends stdout with one object.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "lib/error.hpp"
#include "lib/store.hpp"
#include "search/study.hpp"
#include "tests/cli/cli_runner.hpp"

using namespace plast;
namespace fs = std::filesystem;

namespace {

using Scratch = test::ScratchDir;

std::string study_yaml(int generations) {
  return "kind: search\nname: killme\nseed: 5\nrule:\n  type: polynomial_hebbian\n  search:\n"
         "    pre*post: {init: 0, lower: -2, upper: 2}\n    post^2*w: {init: 0, lower: -2, upper: 2}\n"
         "task: {type: pca, steps: 1000, samples: 8, held_out: 4}\n"
         "student: {activation: linear}\noptimizer: {type: sgd, lr: 0.02}\ntraining: {epochs: 1, batch: 1}\n"
         "strategy: {type: cma_es, sigma0: 0.5}\nbudget: {generations: " +
         std::to_string(generations) + "}\nstore: unused.sqlite\n";
}

// Committed generations of a store another process may be writing (0 while it cannot be read).
std::size_t generations_in(const std::string& path) {
  try {
    return Store::open(path).generations().size();
  } catch (const Error&) {
    return 0;
  }
}

}  // namespace

TEST_SUITE("cli/run") {
  TEST_CASE("a study killed with SIGKILL mid-run resumes to exactly the uninterrupted result") {
    Scratch s;
    // 300 generations (about 2 s) leave a wide window between the fifth commit and the end, so the
    // kill lands mid-study even when a busy machine delays this process's polling.
    constexpr std::size_t kGenerations = 300;
    const std::string study = s.write("study.yaml", study_yaml(kGenerations));
    const auto whole = test::run_plast({"run", study, "--store", s.path("whole.sqlite"), "--json"});
    REQUIRE(whole.exit_code == 0);

    // Start the same study, let it commit a few generations, and kill it without warning.
    const std::string killed = s.path("killed.sqlite");
    const std::string binary = PLAST_BINARY;
    const pid_t pid = fork();
    if (pid == 0) {
      const int null = open("/dev/null", O_WRONLY);
      dup2(null, 1);
      dup2(null, 2);
      execl(binary.c_str(), binary.c_str(), "run", study.c_str(), "--store", killed.c_str(), "--json",
            static_cast<char*>(nullptr));
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (generations_in(killed) < 5 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    const std::size_t done = generations_in(killed);
    CHECK(WIFSIGNALED(status));
    CHECK(done >= 5);
    CHECK(done < kGenerations);

    const auto resumed = test::run_plast({"run", study, "--store", killed, "--resume", "--json"});
    REQUIRE(resumed.exit_code == 0);
    const auto a = nlohmann::json::parse(whole.out), b = nlohmann::json::parse(resumed.out);   // --json: one object
    CHECK(a["best_params"] == b["best_params"]);
    CHECK(a["best_fitness"] == b["best_fitness"]);
    CHECK(a["evaluations"] == b["evaluations"]);
    CHECK(b["resumed"] == true);

    const Store x = Store::open(s.path("whole.sqlite")), y = Store::open(killed);
    const auto cx = x.candidates(), cy = y.candidates();
    REQUIRE(cx.size() == cy.size());
    for (std::size_t i = 0; i < cx.size(); ++i) {
      CHECK(cx[i].theta == cy[i].theta);
      CHECK(std::memcmp(&cx[i].fitness, &cy[i].fitness, sizeof(double)) == 0);
    }
    CHECK(x.checkpoint()->strategy_state == y.checkpoint()->strategy_state);
  }

  TEST_CASE("run --json and inspect --json end stdout with one object with the promised keys") {
    Scratch s;
    const std::string study = s.write("study.yaml", study_yaml(3));
    const auto run = test::run_plast({"run", study, "--store", s.path("a.sqlite"), "--json", "--threads", "1"});
    REQUIRE(run.exit_code == 0);
    const auto j = nlohmann::json::parse(run.out);   // nothing but the object
    for (const char* key : {"best_fitness", "best_params", "generations", "evaluations", "diverged"}) CHECK(j.contains(key));
    CHECK(j["generations"] == 3);
    CHECK(j["best_params"].contains("pre*post"));
    const auto inspect = test::run_plast({"inspect", s.path("a.sqlite"), "--json"});
    REQUIRE(inspect.exit_code == 0);
    const auto k = nlohmann::json::parse(inspect.out);
    CHECK(k["best_params"] == j["best_params"]);
    CHECK(k["generations"] == 3);
    CHECK(k["evaluations"] == j["evaluations"]);
    for (const char* key : {"formula", "pruned_formula", "nearest_rule", "nearest_distance", "heldout"}) CHECK(k.contains(key));
    CHECK(k["formula"].get<std::string>().find("pre·post") != std::string::npos);
    CHECK(k["nearest_rule"].is_string());
    for (const char* name : {"found", "backprop", "feedback_alignment"}) CHECK(k["heldout"].contains(name));
    // Held-out tasks of another kind, and bad NAME=VALUE pairs.
    const auto other = test::run_plast({"inspect", s.path("a.sqlite"), "--json", "--task-param", "mean_scale=0"});
    REQUIRE(other.exit_code == 0);
    CHECK(nlohmann::json::parse(other.out)["heldout"]["found"] != k["heldout"]["found"]);
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"bogus=1", "--task-param: task pca: unknown parameter 'bogus' (known: inputs, steps, decay, mean_scale)\n"},
        {"inputs=1", "--task-param: inputs = 1: must be in [2, 10000]\n"},
        {"inputs=ten", "--task-param inputs=ten: not a number\n"},
        {"inputs", "--task-param inputs: expected NAME=VALUE\n"}};
    for (const auto& [flag, message] : bad) {
      const auto r = test::run_plast({"inspect", s.path("a.sqlite"), "--task-param", flag});
      CHECK(r.exit_code != 0);
      CHECK(r.err == message);
    }
    const auto validate = test::run_plast({"validate", study});
    CHECK(validate.exit_code == 0);
    CHECK(validate.out.find(": ok") != std::string::npos);
  }

  TEST_CASE("inspect scores every row in another harness and tunes the references' rates on meta-train tasks") {
    Scratch s;
    const std::string study = s.write(
        "fa.yaml",
        "kind: search\nname: fa\nseed: 2\nrule: {type: feedback_alignment, search: {scale: {init: 1, lower: 0, upper: 4}}}\n"
        "task: {type: mlp_teacher, train_size: 64, test_size: 64, samples: 2, held_out: 3}\n"
        "student: {hidden: [8]}\noptimizer: {type: sgd, lr: 0.05}\ntraining: {epochs: 2, batch: 8}\n"
        "strategy: {type: cma_es, sigma0: 0.5, population: 4}\nbudget: {generations: 2}\n");
    REQUIRE(test::run_plast({"run", study, "--store", s.path("fa.sqlite"), "--json"}).exit_code == 0);
    const auto plain = test::run_plast({"inspect", s.path("fa.sqlite"), "--json"});
    REQUIRE(plain.exit_code == 0);
    const auto p = nlohmann::json::parse(plain.out);
    CHECK(p["note"].get<std::string>().find("not a local plasticity rule (feedback_alignment)") == 0);
    for (const char* key : {"heldout_median", "heldout_standard_error", "heldout_diverged", "tuned_lr"}) CHECK(p.contains(key));
    CHECK(p["heldout_diverged"]["found"] == 0);
    CHECK(p["tuned_lr"].empty());
    const auto other = test::run_plast({"inspect", s.path("fa.sqlite"), "--json", "--steps", "5", "--held-out", "4",
                                        "--student-hidden", "16,4", "--references", "backprop/adam,backprop",
                                        "--tune-lr", "0.001,0.1"});
    REQUIRE(other.exit_code == 0);
    const auto o = nlohmann::json::parse(other.out);
    CHECK(o["heldout"]["found"] != p["heldout"]["found"]);
    CHECK(o["heldout"].contains("backprop/adam"));
    CHECK_FALSE(o["heldout"].contains("feedback_alignment"));
    for (const char* name : {"backprop/adam", "backprop"}) {
      const double lr = o["tuned_lr"][name].get<double>();
      CHECK((lr == 0.001 || lr == 0.1));
    }
    // One step of 5 at a tiny rate barely moves the student: the better rate is the larger one.
    CHECK(o["tuned_lr"]["backprop"].get<double>() == 0.1);
    // A rate that blows every student up: each diverged task is counted, none is hidden.
    const auto blown = test::run_plast({"inspect", s.path("fa.sqlite"), "--json", "--references", "backprop", "--tune-lr", "1e6"});
    REQUIRE(blown.exit_code == 0);
    CHECK(nlohmann::json::parse(blown.out)["heldout_diverged"]["backprop"] == 3);
    const std::vector<std::pair<std::string, std::string>> bad = {
        {"backprob", "--references backprob: unknown rule 'backprob' (did you mean 'backprop'?"},
        {"backprop/adagrad", "--references backprop/adagrad: unknown optimizer 'adagrad' (known: sgd, momentum, adam)"}};
    for (const auto& [flag, message] : bad) {
      const auto r = test::run_plast({"inspect", s.path("fa.sqlite"), "--references", flag});
      CHECK(r.exit_code != 0);
      CHECK(r.err.find(message) == 0);
    }
  }

  TEST_CASE("--seed runs the study with another seed, stored with it, in its own store") {
    Scratch s;
    const std::string study = s.write("study.yaml", study_yaml(2));
    const std::string base = s.path("x.sqlite");
    const auto a = test::run_plast({"run", study, "--store", base, "--json", "--threads", "1"});
    REQUIRE(a.exit_code == 0);
    // With --seed and no --store the study's own store gains "-seed9"; here: the study says
    // unused.sqlite, run from the scratch folder.
    const auto b = test::run_plast({"run", study, "--seed", "9", "--store", s.path("y.sqlite"), "--json", "--threads", "1"});
    REQUIRE(b.exit_code == 0);
    const auto ja = nlohmann::json::parse(a.out), jb = nlohmann::json::parse(b.out);
    CHECK(ja["best_params"] != jb["best_params"]);
    CHECK(Store::open(s.path("y.sqlite")).study().seed == 9);
    CHECK(Store::open(s.path("y.sqlite")).study().yaml.find("seed: 9") != std::string::npos);
    // A resume with the same --seed matches the stored study; without it, it does not.
    CHECK(test::run_plast({"run", study, "--seed", "9", "--store", s.path("y.sqlite"), "--resume", "--json"}).exit_code == 0);
    const auto other = test::run_plast({"run", study, "--store", s.path("y.sqlite"), "--resume"});
    CHECK(other.exit_code != 0);
    CHECK(other.err.find("changed since this store was created") != std::string::npos);
    const StudySpec spec = with_seed(load_study(study), 4);
    CHECK(spec.store == "unused-seed4.sqlite");
    CHECK(spec.seed == 4);
  }

  TEST_CASE("bad stores and a changed study file: one line, non-zero exit, the store untouched") {
    Scratch s;
    const std::string study = s.write("study.yaml", study_yaml(2));
    const std::string store = s.path("b.sqlite");
    REQUIRE(test::run_plast({"run", study, "--store", store, "--json"}).exit_code == 0);
    auto one_line = [](const test::CliResult& r) {
      CHECK(r.exit_code != 0);
      CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    };
    // A new run never overwrites an existing store.
    const auto again = test::run_plast({"run", study, "--store", store});
    one_line(again);
    CHECK(again.err.find(store + ": already exists") == 0);
    // Resuming with a changed study file is refused.
    const std::string changed = s.write("changed.yaml", study_yaml(3));
    const auto refused = test::run_plast({"run", changed, "--store", store, "--resume"});
    one_line(refused);
    CHECK(refused.err.find("changed since this store was created") != std::string::npos);
    CHECK(generations_in(store) == 2);
    // Not a store, and a missing store.
    const std::string text = s.write("notes.txt", "just some text\n");
    const auto not_store = test::run_plast({"inspect", text});
    one_line(not_store);
    CHECK(not_store.err.find(text + ": ") == 0);
    const auto missing = test::run_plast({"inspect", s.path("nope.sqlite")});
    one_line(missing);
    // A study with a population of zero, or a missing seed.
    std::string bad = study_yaml(2);
    bad.replace(bad.find("seed: 5\n"), 8, "");
    const auto no_seed = test::run_plast({"validate", s.write("noseed.yaml", bad)});
    one_line(no_seed);
    CHECK(no_seed.err.find("missing required key 'seed'") != std::string::npos);
    std::string zero = study_yaml(2);
    zero.replace(zero.find("sigma0: 0.5"), 11, "sigma0: 0.5, population: 0");
    const auto zero_population = test::run_plast({"validate", s.write("zero.yaml", zero)});
    one_line(zero_population);
    CHECK(zero_population.err.find("strategy.population = 0: must be in [2, 1e+06]") != std::string::npos);
  }
}
