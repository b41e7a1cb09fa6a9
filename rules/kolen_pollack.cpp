#include "rules/kolen_pollack.hpp"

#include <algorithm>
#include <cmath>

#include "lib/random_matrix.hpp"

namespace plast {
namespace {

struct KolenPollackState final : RuleState {
  std::vector<Matrix> feedback;   // feedback[l] = B_l (n_l × n_{l+1}); feedback[0] is empty
  std::vector<Matrix> before;     // before[l] = W_l as compute_update saw it (l ≥ 1; and l = 0 with a front end)
  std::vector<Matrix> front;         // a front end: the feedback kernel of each convolution (W_k's shape)
  std::vector<Matrix> front_before;  // ... and W_k as compute_update saw it
  bool pending = false;           // a compute_update whose step after_update has not mirrored yet
  double update_norm2 = 0.0;      // Σ_{l≥1} ‖dW_l‖² of the update compute_update returned
  DeltaBuffers buffers;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<KolenPollackState>(*this); }
};

}  // namespace

std::vector<ParamSpec> KolenPollack::params() {
  return {{"scale", 1.0, 0.0, 100.0, "initial B_l entries ~ U(+-scale*glorot(n_l, n_l+1)), as feedback_alignment"},
          {"decay", 0.01, 0.0, 10.0, "lambda: W,B <- (1 - lambda*eta_t)(W,B), eta_t = the optimizer's step size this step"}};
}

std::unique_ptr<RuleState> KolenPollack::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  auto s = std::make_unique<KolenPollackState>();
  s->buffers = DeltaBuffers(net.shape(), capacity);
  s->feedback.emplace_back();
  s->before.emplace_back();
  for (int l = 1; l < net.num_layers(); ++l) {
    const auto& w = net.weight(l);
    // FA's stream and range: KP with decay 0 and a frozen optimizer is FA of the same seed.
    const float limit = scale_ * glorot_limit(w.cols(), w.rows());
    RandomStream layer_rng = rng.child({static_cast<std::uint64_t>(l)});
    s->feedback.push_back(uniform_matrix(w.cols(), w.rows(), layer_rng, -limit, limit));
    s->before.push_back(w);
  }
  if (net.front_end()) {   // B_0 and the kernels start as feedback alignment's and learn the same way
    s->feedback[0] = random_dense_input_feedback(net, rng, scale_);
    s->before[0] = net.weight(0);
    s->front = random_front_feedback(net, rng, scale_);
    s->front_before = net.front_weights().weight;
  }
  return s;
}

Matrix& KolenPollack::feedback(RuleState& state, int layer) {
  return static_cast<KolenPollackState&>(state).feedback.at(static_cast<std::size_t>(layer));
}

std::optional<Matrix> KolenPollack::feedback_matrix(const RuleState& state, int layer) const {
  const auto& st = static_cast<const KolenPollackState&>(state);
  if (layer < 1 || layer >= static_cast<int>(st.feedback.size())) return std::nullopt;
  return st.feedback[static_cast<std::size_t>(layer)];
}

void KolenPollack::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<KolenPollackState&>(state);
  const int last = s.net.num_layers() - 1;
  feedback_gradient(s.net, s.cache, s.output_delta, st.feedback, st.buffers, out, &st.front);
  // W_l before the optimizer's step (same shape: a copy, no allocation).
  const int first = s.net.front_end() ? 0 : 1;
  for (int l = first; l <= last; ++l) st.before[static_cast<std::size_t>(l)] = s.net.weight(l);
  st.update_norm2 = 0.0;
  for (int l = first; l <= last; ++l)
    st.update_norm2 += out.dW[static_cast<std::size_t>(l)].cast<double>().squaredNorm();
  for (std::size_t k = 0; k < st.front.size(); ++k) {
    st.front_before[k] = s.net.front_weights().weight[k];
    st.update_norm2 += out.front.weight[k].cast<double>().squaredNorm();
  }
  st.pending = true;
}

void KolenPollack::after_update(Mlp& net, RuleState& state) const {
  auto& st = static_cast<KolenPollackState&>(state);
  if (!st.pending) return;   // nothing was computed since the last mirror (no step to copy)
  st.pending = false;
  // ΔB_l = (ΔW_l)ᵀ: the step the optimizer just gave W_l, whatever its η, schedule or moments.
  double step_norm2 = 0.0;
  const int first = net.front_end() ? 0 : 1;
  for (int l = first; l < net.num_layers(); ++l) {
    const auto li = static_cast<std::size_t>(l);
    auto step = net.weight(l) - st.before[li];
    step_norm2 += step.cast<double>().squaredNorm();
    st.feedback[li].noalias() += step.transpose();
  }
  auto& conv = net.front_weights().weight;
  for (std::size_t k = 0; k < st.front.size(); ++k) {   // a kernel's ΔB is ΔW itself (same shape)
    auto step = conv[k] - st.front_before[k];
    step_norm2 += step.cast<double>().squaredNorm();
    st.front[k].noalias() += step;
  }
  if (decay_ == 0.0f || st.update_norm2 == 0.0) return;
  // The step size the optimizer used, η_t = ‖ΔW‖/‖update‖ (exactly lr·schedule for SGD; for
  // momentum and Adam their effective rate), so that the decay is λη_t as in −ηλW and fades
  // with the schedule instead of shrinking the weights once learning has stopped.
  const double eta = std::sqrt(step_norm2 / st.update_norm2);
  const auto factor = static_cast<float>(std::max(0.0, 1.0 - static_cast<double>(decay_) * eta));
  for (int l = first; l < net.num_layers(); ++l) {
    net.weight(l) *= factor;
    st.feedback[static_cast<std::size_t>(l)] *= factor;
  }
  for (std::size_t k = 0; k < st.front.size(); ++k) {
    conv[k] *= factor;
    st.front[k] *= factor;
  }
}

}  // namespace plast
