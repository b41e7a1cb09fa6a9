// What a user sees when the input is wrong (DESIGN.md, "Contracts: Errors"): the plast
// binary exits non-zero with exactly one line on stderr that names the problem (and, for
// YAML, where it is: FILE:LINE:COL), prints nothing on stdout, and never crashes or hangs.
// Every case fails before any training starts; tasks are linear_teacher (no data files).
#include <doctest/doctest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli_runner.hpp"

using plast::test::CliEnv;
using plast::test::CliResult;
using plast::test::run_plast;

namespace {

std::string yaml_file(const std::string& name) { return std::string(PLAST_TEST_DATA) + "/yaml/" + name; }

std::string joined(const std::vector<std::string>& args) {
  std::string s = "plast";
  for (const auto& a : args) s += " " + a;
  return s;
}

// Non-zero, not a crash (signal) and not "internal error" (3); one line on stderr, nothing
// on stdout. Returns the line without its '\n'.
std::string one_error_line(const std::vector<std::string>& args, const CliResult& r) {
  INFO(joined(args));
  INFO("stderr: " << r.err);
  REQUIRE_FALSE(r.timed_out);
  CHECK(r.exit_code != 0);
  CHECK(r.exit_code > 0);
  CHECK(r.exit_code < 128);  // no signal
  CHECK(r.exit_code != 3);   // no "internal error"
  CHECK(r.out == "");
  REQUIRE(!r.err.empty());
  CHECK(r.err.back() == '\n');
  const std::string line = r.err.substr(0, r.err.size() - 1);
  CHECK(line.find('\n') == std::string::npos);  // exactly one line
  CHECK(!line.empty());
  return line;
}

// A plast::Error: exit code 1 and the exact line.
void expect_error(const std::vector<std::string>& args, const std::string& expected, const CliEnv& env = {}) {
  const CliResult r = run_plast(args, env);
  INFO(joined(args));
  CHECK(r.exit_code == 1);
  CHECK(one_error_line(args, r) == expected);
}

// A plast::Error whose line ends in a list that grows as components are registered
// ("... (known: a, b, c)"): the exact line up to the list, then each of `names` in it.
void expect_error_listing(const std::vector<std::string>& args, const std::string& before_list,
                          const std::vector<std::string>& names, const CliEnv& env = {}) {
  const CliResult r = run_plast(args, env);
  INFO(joined(args));
  CHECK(r.exit_code == 1);
  const std::string line = one_error_line(args, r);
  CHECK(line.starts_with(before_list));
  CHECK(line.ends_with(")"));
  const std::string list = ", " + line.substr(std::min(before_list.size(), line.size()));
  for (const auto& n : names) {
    const bool listed = list.find(", " + n + ",") != std::string::npos || list.find(", " + n + ")") != std::string::npos;
    CHECK_MESSAGE(listed, n << " listed in: " << line);
  }
}

// A command-line usage error from CLI11: its own wording, one line, pointing to --help.
void expect_usage_error(const std::vector<std::string>& args, const std::string& expected) {
  const std::string line = one_error_line(args, run_plast(args));
  INFO(joined(args));
  CHECK(line == expected);
  CHECK(line.ends_with("(see plast --help)"));
}

// The text in `file` at 1-based (line, column): the test checks that a reported location
// points at what it names.
std::string text_at(const std::string& file, int line, int column) {
  std::ifstream in(file);
  std::string text;
  for (int i = 0; i < line && std::getline(in, text); ++i) {
  }
  return column - 1 <= static_cast<int>(text.size()) ? text.substr(static_cast<std::size_t>(column - 1)) : "";
}

// A YAML case: "<path>:<line>:<col>: <rest>", exactly, with the location pointing at `token`.
// With `names`, `rest` is the line up to a growing list of known names, each of which must
// be in it.
void expect_yaml_error(const std::string& name, int line, int column, const std::string& token,
                       const std::string& rest, const std::vector<std::string>& names = {}) {
  const std::string path = yaml_file(name);
  INFO(path);
  const std::string expected = path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + rest;
  CHECK(text_at(path, line, column).starts_with(token));
  // Flags (that are valid) do not hide a broken file.
  for (const auto& args : {std::vector<std::string>{"train", path},
                           std::vector<std::string>{"train", path, "--task", "linear_teacher", "--epochs", "1"}}) {
    if (names.empty()) expect_error(args, expected);
    else expect_error_listing(args, expected, names);
  }
}

const std::vector<std::string> kRules{"backprop", "feedback_alignment", "direct_feedback_alignment"};
const std::vector<std::string> kTasks{"fashion_mnist", "mnist", "linear_teacher", "mlp_teacher"};

}  // namespace

