// `plast compare` as a user runs it: a tiny grid (2 rules × 2 synthetic tasks × 2 seeds) runs,
// its JSON rows have the right count and fields and agree with the per-run numbers, 1 and 2
// threads give identical rows, the files and plots are written, and a bad file gives one exact
// line. Also `plast train`'s telemetry columns and JSON fields, which share the curve writer.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/output_files.hpp"
#include "tests/cli/cli_runner.hpp"

using namespace plast;
namespace fs = std::filesystem;

namespace {

using Scratch = test::ScratchDir;

// linear_teacher: regression, 8-12-4 linear student; gaussian_clusters: 5-way classification,
// 32-12-5 (the network section applies to both). Targets are easy to reach.
const char* kGrid =
    "kind: compare\n"
    "tasks:\n"
    "  - {type: linear_teacher, inputs: 8, outputs: 4, train_size: 256, test_size: 128, target_loss: 0.1}\n"
    "  - {type: gaussian_clusters, train_size: 256, test_size: 200, target_accuracy: 0.5}\n"
    "rules: [backprop, feedback_alignment]\n"
    "student: {hidden: [12]}\n"
    "optimizer: {type: sgd, lr: 0.2}\n"
    "training: {epochs: 3, batch: 16}\n"
    "seeds: [1, 2]\n";

nlohmann::json last_json_line(const std::string& out) {
  std::string line, last;
  std::istringstream in(out);
  while (std::getline(in, line))
    if (!line.empty()) last = line;
  return nlohmann::json::parse(last);
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The rows without the timing metric (the only one that may differ between runs).
std::vector<nlohmann::json> deterministic_rows(const nlohmann::json& j) {
  std::vector<nlohmann::json> rows;
  for (const auto& r : j.at("rows"))
    if (r.at("metric") != "train_samples_per_s") rows.push_back(r);
  return rows;
}

bool have_gnuplot() { return find_gnuplot().has_value(); }

}  // namespace

TEST_SUITE("cli/compare") {

TEST_CASE("a 2 x 2 x 2 grid: JSON rows, their agreement with the runs, files and plots") {
  Scratch s;
  const std::string config = s.write("grid.yaml", kGrid);
  const std::string out = s.path("out");
  std::vector<std::string> args{"compare", config, "--out", out, "--json", "--threads", "1"};
  if (!have_gnuplot()) args.push_back("--no-plots");
  const auto r = test::run_plast(args);
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err == "");
  const auto j = last_json_line(r.out);

  CHECK(j.at("tasks") == nlohmann::json({"linear_teacher", "gaussian_clusters"}));
  CHECK(j.at("rules") == nlohmann::json({"backprop", "feedback_alignment"}));
  CHECK(j.at("seeds") == nlohmann::json({1, 2}));
  REQUIRE(j.at("runs").size() == 8);

  // Metrics per rule × task: linear_teacher (regression, target_loss): test_loss, min_test_loss,
  // steps_to_target_loss, alignment_deg_h1, train_samples_per_s, diverged = 6, and FA adds
  // feedback_angle_deg_h1 and norm_ratio_h1 = 8; gaussian_clusters (classification,
  // target_accuracy) adds test_accuracy: 7 and 9. 6 + 8 + 7 + 9 = 30 rows.
  const auto& rows = j.at("rows");
  CHECK(rows.size() == 30);
  std::map<std::pair<std::string, std::string>, std::set<std::string>> metrics;
  for (const auto& row : rows) {
    CHECK(row.size() == 6);
    for (const char* key : {"rule", "task", "metric", "mean", "sd", "n"}) CHECK(row.contains(key));
    metrics[{row.at("rule"), row.at("task")}].insert(row.at("metric").get<std::string>());
  }
  const std::set<std::string> bp_linear{"test_loss",        "min_test_loss",       "steps_to_target_loss",
                                        "alignment_deg_h1", "train_samples_per_s", "diverged"};
  CHECK(metrics[{"backprop", "linear_teacher"}] == bp_linear);
  auto fa_linear = bp_linear;
  fa_linear.insert({"feedback_angle_deg_h1", "norm_ratio_h1"});
  CHECK(metrics[{"feedback_alignment", "linear_teacher"}] == fa_linear);
  CHECK(metrics[{"feedback_alignment", "gaussian_clusters"}].count("test_accuracy") == 1);
  CHECK(metrics[{"feedback_alignment", "gaussian_clusters"}].count("steps_to_target_accuracy") == 1);
  CHECK(metrics[{"backprop", "gaussian_clusters"}].count("feedback_angle_deg_h1") == 0);

  // Every row's mean, sd and n from the per-run numbers.
  for (const auto& row : rows) {
    CAPTURE(row.dump());
    std::vector<double> values;
    for (const auto& run : j.at("runs"))
      if (run.at("rule") == row.at("rule") && run.at("task") == row.at("task")) {
        const auto& v = run.at("metrics").at(row.at("metric").get<std::string>());
        if (v.is_number()) values.push_back(v.get<double>());
      }
    REQUIRE(row.at("n") == values.size());
    if (values.empty()) continue;
    double mean = 0.0;
    for (double v : values) mean += v / static_cast<double>(values.size());
    CHECK(row.at("mean").get<double>() == doctest::Approx(mean).epsilon(1e-12));
    if (values.size() < 2) {
      CHECK(row.at("sd").is_null());
      continue;
    }
    double ss = 0.0;
    for (double v : values) ss += (v - mean) * (v - mean);
    CHECK(row.at("sd").get<double>() == doctest::Approx(std::sqrt(ss / (values.size() - 1))).epsilon(1e-9));
  }
  // Both rules learn both tasks, FA's feedback angle is a real angle, nothing diverged.
  for (const auto& run : j.at("runs")) {
    CAPTURE(run.dump());
    CHECK(run.at("outcome") == "ok");
    const auto& m = run.at("metrics");
    CHECK(m.at("diverged") == 0.0);
    if (run.at("task") == "gaussian_clusters") CHECK(m.at("test_accuracy").get<double>() > 0.5);
    if (run.at("rule") == "feedback_alignment") {
      CHECK(m.at("feedback_angle_deg_h1").get<double>() > 0.0);
      CHECK(m.at("feedback_angle_deg_h1").get<double>() < 120.0);
    }
    if (run.at("rule") == "backprop") CHECK(m.at("alignment_deg_h1").get<double>() < 0.01);
  }

  // Files: summary.csv has the rows, runs.csv every run's metrics, curves.csv every evaluation
  // (4 per run: the start and 3 epochs), the mean curves per task, and the PNGs.
  CHECK(lines_of(out + "/summary.csv").size() == 31);
  CHECK(lines_of(out + "/summary.csv").front() == "rule,task,metric,mean,sd,n");
  CHECK(lines_of(out + "/runs.csv").front() == "task,rule,seed,metric,value");
  const auto curves = lines_of(out + "/curves.csv");
  REQUIRE(curves.size() == 1 + 8 * 4);
  CHECK(curves.front() ==
        "task,rule,seed,step,epoch,train_loss,validation_loss,validation_accuracy,test_loss,test_accuracy,alignment_deg_h1,"
        "feedback_angle_deg_h1,norm_ratio_h1,outcome");
  const auto means = lines_of(out + "/mean-curves-gaussian_clusters.csv");
  REQUIRE(means.size() == 1 + 4);
  CHECK(means.front() ==
        "step,epoch,backprop:test_loss,backprop:test_accuracy,backprop:alignment_deg_h1,feedback_alignment:test_loss,"
        "feedback_alignment:test_accuracy,feedback_alignment:alignment_deg_h1,feedback_alignment:feedback_angle_deg_h1");
  CHECK(fs::is_regular_file(out + "/mean-curves-linear_teacher.csv"));
  CHECK(fs::is_regular_file(out + "/compare.json"));
  CHECK(nlohmann::json::parse(std::ifstream(out + "/compare.json")) == j);
  if (have_gnuplot()) {
    for (const char* png : {"curves-linear_teacher.png", "curves-gaussian_clusters.png", "angles-linear_teacher.png",
                            "angles-gaussian_clusters.png"}) {
      CAPTURE(png);
      CHECK(fs::file_size(out + "/" + png) > 1000);
    }
  }
}

TEST_CASE("results do not depend on the number of threads; the table shows mean ± sd") {
  Scratch s;
  const std::string config = s.write("grid.yaml", kGrid);
  const auto one = test::run_plast({"compare", config, "--out", s.path("one"), "--json", "--quiet", "--threads", "1", "--no-plots"});
  const auto two = test::run_plast({"compare", config, "--out", s.path("two"), "--json", "--threads", "2", "--no-plots"});
  REQUIRE(one.exit_code == 0);
  REQUIRE(two.exit_code == 0);
  // --quiet: the JSON object alone.
  CHECK(one.out.find('\n') == one.out.size() - 1);
  const auto a = last_json_line(one.out), b = last_json_line(two.out);
  CHECK(deterministic_rows(a) == deterministic_rows(b));
  CHECK(deterministic_rows(a).size() == 26);   // 30 less one samples/s row per rule × task
  // The table: a block per task, a line per rule, mean ± sd cells.
  CHECK(two.out.find("linear_teacher (8-12-4 linear") != std::string::npos);
  CHECK(two.out.find("gaussian_clusters (32-12-5 relu") != std::string::npos);
  CHECK(two.out.find("steps_to_loss<=0.1") != std::string::npos);
  CHECK(two.out.find("steps_to_acc>=0.5") != std::string::npos);
  CHECK(two.out.find("fb_h1") != std::string::npos);
  CHECK(two.out.find(" ± ") != std::string::npos);
}

TEST_CASE("rules and tasks listed twice get labels from their parameters, or a name") {
  Scratch s;
  const std::string config = s.write("twice.yaml",
                                     "kind: compare\n"
                                     "tasks:\n"
                                     "  - {type: linear_teacher, inputs: 6, train_size: 64, test_size: 32}\n"
                                     "  - {type: linear_teacher, inputs: 9, train_size: 64, test_size: 32}\n"
                                     "rules: [{type: kolen_pollack, decay: 0.1}, {type: kolen_pollack, name: kp-default}]\n"
                                     "student: {hidden: [4]}\n"
                                     "training: {epochs: 1, batch: 16}\n");
  const auto r = test::run_plast({"compare", config, "--out", s.path("out"), "--json", "--quiet", "--no-plots"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  const auto j = last_json_line(r.out);
  CHECK(j.at("tasks") == nlohmann::json({"linear_teacher(inputs=6,test_size=32,train_size=64)",
                                         "linear_teacher(inputs=9,test_size=32,train_size=64)"}));
  CHECK(j.at("rules") == nlohmann::json({"kolen_pollack", "kp-default"}));
  CHECK(j.at("runs").size() == 4);
  CHECK(fs::is_regular_file(s.path("out") + "/mean-curves-linear_teacher_inputs_6_test_size_32_train_size_64_.csv"));
}

TEST_CASE("a rule entry's own optimizer keys override the file's optimizer for that rule only") {
  Scratch s;
  const std::string config = s.write("optimizers.yaml",
                                     "kind: compare\n"
                                     "tasks: [{type: linear_teacher, inputs: 8, outputs: 4, train_size: 256, test_size: 128}]\n"
                                     "rules: [backprop, {type: backprop, optimizer: {lr: 0.2}, name: same},\n"
                                     "        {type: backprop, optimizer: {lr: 0.002}, name: slow}]\n"
                                     "student: {hidden: [12]}\n"
                                     "optimizer: {type: sgd, lr: 0.2}\n"
                                     "training: {epochs: 2, batch: 16}\n");
  const auto r = test::run_plast({"compare", config, "--out", s.path("out"), "--json", "--quiet", "--no-plots"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  std::map<std::string, double> loss;
  const auto j = last_json_line(r.out);
  for (const auto& row : j.at("rows"))
    if (row.at("metric") == "test_loss") loss[row.at("rule").get<std::string>()] = row.at("mean").get<double>();
  REQUIRE(loss.size() == 3);
  CHECK(loss["same"] == loss["backprop"]);    // lr 0.2 written again: the very same run
  CHECK(loss["slow"] > 10.0 * loss["backprop"]);
}

TEST_CASE("a bad compare file: one line, file:line:col: key: what is wrong, nothing trained") {
  Scratch s;
  auto expect = [&](const std::string& yaml, const std::string& message) {
    const std::string path = s.write("bad.yaml", yaml + "kind: compare\n");
    const auto r = test::run_plast({"compare", path, "--out", s.path("out"), "--no-plots"});
    CAPTURE(yaml);
    CHECK(r.exit_code == 1);
    CHECK(r.out == "");
    CHECK(r.err == path + ":" + message + "\n");
    CHECK_FALSE(fs::exists(s.path("out")));
  };
  expect("rules: [backprop]\n", "1:1: missing required key 'tasks'");
  expect("tasks: []\n", "1:8: tasks: must name at least one task");
  expect("tasks:\n  - {type: linear_teacher, trian_size: 10}\n",
         "2:28: tasks[0].trian_size: unknown key (did you mean 'train_size'?)");
  expect("tasks:\n  - {type: linear_teacher, target_accuracy: 0.9}\n",
         "2:45: tasks[0].target_accuracy = 0.9: task linear_teacher is not a classification task (use target_loss)");
  expect("tasks:\n  - {type: gaussian_clusters, target_accuracy: 1.5}\n",
         "2:48: tasks[0].target_accuracy = 1.5: must be in [0, 1]");
  expect("tasks: [linear_teacher]\nrules: [backprop, backprop]\n",
         "2:19: rules[1] = backprop: repeats rules[0] (backprop): give one of them a distinct 'name:'");
  expect("tasks: [linear_teacher]\ntask: linear_teacher\n", "1:8: tasks: give either 'task' or 'tasks', not both");
  expect("tasks: [linear_teacher]\ntraining: {epochs: 0}\n", "2:20: training.epochs = 0: must be >= 1");
  expect("tasks: [linear_teacher]\ntraining: {evaluate_start: 2}\n", "2:28: training.evaluate_start = 2: must be true or false");
  // Without gnuplot (and without --no-plots) it says so before training anything.
  const std::string good = s.write("good.yaml", kGrid);
  const auto r = test::run_plast({"compare", good, "--out", s.path("out")}, test::CliEnv{{{"PATH", "/nonexistent"}}, {}});
  CHECK(r.exit_code == 1);
  CHECK(r.out == "");
  CHECK(r.err == "plast compare: gnuplot not found (install gnuplot-nox: scripts/install-deps, or pass --no-plots)\n");
  CHECK_FALSE(fs::exists(s.path("out")));
}

}  // TEST_SUITE

TEST_SUITE("cli/compare") {

TEST_CASE("plast train: telemetry columns in the CSV and the JSON summary, per rule that has them") {
  Scratch s;
  const std::string csv = s.path("curves.csv");
  const auto r = test::run_plast({"train", "--task", "linear_teacher", "--task-param", "train_size=256", "--task-param",
                                  "test_size=64", "--rule", "backprop,feedback_alignment,node_perturbation", "--hidden",
                                  "6,5", "--epochs", "1", "--batch", "32", "--csv", csv, "--json"});
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("fb_h1") != std::string::npos);
  CHECK(r.out.find("snr_out") != std::string::npos);
  const auto j = last_json_line(r.out);
  REQUIRE(j.at("results").size() == 3);
  const auto& bp = j.at("results")[0];
  const auto& fa = j.at("results")[1];
  const auto& np = j.at("results")[2];
  CHECK_FALSE(bp.contains("feedback_angle_deg"));
  CHECK_FALSE(bp.contains("snr"));
  REQUIRE(fa.at("feedback_angle_deg").size() == 2);
  REQUIRE(fa.at("norm_ratio").size() == 2);
  CHECK(fa.at("runs")[0].at("feedback_angle_deg").size() == 2);
  CHECK_FALSE(fa.contains("snr"));
  REQUIRE(np.at("snr").size() == 3);   // h1, h2, out
  for (const auto& v : np.at("snr")) CHECK(v.get<double>() > 0.0);
  const auto lines = lines_of(csv);
  REQUIRE(lines.size() == 1 + 3 * 2);   // start and end of the one epoch, per rule
  CHECK(lines.front() ==
        "task,rule,seed,step,epoch,train_loss,validation_loss,validation_accuracy,test_loss,test_accuracy,alignment_deg_h1,"
        "alignment_deg_h2,feedback_angle_deg_h1,feedback_angle_deg_h2,norm_ratio_h1,norm_ratio_h2,snr_h1,snr_h2,snr_out,"
        "outcome");
  // backprop leaves the feedback and SNR fields empty.
  CHECK(lines[1].find("linear_teacher,backprop,1,0,0,") == 0);
  CHECK(lines[1].find(",,,,,,,,ok") != std::string::npos);
}

}  // TEST_SUITE

TEST_CASE("one seed and several student sizes: the accuracy-vs-parameters plot is drawn without error bars") {
  // With one seed there is no sd; gnuplot used to drop every point and the compare failed.
  if (!have_gnuplot()) return;
  Scratch s;
  const std::string config = s.write("sizes.yaml",
                                     "kind: compare\n"
                                     "tasks: [gaussian_clusters]\n"
                                     "rule: backprop\n"
                                     "students: [{hidden: [4], activation: relu}, {hidden: [8], activation: relu}]\n"
                                     "training: {epochs: 1, batch: 10}\n"
                                     "seeds: [1]\n");
  const std::string out = s.path("out");
  const auto r = test::run_plast({"compare", config, "--out", out, "--threads", "1"});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  CHECK(fs::file_size(out + "/accuracy-vs-params.png") > 1000);
}
