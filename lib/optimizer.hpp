#pragma once
// Optimizers apply an update direction g (with the sign of a gradient) to the weights.
//   sgd:      W ← W − lr (g + λW)
//   momentum: v ← μ v + g + λW;  W ← W − lr v                      (Polyak heavy ball)
//   adam:     Adam (Kingma & Ba 2015) with decoupled weight decay
//             W ← W − lr (m̂/(√v̂+ε) + λW)                         (AdamW, Loshchilov & Hutter 2019)
// Weight decay λ applies to weights, not biases. Moments live in the optimizer, one per student.
// Schedules scale lr over the training run: constant, or cosine decay to zero
// (Loshchilov & Hutter, "SGDR", ICLR 2017, eq. 5 without restarts).
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/gradient.hpp"
#include "lib/mlp.hpp"

namespace plast {

struct OptimizerSpec {
  std::string type = "sgd";     // sgd | momentum | adam
  double lr = 0.01;
  double momentum = 0.9;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-8;
  double weight_decay = 0.0;
  std::string schedule = "constant";   // constant | cosine

  // Throws plast::Error naming the wrong value ("lr = -1: must be > 0").
  void validate() const;
};

const std::vector<std::string>& optimizer_names();

// The learning-rate factor of `schedule` at `step` of `total_steps`.
float schedule_factor(const std::string& schedule, long long step, long long total_steps);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void apply(Mlp& net, const Gradients& update) = 0;
  // Multiplies the learning rate of the following steps (the schedule's current factor).
  void set_lr_factor(float factor) { lr_factor_ = factor; }
  // The step size η when this step is plain W ← W − η·update with no state and no decay
  // (sgd without weight decay), so a rule may apply its update itself in one fused pass
  // (LearningRule::apply_sgd_step); empty otherwise.
  virtual std::optional<float> plain_step_size() const { return std::nullopt; }

 protected:
  float lr_factor_ = 1.0f;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec, const Mlp& net);

}  // namespace plast
