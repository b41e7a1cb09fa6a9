#include "rules/weight_perturbation.hpp"

#include "lib/error.hpp"

namespace plast {
namespace {

struct WeightPerturbationState final : RuleState {
  explicit WeightPerturbationState(RandomStream r) : rng(r) {}
  RandomStream rng;                 // ε of every step, drawn in layer and storage order
  Mlp perturbed;                    // W ± σε, same shape as the student
  std::vector<Matrix> noise_w;      // ε_W ~ N(0, 1): ψ = σ ε
  std::vector<RowVector> noise_b;
  ForwardCache cache;               // the perturbed network's forward pass
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<WeightPerturbationState>(*this); }
};

void fill_normal(float* data, Eigen::Index n, RandomStream& rng) {
  for (Eigen::Index i = 0; i < n; ++i) data[i] = rng.normal();
}

// L(W + sign·σε) on the batch of `s`, through the state's perturbed copy.
double perturbed_loss(const StepSignals& s, WeightPerturbationState& st, float signed_sigma) {
  for (int l = 0; l < s.net.num_layers(); ++l) {
    st.perturbed.weight(l) = s.net.weight(l) + signed_sigma * st.noise_w[l];
    st.perturbed.bias(l) = s.net.bias(l) + signed_sigma * st.noise_b[l];
  }
  forward(st.perturbed, s.cache.h(0), st.cache);
  return loss_value(*s.loss, st.cache.logits(), st.cache.output(), s.target);
}

}  // namespace

std::vector<ParamSpec> WeightPerturbation::params() {
  return {{"sigma", 1e-3, 1e-6, 10.0, "standard deviation of the weight perturbation psi ~ N(0, sigma^2)"},
          {"antithetic", 0, 0, 1, "1: (L(W+psi) - L(W-psi)) psi / (2 sigma^2) instead of (L(W+psi) - L(W)) psi / sigma^2",
           true}};
}

std::unique_ptr<RuleState> WeightPerturbation::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  auto s = std::make_unique<WeightPerturbationState>(rng);
  s->perturbed = net;
  for (int l = 0; l < net.num_layers(); ++l) {
    s->noise_w.emplace_back(net.weight(l).rows(), net.weight(l).cols());
    s->noise_b.emplace_back(net.bias(l).size());
  }
  s->cache = ForwardCache(net.shape(), capacity);
  return s;
}

void WeightPerturbation::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  if (!s.loss) throw Error("weight_perturbation: needs the task's loss (control tasks have none)");
  auto& st = static_cast<WeightPerturbationState&>(state);
  for (int l = 0; l < s.net.num_layers(); ++l) {
    fill_normal(st.noise_w[l].data(), st.noise_w[l].size(), st.rng);
    fill_normal(st.noise_b[l].data(), st.noise_b[l].size(), st.rng);
  }
  const double plus = perturbed_loss(s, st, sigma_);
  double difference = 0.0;
  if (antithetic_) {
    difference = (plus - perturbed_loss(s, st, -sigma_)) / 2.0;
  } else {
    difference = plus - loss_value(*s.loss, s.cache.logits(), s.cache.output(), s.target);
  }
  // (ΔL) ψ / σ² = (ΔL / σ) ε.
  const float scale = static_cast<float>(difference / sigma_);
  for (int l = 0; l < s.net.num_layers(); ++l) {
    out.dW[l] = scale * st.noise_w[l];
    out.db[l] = scale * st.noise_b[l];
  }
}

double WeightPerturbation::update_flops(const MlpShape& shape, int batch) const {
  return (antithetic_ ? 2.0 : 1.0) * forward_flops(shape, batch);
}

}  // namespace plast
