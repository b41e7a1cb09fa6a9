#include "lib/optimizer.hpp"

#include <cmath>

#include "lib/error.hpp"

namespace plast {

const std::vector<std::string>& optimizer_names() {
  static const std::vector<std::string> names = {"sgd", "momentum", "adam"};
  return names;
}

float schedule_factor(const std::string& schedule, long long step, long long total_steps) {
  if (schedule != "cosine" || total_steps <= 0) return 1.0f;
  const double progress = static_cast<double>(step) / static_cast<double>(total_steps);
  return static_cast<float>(0.5 * (1.0 + std::cos(3.14159265358979323846 * progress)));
}

void OptimizerSpec::validate() const {
  auto bad = [](const std::string& key, double v, const std::string& what) { throw InvalidValue(key, v, what); };
  bool known = false;
  for (const auto& n : optimizer_names()) known |= n == type;
  if (!known) throw InvalidValue("type", type, "unknown optimizer (known: sgd, momentum, adam)");
  if (!(lr > 0.0) || !std::isfinite(lr)) bad("lr", lr, "must be > 0");
  if (schedule != "constant" && schedule != "cosine")
    throw InvalidValue("schedule", schedule, "unknown schedule (known: constant, cosine)");
  if (!(momentum >= 0.0 && momentum < 1.0)) bad("momentum", momentum, "must be in [0, 1)");
  if (!(beta1 >= 0.0 && beta1 < 1.0)) bad("beta1", beta1, "must be in [0, 1)");
  if (!(beta2 >= 0.0 && beta2 < 1.0)) bad("beta2", beta2, "must be in [0, 1)");
  if (!(epsilon > 0.0) || !std::isfinite(epsilon)) bad("epsilon", epsilon, "must be > 0");
  if (!(weight_decay >= 0.0) || !std::isfinite(weight_decay)) bad("weight_decay", weight_decay, "must be >= 0");
}

namespace {

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerSpec& s) : lr_(static_cast<float>(s.lr)), wd_(static_cast<float>(s.weight_decay)) {}
  void apply(Mlp& net, const Gradients& g) override {
    const float lr = lr_ * lr_factor_;
    for (int l = 0; l < net.num_layers(); ++l) {
      if (wd_ != 0.0f) net.weight(l) *= 1.0f - lr * wd_;
      net.weight(l).noalias() -= lr * g.dW[l];
      net.bias(l).noalias() -= lr * g.db[l];
    }
  }
  std::optional<float> plain_step_size() const override {
    return wd_ == 0.0f ? std::optional<float>(lr_ * lr_factor_) : std::nullopt;
  }

 private:
  float lr_, wd_;
};

class Momentum final : public Optimizer {
 public:
  Momentum(const OptimizerSpec& s, const Mlp& net)
      : lr_(static_cast<float>(s.lr)), mu_(static_cast<float>(s.momentum)),
        wd_(static_cast<float>(s.weight_decay)), velocity_(Gradients::like(net)) {}
  void apply(Mlp& net, const Gradients& g) override {
    const float lr = lr_ * lr_factor_;
    for (int l = 0; l < net.num_layers(); ++l) {
      auto& vw = velocity_.dW[l];
      vw = mu_ * vw + g.dW[l];
      if (wd_ != 0.0f) vw += wd_ * net.weight(l);
      velocity_.db[l] = mu_ * velocity_.db[l] + g.db[l];
      net.weight(l).noalias() -= lr * vw;
      net.bias(l).noalias() -= lr * velocity_.db[l];
    }
  }

 private:
  float lr_, mu_, wd_;
  Gradients velocity_;
};

class Adam final : public Optimizer {
 public:
  Adam(const OptimizerSpec& s, const Mlp& net)
      : lr_(s.lr), b1_(s.beta1), b2_(s.beta2), eps_(static_cast<float>(s.epsilon)),
        wd_(static_cast<float>(s.weight_decay)), m_(Gradients::like(net)), v_(Gradients::like(net)) {}
  void apply(Mlp& net, const Gradients& g) override {
    ++t_;
    // Bias corrections folded into the step size and ε (Kingma & Ba 2015, end of section 2).
    const double c1 = 1.0 - std::pow(b1_, t_), c2 = 1.0 - std::pow(b2_, t_);
    const double lr = lr_ * lr_factor_;
    const float step = static_cast<float>(lr * std::sqrt(c2) / c1);
    const float eps = static_cast<float>(eps_ * std::sqrt(c2));
    const float b1 = static_cast<float>(b1_), b2 = static_cast<float>(b2_);
    const float decay = static_cast<float>(lr) * wd_;
    for (int l = 0; l < net.num_layers(); ++l) {
      m_.dW[l] = b1 * m_.dW[l] + (1.0f - b1) * g.dW[l];
      v_.dW[l] = b2 * v_.dW[l] + (1.0f - b2) * g.dW[l].cwiseAbs2();
      m_.db[l] = b1 * m_.db[l] + (1.0f - b1) * g.db[l];
      v_.db[l] = b2 * v_.db[l] + (1.0f - b2) * g.db[l].cwiseAbs2();
      if (decay != 0.0f) net.weight(l) *= 1.0f - decay;
      net.weight(l).array() -= step * m_.dW[l].array() / (v_.dW[l].array().sqrt() + eps);
      net.bias(l).array() -= step * m_.db[l].array() / (v_.db[l].array().sqrt() + eps);
    }
  }

 private:
  double lr_, b1_, b2_;
  float eps_, wd_;
  Gradients m_, v_;
  long t_ = 0;
};

}  // namespace

std::unique_ptr<Optimizer> make_optimizer(const OptimizerSpec& spec, const Mlp& net) {
  spec.validate();
  if (spec.type == "sgd") return std::make_unique<Sgd>(spec);
  if (spec.type == "momentum") return std::make_unique<Momentum>(spec, net);
  return std::make_unique<Adam>(spec, net);
}

}  // namespace plast
