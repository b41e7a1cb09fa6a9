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

// Calls step(w, b, dw, db, state…) for every weight block: the dense layers, then a front end's
// convolutions (lib/front_end.hpp); `states` are Gradients-shaped optimizer moments.
template <class Step, class... States>
void for_each_block_impl(Mlp& net, const Gradients& g, Step&& step, States&... states) {
  for (int l = 0; l < net.num_layers(); ++l) step(net.weight(l), net.bias(l), g.dW[l], g.db[l], states.dW[l]..., states.db[l]...);
  auto& front = net.front_weights();
  for (std::size_t k = 0; k < front.weight.size(); ++k)
    step(front.weight[k], front.bias[k], g.front.weight[k], g.front.bias[k], states.front.weight[k]...,
         states.front.bias[k]...);
}

template <class Step>
void for_each_block(Mlp& net, const Gradients& g, Step&& step) {
  for_each_block_impl(net, g, step);
}
template <class Step>
void for_each_block(Mlp& net, const Gradients& g, Gradients& a, Step&& step) {
  for_each_block_impl(net, g, [&](Matrix& w, RowVector& b, const Matrix& dw, const RowVector& db, Matrix& aw,
                                  RowVector& ab) { step(w, b, dw, db, aw, ab); }, a);
}
template <class Step>
void for_each_block(Mlp& net, const Gradients& g, Gradients& a, Gradients& c, Step&& step) {
  for_each_block_impl(net, g, [&](Matrix& w, RowVector& b, const Matrix& dw, const RowVector& db, Matrix& aw, Matrix& cw,
                                  RowVector& ab, RowVector& cb) { step(w, b, dw, db, aw, ab, cw, cb); }, a, c);
}

class Sgd final : public Optimizer {
 public:
  explicit Sgd(const OptimizerSpec& s) : lr_(static_cast<float>(s.lr)), wd_(static_cast<float>(s.weight_decay)) {}
  void apply(Mlp& net, const Gradients& g) override {
    const float lr = lr_ * lr_factor_;
    for_each_block(net, g, [&](Matrix& w, RowVector& b, const Matrix& dw, const RowVector& db) {
      if (wd_ != 0.0f) w *= 1.0f - lr * wd_;
      w.noalias() -= lr * dw;
      b.noalias() -= lr * db;
    });
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
    for_each_block(net, g, velocity_, [&](Matrix& w, RowVector& b, const Matrix& dw, const RowVector& db, Matrix& vw,
                                          RowVector& vb) {
      vw = mu_ * vw + dw;
      if (wd_ != 0.0f) vw += wd_ * w;
      vb = mu_ * vb + db;
      w.noalias() -= lr * vw;
      b.noalias() -= lr * vb;
    });
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
    for_each_block(net, g, m_, v_, [&](Matrix& w, RowVector& b, const Matrix& dw, const RowVector& db, Matrix& mw,
                                       RowVector& mb, Matrix& vw, RowVector& vb) {
      mw = b1 * mw + (1.0f - b1) * dw;
      vw = b2 * vw + (1.0f - b2) * dw.cwiseAbs2();
      mb = b1 * mb + (1.0f - b1) * db;
      vb = b2 * vb + (1.0f - b2) * db.cwiseAbs2();
      if (decay != 0.0f) w *= 1.0f - decay;
      w.array() -= step * mw.array() / (vw.array().sqrt() + eps);
      b.array() -= step * mb.array() / (vb.array().sqrt() + eps);
    });
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
