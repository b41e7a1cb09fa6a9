#include "rules/direct_feedback_alignment.hpp"

#include "lib/error.hpp"
#include "lib/random_matrix.hpp"

namespace plast {
namespace {

struct DfaState final : RuleState {
  std::vector<Matrix> feedback;   // feedback[l] = D_l for hidden layers l < L−1
  DeltaBuffers buffers;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<DfaState>(*this); }
};

}  // namespace

std::vector<ParamSpec> DirectFeedbackAlignment::params() {
  return {{"scale", 1.0, 0.0, 100.0, "D_l entries ~ U(±scale·glorot(n_l+1, n_out))"}};
}

std::unique_ptr<RuleState> DirectFeedbackAlignment::make_state(const Mlp& net, int capacity,
                                                               RandomStream rng) const {
  auto s = std::make_unique<DfaState>();
  s->buffers = DeltaBuffers(net.shape(), capacity);
  const int out = net.output_size();
  for (int l = 0; l + 1 < net.num_layers(); ++l) {
    const int width = static_cast<int>(net.weight(l).rows());
    if (given_) {
      const Matrix& d = given_->at(static_cast<std::size_t>(l));
      if (d.rows() != width || d.cols() != out)
        throw Error("rule direct_feedback_alignment: given D_" + std::to_string(l) + " is " + std::to_string(d.rows()) +
                    "×" + std::to_string(d.cols()) + ", the student needs " + std::to_string(width) + "×" +
                    std::to_string(out));
      s->feedback.push_back(d);
      continue;
    }
    const float limit = scale_ * glorot_limit(width, out);
    RandomStream layer_rng = rng.child({static_cast<std::uint64_t>(l)});
    s->feedback.push_back(uniform_matrix(width, out, layer_rng, -limit, limit));
  }
  return s;
}

double DirectFeedbackAlignment::update_flops(const MlpShape& shape, int batch) const {
  const double out = shape.sizes.back();
  double flops = 0.0;
  for (int l = 0; l < shape.num_layers(); ++l) {
    flops += 2.0 * batch * shape.sizes[l] * shape.sizes[l + 1];          // dW_l = δ_lᵀ h_l
    if (l + 1 < shape.num_layers()) flops += 2.0 * batch * out * shape.sizes[l + 1];  // e D_lᵀ
  }
  return flops;
}

Matrix& DirectFeedbackAlignment::feedback(RuleState& state, int layer) {
  return static_cast<DfaState&>(state).feedback.at(static_cast<std::size_t>(layer));
}

void DirectFeedbackAlignment::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<DfaState&>(state);
  const int n = s.cache.rows();
  const int last = s.net.num_layers() - 1;
  layer_gradient(s.cache, last, s.output_delta, out);
  for (int l = 0; l < last; ++l) {
    auto delta = st.buffers.delta[l].topRows(n);
    delta.noalias() = s.output_delta * st.feedback[l].transpose();
    multiply_by_derivative(s.net.activation(l), s.cache.z(l), s.cache.h(l + 1), delta);
    layer_gradient(s.cache, l, delta, out);
  }
}

}  // namespace plast
