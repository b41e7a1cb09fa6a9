#include "rules/learned_feedback.hpp"

#include <string>

#include "lib/error.hpp"

namespace plast {
namespace {

struct LearnedFeedbackState final : RuleState {
  explicit LearnedFeedbackState(RandomStream r) : rng(r) {}
  RandomStream rng;                    // ε of every step, drawn layer by layer in storage order
  std::vector<Matrix> feedback;        // layer to layer: feedback[l] = B_l (l ≥ 1); feedback[0] empty
  std::unique_ptr<RuleState> direct;   // direct: DirectFeedbackAlignment's state, which holds D_l
  DeltaBuffers buffers;                // layer to layer: δ_l of the backward pass through B
  std::vector<Matrix> z, h;            // the noisy pass: z[l] = z̃_l, h[l] = h̃_{l+1} (noise included)
  std::vector<Matrix> noise;           // noise[k]: capacity × n_k, ε_k of hidden activity h_k (k ≥ 1)
  std::vector<Matrix> estimate;        // estimate[k] = λ̂_k, capacity × n_k
  std::vector<Matrix> residual;        // residual[k] = B e − λ̂ (per sample, unscaled), capacity × n_k
  Eigen::VectorXf coefficient;         // per sample: (L_n(ξ) − L_n) / σ
  // A front end (lib/front_end.hpp): B_0 is feedback[0]; each convolution k sends its error down
  // through the kernel front[k]. The noisy pass runs the front end again with noise on every
  // node output that a weight layer reads (the inputs of convolutions, and the last node, h_0).
  std::vector<Matrix> front;
  FrontCache noisy_front;
  Matrix noisy_features;                    // h̃_0
  std::vector<Matrix> front_noise;          // per node: ε (empty where no noise is added)
  std::vector<Matrix> front_residual;       // per noisy node: λ̂, then n·col2im(δ_k B_k) − λ̂
  Matrix columns;                           // im2col scratch
  FrontWeights step;                        // each kernel's ΔB (and an unused bias row)