TEST_SUITE("cli/errors") {

TEST_CASE("the runner itself: a good command succeeds with exit code 0") {
  const CliResult r = run_plast({"list", "rules"});
  CHECK(r.exit_code == 0);
  CHECK(r.err == "");
  CHECK(r.out.find("feedback_alignment") != std::string::npos);
}

TEST_CASE("unknown rule and task names list the known ones and suggest the nearest") {
  expect_error_listing({"train", "--task", "linear_teacher", "--rule", "nosuchrule"},
                       "unknown rule 'nosuchrule' (known: ", kRules);
  expect_error_listing({"train", "--task", "linear_teacher", "--rule", "backprob"},
                       "unknown rule 'backprob' (did you mean 'backprop'? known: ", kRules);
  expect_error_listing({"train", "--task", "linear_teacher", "--rule", "backprop,fedback_alignment"},
                       "unknown rule 'fedback_alignment' (did you mean 'feedback_alignment'? known: ", kRules);
  expect_error_listing({"train", "--task", "nosuchtask"}, "unknown task 'nosuchtask' (known: ", kTasks);
  expect_error_listing({"train", "--task", "linear_teachr"},
                       "unknown task 'linear_teachr' (did you mean 'linear_teacher'? known: ", kTasks);
}

TEST_CASE("out-of-range flag values name the flag") {
  const std::vector<std::string> lt{"train", "--task", "linear_teacher"};
  auto with = [&](std::vector<std::string> more) {
    auto args = lt;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  expect_error(with({"--lr", "-1"}), "--lr = -1: must be > 0");
  expect_error(with({"--lr", "0"}), "--lr = 0: must be > 0");
  expect_error(with({"--epochs", "0"}), "--epochs = 0: must be >= 1");
  expect_error(with({"--batch", "0"}), "--batch = 0: must be >= 1");
  expect_error(with({"--seeds", "0"}), "--seeds = 0: must be >= 1");
  expect_error(with({"--seed", "-1"}), "--seed = -1: must be >= 0");
  expect_error(with({"--momentum", "1"}), "--momentum = 1: must be in [0, 1)");
  expect_error(with({"--weight-decay", "-1"}), "--weight-decay = -1: must be >= 0");
  expect_error(with({"--max-steps", "-1"}), "--max-steps = -1: must be >= 0");
  expect_error(with({"--threads", "0"}), "--threads = 0: must be >= 1");
  expect_error(with({"--hidden", "256,0"}), "--hidden = 0: layer widths must be >= 1");
}

TEST_CASE("malformed flag values say what is wrong with them") {
  const std::vector<std::string> lt{"train", "--task", "linear_teacher"};
  auto with = [&](std::vector<std::string> more) {
    auto args = lt;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  expect_error(with({"--hidden", "256,abc"}), "--hidden 256,abc: 'abc' is not an integer");
  expect_error_listing(with({"--act", "softplus"}), "unknown activation 'softplus' (known: ",
                       {"tanh", "relu", "sigmoid", "linear"});
  expect_error_listing(with({"--optimizer", "rmsprop"}), "--optimizer = rmsprop: unknown optimizer (known: ",
                       {"sgd", "momentum", "adam"});
  expect_error(with({"--rule-param", "scale"}), "--rule-param scale: expected NAME=VALUE");
  expect_error(with({"--rule-param", "scale=abc"}), "--rule-param scale=abc: value 'abc' is not a number");
  expect_usage_error(with({"--epochs", "abc"}), "plast: Could not convert: --epochs = abc (see plast --help)");
}

TEST_CASE("rule and task parameters are checked against their declared bounds and names") {
  const std::vector<std::string> fa{"train", "--task", "linear_teacher", "--rule", "feedback_alignment"};
  auto with = [&](std::vector<std::string> more) {
    auto args = fa;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  expect_error(with({"--rule-param", "scale=-1"}), "rule feedback_alignment: scale = -1: must be in [0, 100]");
  expect_error(with({"--rule-param", "nosuch=1"}), "rule feedback_alignment: unknown parameter 'nosuch' (known: scale)");
  expect_error(with({"--rule-param", "scael=1"}), "rule feedback_alignment: unknown parameter 'scael' (did you mean 'scale'?)");
  expect_error(with({"--task-param", "train_size=0"}), "task linear_teacher: train_size = 0: must be in [1, 1e+08]");
  expect_error(with({"--task-param", "inputs=1.5"}), "task linear_teacher: inputs = 1.5: must be an integer");
}

TEST_CASE("command-line syntax errors: one line from CLI11, pointing to --help") {
  // The unknown flag is named (its value 0.1 becomes the config positional and is not the problem).
  expect_usage_error({"train", "--task", "linear_teacher", "--lerning-rate", "0.1"},
                     "plast: The following argument was not expected: --lerning-rate (see plast --help)");
  expect_usage_error({"train", "--task", "linear_teacher", "--lerning-rate=0.1"},
                     "plast: The following argument was not expected: --lerning-rate=0.1 (see plast --help)");
  expect_usage_error({"list", "nonsense"}, "plast: kind: nonsense not in {rules,tasks,strategies} (see plast --help)");
  expect_usage_error({"list"}, "plast: kind is required (see plast --help)");
  expect_usage_error({}, "plast: a subcommand (train, compare, run, validate, inspect, plot, list, bench, ensemble) is required (see plast --help)");
  expect_usage_error({"trian"}, "plast: The following argument was not expected: trian (see plast --help)");
}

TEST_CASE("a config file that cannot be read says so") {
  expect_error({"train", "/nonexistent/plast.yaml"}, "/nonexistent/plast.yaml: cannot open file");
  const std::string dir = std::string(PLAST_TEST_DATA) + "/yaml";
  expect_error({"train", dir}, dir + ": cannot open file (it is a directory)");
}

TEST_CASE("missing data names the file and scripts/get-data") {
  CliEnv env;
  env.set = {{"PLAST_DATA", "/nonexistent"}};
  expect_error({"train", "--task", "fashion_mnist", "--epochs", "1"},
               "/nonexistent/fashion-mnist/train-images-idx3-ubyte.gz: file not found (run scripts/get-data, or set "
               "PLAST_DATA to the data folder)",
               env);
}

TEST_CASE("YAML: syntax errors and unknown keys at their place in the file") {
  expect_yaml_error("syntax_error.yaml", 4, 9, ":", "YAML syntax error: end of map flow not found");
  expect_yaml_error("unknown_top_key.yaml", 3, 1, "optimiser", "optimiser: unknown key (did you mean 'optimizer'?)");
  expect_yaml_error("unknown_optimizer_key.yaml", 5, 3, "lerning_rate", "optimizer.lerning_rate: unknown key (known: ",
                    {"type", "lr", "momentum", "beta1", "beta2", "epsilon", "weight_decay"});
  expect_yaml_error("scalar_section.yaml", 3, 12, "5", "optimizer = 5: must be a map");
}

TEST_CASE("YAML: values out of range at the value's place") {
  expect_yaml_error("negative_lr.yaml", 3, 17, "-1", "optimizer.lr = -1: must be > 0");
  expect_yaml_error("zero_epochs.yaml", 5, 11, "0", "training.epochs = 0: must be >= 1");
  expect_yaml_error("zero_width.yaml", 4, 17, "0", "student.hidden[1] = 0: must be >= 1");
  expect_yaml_error("bad_activation.yaml", 5, 15, "softplus", "student.activation = softplus: unknown activation (known: ",
                    {"tanh", "relu", "sigmoid", "linear"});
}

TEST_CASE("YAML: a family's own checks between parameters are located at the value") {
  const std::string train = yaml_file("task_cross_check.yaml");
  CHECK(text_at(train, 3, 44).starts_with("300"));
  expect_error({"train", train},
               train + ":3:44: task.directions = 300: must be <= 262, the number of teacher parameters (10-20-2 tanh)");
  const std::string compare = yaml_file("compare_task_cross_check.yaml");
  CHECK(text_at(compare, 2, 41).starts_with("0.05"));
  expect_error({"compare", compare, "--no-plots"},
               compare + ":2:41: tasks[0].amplitude_max = 0.05: must be >= amplitude_min (0.1)");
  const std::string study = yaml_file("study_task_cross_check.yaml");
  CHECK(text_at(study, 11, 15).starts_with("300"));
  expect_error({"run", study, "--store", "/nonexistent-dir/never-written.sqlite"},
               study + ":11:15: task.directions = 300: must be <= 262, the number of teacher parameters (10-20-2 tanh)");
  // A value given by a flag is the flag's: no place in the file.
  expect_error({"train", train, "--task-param", "directions=400"},
               "directions = 400: must be <= 262, the number of teacher parameters (10-20-2 tanh)");
}

TEST_CASE("YAML: image jitter is a whole, non-negative number of pixels, on image tasks only") {
  expect_yaml_error("task_jitter_negative.yaml", 2, 37, "-1", "task.jitter = -1: must be in [0, 8]");
  expect_yaml_error("task_jitter_fraction.yaml", 2, 37, "1.5", "task.jitter = 1.5: must be an integer");
  expect_yaml_error("task_jitter_not_image.yaml", 2, 38, "2",
                    "task.jitter = 2: task linear_teacher has no images to jitter (jitter is a parameter of "
                    "fashion_mnist, mnist, cifar10, cifar100)");
  const std::string compare = yaml_file("compare_jitter_not_image.yaml");
  CHECK(text_at(compare, 2, 63).starts_with("1}]"));
  expect_error({"compare", compare, "--no-plots"},
               compare + ":2:63: tasks[1].jitter = 1: task mlp_teacher has no images to jitter (jitter is a parameter "
                         "of fashion_mnist, mnist, cifar10, cifar100)");
}

TEST_CASE("YAML: dropout is a probability in [0, 1), for backprop only") {
  expect_yaml_error("network_dropout_range.yaml", 3, 52, "1}", "student.dropout = 1: must be in [0, 1)");
  expect_error({"train", yaml_file("dropout_rule.yaml")},
               "dropout = 0.5: needs rule backprop (rule feedback_alignment does not apply the dropout mask)");
}

TEST_CASE("YAML: rules by unknown name or with out-of-range parameters") {
  expect_yaml_error("unknown_rule.yaml", 3, 14, "fedback_alignment",
                    "rule.type = fedback_alignment: unknown rule (did you mean 'feedback_alignment'? known: ", kRules);
  expect_yaml_error("rule_param_range.yaml", 3, 41, "-2", "rule.scale = -2: must be in [0, 100]");
  expect_yaml_error("rule_optimizer_lr.yaml", 3, 63, "-1", "rules[1].optimizer.lr = -1: must be > 0");
  expect_yaml_error("rule_optimizer_key.yaml", 3, 59, "lerning_rate", "rules[1].optimizer.lerning_rate: unknown key (known: ",
                    {"type", "lr", "momentum", "weight_decay", "schedule"});
}

TEST_CASE("YAML: a compare file's stored rules and task splits, at the value's place") {
  // {type, from_store: PATH, theta: best | mean} (search/stored_rule.hpp); split: meta_train | meta_test.
  auto expect_compare_error = [](const std::string& name, int line, int column, const std::string& token,
                                 const std::string& rest) {
    const std::string path = yaml_file(name);
    CHECK(text_at(path, line, column).starts_with(token));
    expect_error({"compare", path, "--no-plots"},
                 path + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + rest);
  };
  expect_compare_error("compare_from_store_missing.yaml", 3, 54, "/nonexistent-dir",
                       "rules[1].from_store = /nonexistent-dir/teacher.sqlite: /nonexistent-dir/teacher.sqlite: no such "
                       "store");
  expect_compare_error("compare_from_store_theta.yaml", 3, 75, "worst", "rules[1].theta = worst: must be best or mean");
  expect_compare_error("compare_from_store_params.yaml", 3, 76, "4",
                       "rules[1].hidden = 4: the rule's parameters are the stored study's (from_store)");
  expect_compare_error("compare_bad_split.yaml", 2, 67, "test", "tasks[0].split = test: must be meta_train or meta_test");
}

TEST_CASE("plast ensemble: merges saved networks, prints their accuracies, refuses what cannot be averaged") {
  // Two tiny classifiers saved by `plast train --save-weights` (absolute paths: every run_plast call
  // has its own scratch folder), and one of another shape.
  const auto dir = std::filesystem::temp_directory_path() / ("plast-ensemble-test-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  auto save = [&](const std::string& name, const std::string& hidden, const std::string& seed) {
    const std::string path = (dir / name).string();
    const CliResult r = run_plast({"train", "--task", "gaussian_clusters", "--hidden", hidden, "--act", "relu", "--epochs",
                                   "1", "--seed", seed, "--threads", "1", "--save-weights", path});
    REQUIRE(r.exit_code == 0);
    return path;
  };
  const std::string a = save("a.weights", "8", "1"), b = save("b.weights", "5", "2"), deep = save("deep.weights", "4,4", "3");
  const std::string merged = (dir / "ens.weights").string();
  const CliResult ok = run_plast({"ensemble", a, b, "--out", merged, "--task", "gaussian_clusters", "--seed", "1"});
  CHECK(ok.exit_code == 0);
  CHECK(ok.out.find("plast ensemble: 2 members, ") == 0);
  CHECK(ok.out.find("the merged 32-13-5 relu network") != std::string::npos);
  CHECK(ok.out.find("  ensemble  ") != std::string::npos);
  CHECK(std::filesystem::exists(merged));
  expect_error({"ensemble", a, deep, "--out", merged}, "ensemble: member 2 is 32-4-4-5 relu: member 1 is 32-8-5 relu");
  expect_error({"ensemble", a, b, "--out", merged, "--task", "linear_teacher"},
               "plast ensemble: --task linear_teacher is not a classification task");
  expect_error({"ensemble", a, b, "--out", merged, "--task", "fashion_mnist"},
               "plast ensemble: the members are 32-8-5 relu: task fashion_mnist has 784 inputs and 10 outputs",
               CliEnv{{{"PLAST_DATA", PLAST_SOURCE_DIR "/data"}}, {}});
  // A refused --task writes nothing.
  std::filesystem::remove(merged);
  expect_error({"ensemble", a, b, "--out", merged, "--task", "linear_teacher"},
               "plast ensemble: --task linear_teacher is not a classification task");
  CHECK(!std::filesystem::exists(merged));
  const std::string missing = (dir / "missing.weights").string();
  expect_error({"ensemble", a, missing, "--out", merged},
               missing + ": file not found (write it with `plast train ... --save-weights " + missing + "`)");
  std::filesystem::remove_all(dir);
}

}  // TEST_SUITE
