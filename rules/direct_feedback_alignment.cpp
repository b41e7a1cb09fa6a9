#include "rules/direct_feedback_alignment.hpp"

#include "lib/error.hpp"
#include "lib/random_matrix.hpp"

namespace plast {
namespace {

struct DfaState final : RuleState {
  std::vector<Matrix> feedback;   // feedback[l] = D_l for hidden layers l < L−1
  std::vector<Matrix> front;      // a front end's convolutions: D_k, (its output size) × n_out
  std::vector<Matrix> front_delta;   // δ_k of convolution k, capacity × its output size
  Matrix columns;                 // im2col scratch of the largest convolution
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
  if (const FrontEnd* f = net.front_end()) {
    if (given_) throw Error("rule direct_feedback_alignment: given feedback matrices do not cover a student's front end");
    for (int k = 0; k < f->num_convs(); ++k) {
      const int size = f->conv_node(k).out.size();
      const float limit = scale_ * glorot_limit(size, out);
      RandomStream r = rng.child({Mlp::kFrontKey, static_cast<std::uint64_t>(k)});
      s->front.push_back(uniform_matrix(size, out, r, -limit, limit));
      s->front_delta.emplace_back(capacity, size);
    }
    s->columns = FrontCache(*f, 0).columns;   // sized for the largest convolution's chunk
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
  if (shape.front)
    for (int k = 0; k < shape.front->num_convs(); ++k) {
      const auto& node = shape.front->conv_node(k);
      flops += 2.0 * batch * node.out.size() * (out + shape.front->conv_cols(k));   // e D_kᵀ and δᵀ·im2col
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
  // A front end: every convolution receives the output error through its own D_k as well.
  if (const FrontEnd* f = s.net.front_end())
    for (int k = 0; k < f->num_convs(); ++k) {
      const auto uk = static_cast<std::size_t>(k);
      const FrontNode& node = f->conv_node(k);
      const auto i = static_cast<std::size_t>(f->conv_node_index(k));
      auto delta = st.front_delta[uk].topRows(n);
      delta.noalias() = s.output_delta * st.front[uk].transpose();
      multiply_by_derivative(node.spec.activation, s.cache.front().z[i].topRows(n), s.cache.front().out[i].topRows(n),
                             delta);
      conv_weight_gradient(node, node_input(node, s.cache.image(), s.cache.front(), n), delta, st.columns,
                           out.front.weight[uk], out.front.bias[uk]);
    }
}

}  // namespace plast
