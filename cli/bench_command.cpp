#include "cli/bench_command.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "lib/error.hpp"
#include "lib/roofline.hpp"
#include "rules/registry.hpp"

namespace plast {
namespace {

struct BenchFlags {
  std::string hidden = "256,256";
  int batch = 64;
  double seconds = 2.0;
  std::string rules = "backprop,feedback_alignment,direct_feedback_alignment";
  bool json = false;
};

void run_bench(const BenchFlags& f) {
  if (f.batch < 1) throw InvalidValue("--batch", f.batch, "must be >= 1");
  if (!(f.seconds > 0.0)) throw InvalidValue("--seconds", f.seconds, "must be > 0");
  MlpShape shape;
  shape.sizes.push_back(784);
  std::stringstream hidden(f.hidden);
  for (std::string part; std::getline(hidden, part, ',');) {
    const int w = std::atoi(part.c_str());
    if (w < 1) throw InvalidValue("--hidden", f.hidden, "widths must be integers >= 1");
    shape.sizes.push_back(w);
  }
  shape.sizes.push_back(10);
  shape.hidden = Activation::tanh;

  std::vector<std::shared_ptr<const LearningRule>> rules;
  std::stringstream names(f.rules);
  for (std::string name; std::getline(names, name, ',');) rules.push_back(rule_registry().make(name));

  const GemmProbe gemm = measure_step_gemms(shape, f.batch, f.seconds);
  nlohmann::json out = {{"network", shape.str()}, {"batch", f.batch}, {"threads", 1},
                        {"gemm_gflops", gemm.gflops}, {"step_gflop", step_gemm_flops(shape, f.batch) * 1e-9}};
  if (!f.json) {
    std::printf("plast bench: %s, batch %d, single thread\n", shape.str().c_str(), f.batch);
    std::printf("  GEMM roofline at this network's shapes: %.1f GFLOP/s\n", gemm.gflops);
    std::printf("  %-28s %12s %10s %10s\n", "rule", "samples/s", "GFLOP/s", "roofline");
  }
  OptimizerSpec sgd;
  for (const auto& rule : rules) {
    const TrainingProbe p = measure_training(*rule, shape, f.batch, sgd, f.seconds);
    const double fraction = p.gflops / gemm.gflops;
    out["rules"][rule->name()] = {{"samples_per_s", p.samples_per_s}, {"gflops", p.gflops},
                                  {"roofline_fraction", fraction}};
    if (!f.json) std::printf("  %-28s %12.0f %10.1f %9.1f%%\n", rule->name().c_str(), p.samples_per_s, p.gflops, 100 * fraction);
  }
  if (f.json) std::cout << out.dump() << std::endl;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure the inner loop's speed against this machine's GEMM throughput");
  cmd->add_option("--hidden", flags->hidden, "hidden widths of the 784-...-10 network (default 256,256)");
  cmd->add_option("--batch", flags->batch, "batch size (default 64)");
  cmd->add_option("--seconds", flags->seconds, "minimum measuring time per item (default 2)");
  cmd->add_option("--rules", flags->rules, "comma-separated rules to time");
  cmd->add_flag("--json", flags->json, "print one JSON object");
  cmd->callback([flags] { run_bench(*flags); });
}

}  // namespace plast
