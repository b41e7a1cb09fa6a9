#include "rules/weight_mirror.hpp"

#include <cmath>

#include "lib/random_matrix.hpp"

namespace plast {
namespace {

struct WeightMirrorState final : RuleState {
  std::vector<Matrix> feedback;   // feedback[l] = B_l (n_l × n_{l+1}); feedback[0] is empty
  std::vector<Matrix> noise;      // noise[l]: capacity × n_l, the mirror's x_l (l ≥ 1)
  std::vector<Matrix> response;   // response[l]: capacity × n_{l+1}, y_{l+1} = x_l W_lᵀ (l ≥ 1)
  RandomStream rng;               // noise of (layer l, step t, mirror step k): rng.child({l, t, k})
  DeltaBuffers buffers;
  explicit WeightMirrorState(RandomStream r) : rng(r) {}
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<WeightMirrorState>(*this); }
};

}  // namespace

std::vector<ParamSpec> WeightMirror::params() {
  return {{"scale", 1.0, 0.0, 100.0, "initial B_l entries ~ U(+-scale*glorot(n_l, n_l+1)), as feedback_alignment"},
          {"mirror_lr", 0.01, 0.0, 10.0, "eta_B: dB_l = eta_B x_l y_l+1^T / batch - decay B_l, y_l+1 = W_l x_l"},
          {"decay", 0.01, 0.0, 1.0, "lambda: B_l is pulled towards (mirror_lr sigma^2 / decay) W_l^T"},
          {"sigma", 1.0, 0.0, 100.0, "standard deviation of the mirror noise x_l (uniform, zero mean)"},
          {"mirror_steps", 1.0, 0.0, 100.0, "mirror steps per training step (0: feedback alignment)", true}};
}

WeightMirror::Options WeightMirror::options(const ParamValues& p) {
  Options o;
  o.scale = static_cast<float>(p.at("scale"));
  o.mirror_lr = static_cast<float>(p.at("mirror_lr"));
  o.decay = static_cast<float>(p.at("decay"));
  o.sigma = static_cast<float>(p.at("sigma"));
  o.mirror_steps = static_cast<int>(p.at("mirror_steps"));
  return o;
}

std::unique_ptr<RuleState> WeightMirror::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  // The noise has its own child stream; rng.child({l}) draws B_l exactly as FA does.
  auto s = std::make_unique<WeightMirrorState>(rng.child({~std::uint64_t{0}}));
  s->buffers = DeltaBuffers(net.shape(), capacity);
  s->feedback.emplace_back();
  s->noise.emplace_back();
  s->response.emplace_back();
  for (int l = 1; l < net.num_layers(); ++l) {
    const auto& w = net.weight(l);
    const float limit = o_.scale * glorot_limit(w.cols(), w.rows());
    RandomStream layer_rng = rng.child({static_cast<std::uint64_t>(l)});
    s->feedback.push_back(uniform_matrix(w.cols(), w.rows(), layer_rng, -limit, limit));
    s->noise.emplace_back(capacity, w.cols());
    s->response.emplace_back(capacity, w.rows());
  }
  return s;
}

Matrix& WeightMirror::feedback(RuleState& state, int layer) {
  return static_cast<WeightMirrorState&>(state).feedback.at(static_cast<std::size_t>(layer));
}

std::optional<Matrix> WeightMirror::feedback_matrix(const RuleState& state, int layer) const {
  const auto& st = static_cast<const WeightMirrorState&>(state);
  if (layer < 1 || layer >= static_cast<int>(st.feedback.size())) return std::nullopt;
  return st.feedback[static_cast<std::size_t>(layer)];
}

double WeightMirror::update_flops(const MlpShape& shape, int batch) const {
  double mirror = 0.0;   // per mirror step: y = x Wᵀ and xᵀy for every layer above the first
  for (int l = 1; l < shape.num_layers(); ++l) mirror += 4.0 * batch * shape.sizes[l] * shape.sizes[l + 1];
  return backprop_update_flops(shape, batch) + o_.mirror_steps * mirror;
}

void WeightMirror::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<WeightMirrorState&>(state);
  const int n = s.cache.rows();
  const int last = s.net.num_layers() - 1;
  // Mirror mode: B_l ← (1 − λ) B_l + (η_B/n) x_lᵀ y_{l+1}, with y_{l+1} = x_l W_lᵀ.
  const float half_width = std::sqrt(3.0f) * o_.sigma;   // U(±√3σ) has variance σ²
  const float rate = o_.mirror_lr / static_cast<float>(n);
  for (int k = 0; k < o_.mirror_steps; ++k) {
    for (int l = 1; l <= last; ++l) {
      const auto li = static_cast<std::size_t>(l);
      auto x = st.noise[li].topRows(n);
      RandomStream draw = st.rng.child({static_cast<std::uint64_t>(l), s.step, static_cast<std::uint64_t>(k)});
      for (Eigen::Index r = 0; r < x.rows(); ++r)
        for (Eigen::Index c = 0; c < x.cols(); ++c) x(r, c) = draw.uniform(-half_width, half_width);
      auto y = st.response[li].topRows(n);
      y.noalias() = x * s.net.weight(l).transpose();
      Matrix& b = st.feedback[li];
      if (o_.decay != 0.0f) b *= 1.0f - o_.decay;
      b.noalias() += rate * (x.transpose() * y);
    }
  }
  // Engaged mode: feedback alignment through the mirrored B.
  feedback_gradient(s.net, s.cache, s.output_delta, st.feedback, st.buffers, out);
}

}  // namespace plast