  std::unique_ptr<RuleState> clone() const override {
    auto c = std::make_unique<LearnedFeedbackState>(rng);
    c->feedback = feedback;
    c->direct = direct ? direct->clone() : nullptr;
    c->buffers = buffers;
    c->z = z;
    c->h = h;
    c->noise = noise;
    c->estimate = estimate;
    c->residual = residual;
    c->coefficient = coefficient;
    c->front = front;
    c->noisy_front = noisy_front;
    c->noisy_features = noisy_features;
    c->front_noise = front_noise;
    c->front_residual = front_residual;
    c->columns = columns;
    c->step = step;
    return c;
  }
};

}  // namespace

std::vector<ParamSpec> LearnedFeedback::params() {
  return {{"sigma", 0.05, 1e-6, 10.0, "standard deviation of the noise xi ~ N(0, sigma^2) on every hidden activity"},
          {"beta", 0.05, 0.0, 1e4,
           "learning rate of the feedback: dB = -beta mean_n (B e_n - lambda_n) e_n^T, lambda = dL xi / sigma^2"},
          {"scale", 1.0, 0.0, 100.0, "initial feedback entries ~ U(+-scale*glorot), as feedback_alignment / DFA"},
          {"normalize", 0, 0, 1, "1: divide each layer's step by the batch mean of |e_n|^2 (normalized LMS, "
                                 "stable for beta < 2); 0: plain SGD as in the paper", true},
          {"topology", 0, 0, 1, "0: layer to layer, B_l in place of W_l^T (FA); 1: direct, output error to "
                                "every hidden layer through D_l (DFA)", true}};
}

LearnedFeedback::Options LearnedFeedback::options(const ParamValues& p) {
  Options o;
  o.sigma = static_cast<float>(p.at("sigma"));
  o.beta = static_cast<float>(p.at("beta"));
  o.scale = static_cast<float>(p.at("scale"));
  o.normalize = p.at("normalize") != 0;
  o.topology = p.at("topology") != 0 ? Topology::direct : Topology::layer_to_layer;
  return o;
}

std::unique_ptr<RuleState> LearnedFeedback::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  // The noise has its own child stream; the feedback matrices are drawn from `rng` itself,
  // exactly as feedback_alignment or direct_feedback_alignment draw theirs.
  auto s = std::make_unique<LearnedFeedbackState>(rng.child({~std::uint64_t{0}}));
  const int layers = net.num_layers();
  if (o_.topology == Topology::direct) {
    s->direct = dfa_.make_state(net, capacity, rng);
  } else {
    auto fa = fa_.make_state(net, capacity, rng);
    s->feedback.emplace_back();
    for (int l = 1; l < layers; ++l) s->feedback.push_back(std::move(FeedbackAlignment::feedback(*fa, l)));
    s->buffers = DeltaBuffers(net.shape(), capacity);
  }
  for (int l = 0; l < layers; ++l) {
    const auto units = net.weight(l).rows();
    s->z.emplace_back(capacity, units);
    s->h.emplace_back(capacity, units);
  }
  s->noise.emplace_back();
  s->estimate.emplace_back();
  s->residual.emplace_back();
  for (int k = 1; k < layers; ++k) {
    const auto units = net.weight(k).cols();
    s->noise.emplace_back(capacity, units);
    s->estimate.emplace_back(capacity, units);
    s->residual.emplace_back(capacity, units);
  }
  s->coefficient = Eigen::VectorXf::Zero(capacity);
  if (const FrontEnd* f = net.front_end()) {
    if (o_.topology == Topology::direct)
      throw Error("rule learned_feedback: topology 1 (direct) does not train a front end's layers; use topology 0");
    s->feedback[0] = random_dense_input_feedback(net, rng, o_.scale);
    s->front = random_front_feedback(net, rng, o_.scale);
    s->noisy_front = FrontCache(*f, capacity);
    s->noisy_features.resize(capacity, f->output().size());
    const auto& nodes = f->nodes();
    std::vector<bool> noisy(nodes.size(), false);
    noisy.back() = true;
    for (int k = 0; k < f->num_convs(); ++k)
      if (f->conv_node(k).inputs[0] >= 0) noisy[static_cast<std::size_t>(f->conv_node(k).inputs[0])] = true;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      s->front_noise.push_back(noisy[i] ? Matrix(capacity, nodes[i].out.size()) : Matrix());
      s->front_residual.push_back(noisy[i] ? Matrix(capacity, nodes[i].out.size()) : Matrix());
    }
    s->columns = s->noisy_front.columns;
    s->step = net.front_weights();
  }
  return s;
}

Matrix& LearnedFeedback::feedback(RuleState& state, int layer) {
  auto& st = static_cast<LearnedFeedbackState&>(state);
  if (st.direct) return DirectFeedbackAlignment::feedback(*st.direct, layer);
  return st.feedback.at(static_cast<std::size_t>(layer));
}

const Matrix& LearnedFeedback::error_estimate(const RuleState& state, int k) {
  return static_cast<const LearnedFeedbackState&>(state).estimate.at(static_cast<std::size_t>(k));
}

std::optional<Matrix> LearnedFeedback::feedback_matrix(const RuleState& state, int layer) const {
  const auto& st = static_cast<const LearnedFeedbackState&>(state);
  if (st.direct || layer < 1 || layer >= static_cast<int>(st.feedback.size())) return std::nullopt;
  return st.feedback[static_cast<std::size_t>(layer)];
}

double LearnedFeedback::update_flops(const MlpShape& shape, int batch) const {
  const int layers = shape.num_layers();
  const double out = shape.sizes.back();
  double regression = 0.0;   // B e and (B e − λ̂)ᵀ e for every hidden activity h_k
  for (int k = 1; k < layers; ++k)
    regression += 4.0 * batch * shape.sizes[k] * (o_.topology == Topology::direct ? out : shape.sizes[k + 1]);
  const double forward_update =
      o_.topology == Topology::direct ? dfa_.update_flops(shape, batch) : backprop_update_flops(shape, batch);
  return forward_update + forward_flops(shape, batch) + regression;
}

