#include "rules/node_perturbation.hpp"

#include "lib/error.hpp"

namespace plast {
namespace {

struct NodePerturbationState final : RuleState {
  explicit NodePerturbationState(RandomStream r) : rng(r) {}
  RandomStream rng;                 // ε of every step, drawn layer by layer in storage order
  std::vector<Matrix> noise;        // noise[l]: capacity × n_{l+1}, ε ~ N(0, 1), ξ = σ ε
  std::vector<Matrix> z, h;         // the noisy pass: z[l] = z̃_l, h[l] = h̃_{l+1} = f(z̃_l)
  Eigen::VectorXf coefficient;      // per sample: (L_n(ξ) − L_n) / (σ B)
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<NodePerturbationState>(*this); }
};

}  // namespace

std::vector<ParamSpec> NodePerturbation::params() {
  return {{"sigma", 1e-3, 1e-6, 10.0, "standard deviation of the pre-activation noise xi ~ N(0, sigma^2)"}};
}

std::unique_ptr<RuleState> NodePerturbation::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  auto s = std::make_unique<NodePerturbationState>(rng);
  for (int l = 0; l < net.num_layers(); ++l) {
    const auto units = net.weight(l).rows();
    s->noise.emplace_back(capacity, units);
    s->z.emplace_back(capacity, units);
    s->h.emplace_back(capacity, units);
  }
  s->coefficient = Eigen::VectorXf::Zero(capacity);
  return s;
}

void NodePerturbation::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  if (!s.loss) throw Error("node_perturbation: needs the task's loss (control tasks have none)");
  auto& st = static_cast<NodePerturbationState&>(state);
  const int n = s.cache.rows();
  const int layers = s.net.num_layers();
  // The noisy forward pass.
  for (int l = 0; l < layers; ++l) {
    auto noise = st.noise[l].topRows(n);
    for (Eigen::Index r = 0; r < noise.rows(); ++r)
      for (Eigen::Index c = 0; c < noise.cols(); ++c) noise(r, c) = st.rng.normal();
    auto z = st.z[l].topRows(n);
    if (l == 0)
      z.noalias() = s.cache.h(0) * s.net.weight(l).transpose();
    else
      z.noalias() = st.h[l - 1].topRows(n) * s.net.weight(l).transpose();
    z.rowwise() += s.net.bias(l);
    z += sigma_ * noise;
    activate(s.net.activation(l), z, st.h[l].topRows(n));
  }
  // Per-sample loss changes, each scaled by 1/(σB): (ΔL_n/σ²) ξ = (ΔL_n/σ) ε.
  const auto noisy_z = st.z[layers - 1].topRows(n), noisy_h = st.h[layers - 1].topRows(n);
  const auto clean_z = s.cache.logits(), clean_h = s.cache.output();
  const double per_sample = 1.0 / (static_cast<double>(sigma_) * n);
  for (int r = 0; r < n; ++r) {
    const double noisy = loss_value(*s.loss, noisy_z.middleRows(r, 1), noisy_h.middleRows(r, 1), s.target.middleRows(r, 1));
    const double clean = loss_value(*s.loss, clean_z.middleRows(r, 1), clean_h.middleRows(r, 1), s.target.middleRows(r, 1));
    st.coefficient(r) = static_cast<float>((noisy - clean) * per_sample);
  }
  for (int l = 0; l < layers; ++l) {
    auto weighted = st.noise[l].topRows(n);
    weighted.array().colwise() *= st.coefficient.head(n).array();
    layer_gradient(s.cache, l, weighted, out);
  }
}

double NodePerturbation::update_flops(const MlpShape& shape, int batch) const {
  return 2.0 * forward_flops(shape, batch);   // the noisy pass, and ξ_lᵀ h_l for every layer
}

}  // namespace plast
