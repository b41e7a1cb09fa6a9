// Google Benchmark of the inner loop at the roofline shapes (784-256-256-10, batch 64, one
// thread): the GEMMs of one training step, and one full training step per rule.
// The counter "GFLOPS" is step_gemm_flops / time, comparable across the three.
#include <benchmark/benchmark.h>

#include "lib/loss.hpp"
#include "lib/roofline.hpp"
#include "rules/registry.hpp"

namespace {

plast::MlpShape roofline_shape() {
  plast::MlpShape s;
  s.sizes = {784, 256, 256, 10};
  return s;
}

void BM_step_gemms(benchmark::State& state) {
  const auto shape = roofline_shape();
  for (auto _ : state) benchmark::DoNotOptimize(plast::measure_step_gemms(shape, 64, 0.0));
  state.counters["GFLOPS"] = benchmark::Counter(plast::step_gemm_flops(shape, 64) * 1e-9 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
}
BENCHMARK(BM_step_gemms);

void BM_training_step(benchmark::State& state, const char* rule_name) {
  using namespace plast;
  const auto shape = roofline_shape();
  const auto rule = rule_registry().make(rule_name);
  Mlp net(shape);
  RandomStream rng(1, Purpose::init_weights);
  net.init_glorot(rng);
  auto rule_state = rule->make_state(net, 64, RandomStream(1, Purpose::feedback));
  OptimizerSpec sgd;
  auto optimizer = make_optimizer(sgd, net);
  ForwardCache cache(shape, 64);
  Matrix x(64, 784), y = Matrix::Zero(64, 10), delta(64, 10);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = rng.normal();
  for (int r = 0; r < 64; ++r) y(r, r % 10) = 1.0f;
  Gradients update = Gradients::like(net);
  for (auto _ : state) {
    forward(net, x, cache);
    loss_and_delta(Loss::softmax_cross_entropy, Activation::linear, cache.logits(), cache.output(), y, delta);
    const Eigen::Ref<const Matrix> d(delta), t(y);
    rule->compute_update(StepSignals{net, cache, d, t, 0}, *rule_state, update);
    optimizer->apply(net, update);
  }
  state.counters["GFLOPS"] = benchmark::Counter(step_gemm_flops(shape, 64) * 1e-9 * static_cast<double>(state.iterations()),
                                                benchmark::Counter::kIsRate);
  state.SetItemsProcessed(state.iterations() * 64);
}
BENCHMARK_CAPTURE(BM_training_step, backprop, "backprop");
BENCHMARK_CAPTURE(BM_training_step, feedback_alignment, "feedback_alignment");
BENCHMARK_CAPTURE(BM_training_step, direct_feedback_alignment, "direct_feedback_alignment");

}  // namespace

BENCHMARK_MAIN();
