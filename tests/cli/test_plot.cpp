// `plast plot` as a user runs it, on the store of a tiny real study: the CSV files have a
// header and one row per generation / candidate with the parameters named as in the study,
// the PNGs are PNGs, --json lists the files, and a missing store or a missing gnuplot gives
// one line and a non-zero exit.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/cli_runner.hpp"

using namespace plast;
namespace fs = std::filesystem;

namespace {

using Scratch = test::ScratchDir;

constexpr int kGenerations = 3;

// A study of 3 generations that takes well under a second; returns its store.
std::string tiny_store(const Scratch& s) {
  std::ofstream(s.path("study.yaml"))
      << "kind: search\nname: tiny\nseed: 5\nrule:\n  type: polynomial_hebbian\n  search:\n"
         "    pre*post: {init: 0, lower: -2, upper: 2}\n    post^2*w: {init: 0, lower: -2, upper: 2}\n"
         "task: {type: pca, steps: 1000, samples: 8, held_out: 4}\n"
         "student: {activation: linear}\noptimizer: {type: sgd, lr: 0.02}\ntraining: {epochs: 1, batch: 1}\n"
         "strategy: {type: cma_es, sigma0: 0.5}\nbudget: {generations: "
      << kGenerations << "}\nstore: unused.sqlite\n";
  const std::string store = s.path("tiny.sqlite");
  const auto run = test::run_plast({"run", s.path("study.yaml"), "--store", store, "--json"});
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  return store;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::vector<std::string> fields_of(const std::string& line) {
  std::vector<std::string> fields;
  std::stringstream s(line);
  for (std::string f; std::getline(s, f, ',');) fields.push_back(f);
  return fields;
}

}  // namespace

TEST_SUITE("cli/plot") {
  TEST_CASE("plot writes the CSV files and PNG plots of a study, and lists them with --json") {
    Scratch s;
    const std::string store = tiny_store(s);
    const std::string out = s.path("plots");
    const auto r = test::run_plast({"plot", store, "--out", out, "--json"});
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(r.err.empty());

    const auto json = nlohmann::json::parse(r.out);
    CHECK(json["study"] == "tiny");
    std::vector<std::string> names;
    for (const auto& file : json["files"]) {
      const fs::path path = file.get<std::string>();
      CHECK_MESSAGE(fs::is_regular_file(path), path);
      CHECK(path.parent_path() == fs::path(out));
      names.push_back(path.filename().string());
    }
    for (const char* name : {"history.csv", "candidates.csv", "best.csv", "fitness.png", "coefficients.png"})
      CHECK_MESSAGE(std::find(names.begin(), names.end(), name) != names.end(), name);

    for (const char* png : {"fitness.png", "coefficients.png"}) {
      const std::string bytes = test::read_whole_file(fs::path(out) / png);
      CHECK_MESSAGE(bytes.rfind("\x89PNG\r\n\x1a\n", 0) == 0, png);
    }

    const auto history = lines_of(out + "/history.csv");
    REQUIRE(history.size() == 1 + kGenerations);
    CHECK(history[0] == "generation,best,mean,median,step_size,evaluations,diverged,wall_seconds");
    for (int g = 0; g < kGenerations; ++g) CHECK(fields_of(history[1 + g]).at(0) == std::to_string(g));

    // One row per candidate: the evaluations of every generation, as history.csv counts them.
    std::size_t evaluations = 0;
    for (int g = 0; g < kGenerations; ++g) evaluations += std::stoul(fields_of(history[1 + g]).at(5));
    const auto candidates = lines_of(out + "/candidates.csv");
    CHECK(candidates.at(0) == "generation,member,status,fitness,pre*post,post^2*w");
    CHECK(candidates.size() == 1 + evaluations);
    for (std::size_t i = 1; i < candidates.size(); ++i) CHECK(fields_of(candidates[i]).size() == 6);

    const auto best = lines_of(out + "/best.csv");
    CHECK(best.at(0) == "generation,member,fitness,pre*post,post^2*w");
    CHECK(best.size() == 1 + kGenerations);
  }

  TEST_CASE("--csv writes only the CSV files; without gnuplot the CSV files are written and it says so") {
    Scratch s;
    const std::string store = tiny_store(s);
    const auto csv = test::run_plast({"plot", store, "--out", s.path("csv"), "--csv", "--json"});
    REQUIRE_MESSAGE(csv.exit_code == 0, csv.err);
    CHECK(nlohmann::json::parse(csv.out)["files"].size() == 3);
    CHECK_FALSE(fs::exists(s.path("csv") + "/fitness.png"));

    const std::string out = s.path("no-gnuplot");
    const auto r = test::run_plast({"plot", store, "--out", out}, {.set = {{"PATH", "/nonexistent"}}, .unset = {}});
    CHECK(r.exit_code == 1);
    CHECK(r.err == "plast plot: gnuplot not found (install gnuplot-nox: scripts/install-deps), CSV files written to " +
                       out + "\n");
    CHECK(fs::is_regular_file(out + "/history.csv"));
    CHECK(fs::is_regular_file(out + "/candidates.csv"));
  }

  TEST_CASE("plot of a missing store: one line, non-zero exit") {
    const auto r = test::run_plast({"plot", "/nonexistent/x.sqlite"});
    CHECK(r.exit_code != 0);
    CHECK(r.err == "/nonexistent/x.sqlite: no such store\n");
    CHECK(r.out.empty());
  }
}