void LearnedFeedback::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  if (!s.loss) throw Error("learned_feedback: needs the task's loss (control tasks have none)");
  auto& st = static_cast<LearnedFeedbackState&>(state);
  const int n = s.cache.rows();
  const int layers = s.net.num_layers();

  // The forward weights' update, through the feedback as it stands (FA's or DFA's pass).
  if (st.direct)
    dfa_.compute_update(s, *st.direct, out);
  else
    feedback_gradient(s.net, s.cache, s.output_delta, st.feedback, st.buffers, out, &st.front);

  // A front end's noisy pass: ξ = σ ε on the outputs of the nodes the weights read.
  const FrontEnd* front = s.net.front_end();
  if (front)
    front_forward(*front, s.net.front_weights(), s.cache.image(), st.noisy_front, st.noisy_features.topRows(n),
                  [&st, this](std::size_t i, Eigen::Ref<Matrix> activity) {
                    if (st.front_noise[i].size() == 0) return;
                    auto noise = st.front_noise[i].topRows(activity.rows());
                    for (Eigen::Index r = 0; r < noise.rows(); ++r)
                      for (Eigen::Index c = 0; c < noise.cols(); ++c) noise(r, c) = st.rng.normal();
                    activity += o_.sigma * noise;
                  });

  // The noisy pass: ξ_k = σ ε_k on every hidden activity h̃_k, the output unperturbed.
  for (int l = 0; l < layers; ++l) {
    auto z = st.z[l].topRows(n);
    if (l == 0)
      z.noalias() = (front ? Eigen::Ref<const Matrix>(st.noisy_features.topRows(n)) : Eigen::Ref<const Matrix>(s.cache.h(0))) *
                    s.net.weight(l).transpose();
    else
      z.noalias() = st.h[l - 1].topRows(n) * s.net.weight(l).transpose();
    z.rowwise() += s.net.bias(l);
    auto h = st.h[l].topRows(n);
    activate(s.net.activation(l), z, h);
    if (l + 1 == layers) break;
    auto noise = st.noise[l + 1].topRows(n);
    for (Eigen::Index r = 0; r < noise.rows(); ++r)
      for (Eigen::Index c = 0; c < noise.cols(); ++c) noise(r, c) = st.rng.normal();
    h += o_.sigma * noise;
  }

  // λ̂_{k,n} = (L_n(ξ) − L_n) ξ_{k,n} / σ² = ((L_n(ξ) − L_n) / σ) ε_{k,n}.
  const auto noisy_z = st.z[layers - 1].topRows(n), noisy_h = st.h[layers - 1].topRows(n);
  const auto clean_z = s.cache.logits(), clean_h = s.cache.output();
  for (int r = 0; r < n; ++r) {
    const double noisy = loss_value(*s.loss, noisy_z.middleRows(r, 1), noisy_h.middleRows(r, 1), s.target.middleRows(r, 1));
    const double clean = loss_value(*s.loss, clean_z.middleRows(r, 1), clean_h.middleRows(r, 1), s.target.middleRows(r, 1));
    st.coefficient(r) = static_cast<float>((noisy - clean) / static_cast<double>(o_.sigma));
  }

  // The regression of λ̂_k on the error e_k reaching h_k. The deltas carry the batch mean's
  // 1/n (e_n = n δ_n), so with R_n = n δ_n Bᵀ − λ̂_n the batch mean
  // (1/n) Σ_n (B e_n − λ̂_n) e_nᵀ is Σ_n R_nᵀ δ_n = Rᵀ δ.
  const float rows = static_cast<float>(n);
  for (int k = 1; k < layers; ++k) {
    const auto ki = static_cast<std::size_t>(k);
    auto lambda = st.estimate[ki].topRows(n);
    lambda = st.noise[ki].topRows(n);
    lambda.array().colwise() *= st.coefficient.head(n).array();
    if (o_.beta == 0.0f) continue;
    // Layer to layer: B_k and δ_k; direct: D_{k−1} and the output error.
    Matrix& b = st.direct ? DirectFeedbackAlignment::feedback(*st.direct, k - 1) : st.feedback[ki];
    const Eigen::Ref<const Matrix> delta =
        st.direct ? Eigen::Ref<const Matrix>(s.output_delta) : Eigen::Ref<const Matrix>(st.buffers.delta[ki].topRows(n));
    float rate = o_.beta;
    if (o_.normalize) {   // divide by the batch mean of ‖e_n‖² = n ‖δ‖²_F (normalized LMS)
      const float power = rows * delta.squaredNorm();
      if (!(power > 0.0f)) continue;   // no error reaches this layer: nothing to regress
      rate /= power;
    }
    auto residual = st.residual[ki].topRows(n);
    residual.noalias() = delta * b.transpose();
    residual = rows * residual - lambda;
    b.noalias() -= rate * (residual.transpose() * delta);
  }
  if (front && o_.beta != 0.0f) regress_front(s, st);
}

