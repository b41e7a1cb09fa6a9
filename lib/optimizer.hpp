#pragma once
// Optimizers apply an update direction g (with the sign of a gradient) to the weights.
//   sgd:      W ← W − lr (g + λW)
//   momentum: v ← μ v + g + λW;  W ← W − lr v                      (Polyak heavy ball)
//   adam:     Adam (Kingma & Ba 2015) with decoupled weight decay
//             W ← W − lr (m̂/(√v̂+ε) + λW)                         (AdamW, Loshchilov & Hutter 2019)
// Weight decay λ applies to weights, not biases. Moments live in the optimizer, one per student.
#include <memory>
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

  // Throws plast::Error naming the wrong value ("lr = -1: must be > 0").
  void validate() const;
};

const std::vector<std::string>& optimizer_names();

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual void apply(Mlp& net, const Gradients& update) = 0;
};

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec, const Mlp& net);

}  // namespace plast
