#pragma once
// The inner loop's speed budget. The roofline is this machine's float32 GEMM throughput at
// exactly the products one training step of an MLP performs (forward h Wᵀ, weight
// gradients δᵀh, backward δ W for every layer above the first), single thread. A rule's
// training throughput is reported as a fraction of it.
#include <string>

#include "lib/learning_rule.hpp"
#include "lib/mlp.hpp"
#include "lib/optimizer.hpp"

namespace plast {

// Floating-point operations (2mnk per product) of the GEMMs of one backprop training step.
double step_gemm_flops(const MlpShape& shape, int batch);

// The products of one backprop step on random operands, prepared once.
class StepGemms {
 public:
  StepGemms(const MlpShape& shape, int batch);
  void run();   // forward, then weight gradients and backward products, every layer

 private:
  std::vector<Matrix> w_, h_, z_, dw_, below_;
  // A front end's convolutions, as their im2col GEMMs over chunks of kChunk samples:
  // columns (chunk·positions × k·k·C), kernel (filters × k·k·C), output, kernel gradient, dcolumns.
  std::vector<Matrix> columns_, kernel_, out_, dkernel_, dcolumns_;
  std::vector<bool> first_;   // the first convolution computes no input error
  int chunks_ = 0;
};

struct GemmProbe {
  double gflops = 0.0;
  double seconds = 0.0;
  long repetitions = 0;
};
// Runs the step's GEMMs repeatedly for at least `min_seconds`.
GemmProbe measure_step_gemms(const MlpShape& shape, int batch, double min_seconds);

struct TrainingProbe {
  double samples_per_s = 0.0;
  double gflops = 0.0;          // (forward + the rule's update_flops) × steps / training time
  long steps = 0;
};
// Trains a student of `shape` (its front end, if any, must be a chain: no concat) with `rule` through plast::train on a synthetic 10-class task
// (the same code path as every study) for at least `min_seconds` of training time.
TrainingProbe measure_training(const LearningRule& rule, const MlpShape& shape, int batch,
                               const OptimizerSpec& optimizer, double min_seconds);

}  // namespace plast