void LearnedFeedback::regress_front(const StepSignals& s, RuleState& state) const {
  auto& st = static_cast<LearnedFeedbackState&>(state);
  const FrontEnd& front = *s.net.front_end();
  const int n = s.cache.rows();
  const float rows = static_cast<float>(n);
  auto lambda_of = [&](std::size_t node) {   // λ̂ at a noisy node, written into its residual buffer
    auto r = st.front_residual[node].topRows(n);
    r = st.front_noise[node].topRows(n);
    r.array().colwise() *= st.coefficient.head(n).array();
    return r;
  };
  auto rate_for = [&](const Eigen::Ref<const Matrix>& delta) {
    if (!o_.normalize) return o_.beta;
    const float power = rows * delta.squaredNorm();
    return power > 0.0f ? o_.beta / power : 0.0f;
  };
  // B_0: λ̂ at h_0 (the last node) on δ_0, as every B_k of the dense layers.
  {
    const std::size_t last = front.nodes().size() - 1;
    auto lambda = lambda_of(last);
    const auto delta = st.buffers.delta[0].topRows(n);
    Matrix& b = st.feedback[0];
    const float rate = rate_for(delta);
    auto residual = st.noisy_features.topRows(n);   // free once the noisy pass is scored
    residual.noalias() = delta * b.transpose();
    residual = rows * residual - lambda;
    b.noalias() -= rate * (residual.transpose() * delta);
  }
  // Each convolution k reading a node u: λ̂_u on δ_k, through col2im: R = n·col2im(δ_k B_k) − λ̂_u,
  // ΔB_k = −rate Σ δ_kᵀ im2col(R) (the gradient of ½‖col2im(δ_k B_k) − λ̂_u/n‖² up to the 1/n convention).
  for (int k = 0; k < front.num_convs(); ++k) {
    const FrontNode& node = front.conv_node(k);
    const int u = node.inputs[0];
    if (u < 0) continue;   // nothing is below the image
    const auto uu = static_cast<std::size_t>(u);
    const auto delta = st.buffers.front.error[static_cast<std::size_t>(front.conv_node_index(k))].topRows(n);
    auto residual = lambda_of(uu);
    residual = -residual;
    Matrix& b = st.front[static_cast<std::size_t>(k)];
    Matrix& step = st.step.weight[static_cast<std::size_t>(k)];
    // n·col2im(δ B) added onto −λ̂, the factor n carried by the kernel.
    step = rows * b;
    conv_input_error(node, delta, step, st.columns, residual);
    const float rate = rate_for(delta);
    conv_weight_gradient(node, residual, delta, st.columns, step, st.step.bias[static_cast<std::size_t>(k)]);
    b.noalias() -= rate * step;
  }
}

}  // namespace plast
