// Google Benchmark of the inner loop at the roofline shapes (784-256-256-10, batch 64, one
// thread): the GEMMs of one training step, and one full training step per rule.
// The counter "GFLOPS" counts each rule's own products (forward + update_flops) per second;
// BM_step_gemms is the roofline they are compared with (plast bench prints the fractions).
// BM_cartpole_abcd_step: one step of the abcd-cartpole study's policy (4-32-16-2 tanh,
// per-synapse ABCD, SGD, max-|w| normalization) acting in CartPole, through episode_step
// (the fused apply_sgd_step) and through the separate compute_update / optimizer /
// after_update calls, so the fused path's gain is a ratio measured in one run.
#include <benchmark/benchmark.h>

#include "lib/episode.hpp"
#include "lib/roofline.hpp"
#include "lib/train.hpp"
#include "rules/abcd.hpp"
#include "rules/registry.hpp"
#include "tasks/cartpole.hpp"

namespace {

plast::MlpShape roofline_shape() {
  plast::MlpShape s;
  s.sizes = {784, 256, 256, 10};
  return s;
}

void BM_step_gemms(benchmark::State& state) {
  const auto shape = roofline_shape();
  plast::StepGemms gemms(shape, 64);
  for (auto _ : state) gemms.run();
  state.counters["GFLOPS"] = benchmark::Counter(plast::step_gemm_flops(shape, 64) * 1e-9 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_step_gemms);

void BM_training_step(benchmark::State& state, const char* rule_name) {
  using namespace plast;
  const auto shape = roofline_shape();
  const auto rule = rule_registry().make(rule_name);
  Task task;
  task.input_size = 784;
  task.output_size = 10;
  task.loss = Loss::softmax_cross_entropy;
  StudentSpec spec;
  spec.hidden = {256, 256};
  Student student = make_student(task, spec, *rule, OptimizerSpec{}, 64, 1);
  StepWorkspace ws(student.net, 64);
  RandomStream rng(1, Purpose::data);
  Matrix x(64, 784), y = Matrix::Zero(64, 10);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = rng.normal();
  for (int r = 0; r < 64; ++r) y(r, r % 10) = 1.0f;
  std::uint64_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(train_step(student, *rule, task, x, y, ws, step++));
  const double flops = forward_flops(shape, 64) + rule->update_flops(shape, 64);
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK_CAPTURE(BM_training_step, backprop, "backprop");
BENCHMARK_CAPTURE(BM_training_step, feedback_alignment, "feedback_alignment");
BENCHMARK_CAPTURE(BM_training_step, direct_feedback_alignment, "direct_feedback_alignment");

void BM_cartpole_abcd_step(benchmark::State& state, bool fused) {
  using namespace plast;
  MlpShape shape;
  shape.sizes = {4, 32, 16, 2};
  Eigen::VectorXd theta(AbcdRule::dimension(shape, Sharing::synapse));
  RandomStream rng(1, Purpose::data);
  for (Eigen::Index k = 0; k < theta.size(); ++k) theta(k) = 0.1 * rng.normal();
  const AbcdRule rule(shape, Sharing::synapse, theta, true);
  Task task;
  task.input_size = 4;
  task.output_size = 2;
  StudentSpec spec;
  spec.hidden = {32, 16};
  Student student = make_student(task, spec, rule, OptimizerSpec{.type = "sgd", .lr = 0.3}, 1, 1);
  CartPole env(CartPoleParams{}, 1, 0, 0);
  EpisodeWorkspace ws(student.net, 4);
  std::uint64_t step = 0, episode = 0;
  env.reset(episode);
  for (auto _ : state) {
    if (fused) {
      benchmark::DoNotOptimize(episode_step(student, rule, env, ws, step++));
    } else {   // episode_step's generic path, spelled out
      env.observe(ws.observation.row(0));
      forward(student.net, ws.observation, ws.cache);
      const int action = argmax_action(ws.cache.output().row(0));
      const Eigen::Ref<const Matrix> delta(ws.zero_delta), target(ws.zero_target);
      rule.compute_update(StepSignals{student.net, ws.cache, delta, target, step++}, *student.rule_state, ws.update);
      student.optimizer->apply(student.net, ws.update);
      rule.after_update(student.net, *student.rule_state);
      benchmark::DoNotOptimize(env.step(action));
    }
    if (env.done()) env.reset(++episode);
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK_CAPTURE(BM_cartpole_abcd_step, fused, true);
BENCHMARK_CAPTURE(BM_cartpole_abcd_step, separate, false);

}  // namespace

BENCHMARK_MAIN();
