#include "cli/bench_command.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/flag_values.hpp"
#include "lib/error.hpp"
#include "lib/roofline.hpp"
#include "rules/registry.hpp"

namespace plast {
namespace {

struct BenchFlags {
  std::string hidden = "256,256";
  int batch = 64;
  double seconds = 2.0;   // per item: all registered rules then take well under a minute
  std::string rules = "all";
  bool json = false;
};

// The conv workload: studies/conv-fashion.yaml's student (28x28x1, conv 5x5x16 pad 2, max pool 2,
// conv 5x5x32 pad 2, max pool 2, dense 128, 10 outputs, tanh), trained by backprop, against the
// GEMM roofline of its own products (the convolutions' im2col GEMMs and the dense layers').
void bench_conv(const BenchFlags& f, int rounds, nlohmann::json& out) {
  auto conv = [](int filters) {
    LayerSpec l;
    l.filters = filters;
    l.kernel = 5;
    l.padding = 2;
    l.activation = Activation::tanh;
    return l;
  };
  LayerSpec pool;
  pool.kind = LayerKind::max_pool;
  pool.kernel = 2;
  pool.stride = 2;
  MlpShape shape;
  shape.front = std::make_shared<const FrontEnd>(Volume{28, 28, 1}, std::vector<LayerSpec>{conv(16), pool, conv(32), pool});
  shape.sizes = {shape.front->output().size(), 128, 10};
  shape.hidden = Activation::tanh;
  const auto rule = rule_registry().make("backprop");
  const double slice = f.seconds / rounds;
  double gemm = 0.0;
  TrainingProbe best;
  for (int round = 0; round < rounds; ++round) {
    gemm = std::max(gemm, measure_step_gemms(shape, f.batch, slice).gflops);
    const TrainingProbe p = measure_training(*rule, shape, f.batch, OptimizerSpec{}, slice);
    if (p.samples_per_s > best.samples_per_s) best = p;
  }
  const double fraction = best.gflops / gemm;
  out["workloads"]["conv_fashion_backprop"] = {{"network", shape.str()}, {"gemm_gflops", gemm},
                                               {"samples_per_s", best.samples_per_s}, {"gflops", best.gflops},
                                               {"roofline_fraction", fraction}};
  if (!f.json)
    std::printf("  conv workload (%s), backprop: %.0f samples/s, %.1f GFLOP/s of a %.1f GFLOP/s roofline (%.1f%%)\n",
                shape.str().c_str(), best.samples_per_s, best.gflops, gemm, 100 * fraction);
}

void run_bench(const BenchFlags& f) {
  if (f.batch < 1) throw InvalidValue("--batch", f.batch, "must be >= 1");
  if (!(f.seconds > 0.0)) throw InvalidValue("--seconds", f.seconds, "must be > 0");
  MlpShape shape;
  shape.sizes.push_back(784);
  for (int w : parse_int_list(f.hidden, "--hidden")) {
    if (w < 1) throw InvalidValue("--hidden", f.hidden, "widths must be >= 1");
    shape.sizes.push_back(w);
  }
  shape.sizes.push_back(10);
  shape.hidden = Activation::tanh;

  std::vector<std::shared_ptr<const LearningRule>> rules;
  const auto names = f.rules == "all" ? rule_registry().names() : split_commas(f.rules);
  for (const auto& name : names) rules.push_back(rule_registry().make(name));

  // The machine is shared and noisy: measure in interleaved rounds (GEMM, then each rule) and
  // keep each item's best round, so that a burst of outside load hits one round, not one item.
  constexpr int kRounds = 5;
  const double slice = f.seconds / kRounds;
  OptimizerSpec sgd;
  double gemm_gflops = 0.0;
  std::vector<TrainingProbe> best(rules.size());
  for (int round = 0; round < kRounds; ++round) {
    gemm_gflops = std::max(gemm_gflops, measure_step_gemms(shape, f.batch, slice).gflops);
    for (std::size_t r = 0; r < rules.size(); ++r) {
      const TrainingProbe p = measure_training(*rules[r], shape, f.batch, sgd, slice);
      if (p.samples_per_s > best[r].samples_per_s) best[r] = p;
    }
  }
  nlohmann::json out = {{"network", shape.str()}, {"batch", f.batch}, {"threads", 1}, {"rounds", kRounds},
                        {"gemm_gflops", gemm_gflops}, {"step_gflop", step_gemm_flops(shape, f.batch) * 1e-9}};
  if (!f.json) {
    std::printf("plast bench: %s, batch %d, single thread, best of %d interleaved rounds\n", shape.str().c_str(),
                f.batch, kRounds);
    std::printf("  GEMM roofline at this network's shapes (forward + backprop products): %.1f GFLOP/s\n", gemm_gflops);
    std::printf("  %-28s %12s %10s %10s\n", "rule", "samples/s", "GFLOP/s", "roofline");
  }
  for (std::size_t r = 0; r < rules.size(); ++r) {
    const TrainingProbe& p = best[r];
    const double fraction = p.gflops / gemm_gflops;
    out["rules"][rules[r]->name()] = {{"samples_per_s", p.samples_per_s}, {"gflops", p.gflops},
                                      {"roofline_fraction", fraction}};
    if (!f.json)
      std::printf("  %-28s %12.0f %10.1f %9.1f%%\n", rules[r]->name().c_str(), p.samples_per_s, p.gflops, 100 * fraction);
  }
  bench_conv(f, kRounds, out);
  if (f.json) std::cout << out.dump() << std::endl;
}

}  // namespace

void add_bench_command(CLI::App& app) {
  auto flags = std::make_shared<BenchFlags>();
  CLI::App* cmd = app.add_subcommand("bench", "Measure the inner loop's speed against this machine's GEMM throughput");
  cmd->add_option("--hidden", flags->hidden, "hidden widths of the 784-...-10 network (default 256,256)");
  cmd->add_option("--batch", flags->batch, "batch size (default 64)");
  cmd->add_option("--seconds", flags->seconds, "measuring time per item, split into 5 rounds (default 2)");
  cmd->add_option("--rules", flags->rules, "comma-separated rules to time (default: all, every registered rule)");
  cmd->add_flag("--json", flags->json, "print one JSON object");
  cmd->callback([flags] { run_bench(*flags); });
}

}  // namespace plast
