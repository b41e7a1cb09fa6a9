#include "rules/sign_symmetry.hpp"

#include "lib/error.hpp"

namespace plast {
namespace {

struct SignSymmetryState final : RuleState {
  // transposed[l] = B_lᵀ, W_l's shape (n_{l+1} × n_l), so that δ_l B_lᵀ is the plain product
  // δ_l · transposed[l] and building it reads W_l in storage order. transposed[0] is empty.
  std::vector<Matrix> transposed;
  std::vector<Matrix> magnitude;   // frSF: M_l, W_l's shape, drawn once; empty otherwise
  std::vector<Matrix> front;            // a front end's kernels, built like B_lᵀ from its weights
  std::vector<Matrix> front_magnitude;  // frSF: M of each convolution
  RandomStream rng;                // brSF: M_l of step t comes from rng.child({l, t})
  DeltaBuffers buffers;
  explicit SignSymmetryState(RandomStream r) : rng(r) {}
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<SignSymmetryState>(*this); }
};

// mean |W| in double: a float sum over 10⁵ entries would lose the last digits to the order.
float mean_magnitude(const Matrix& w) {
  return w.size() == 0 ? 0.0f : static_cast<float>(w.cwiseAbs().cast<double>().sum() / static_cast<double>(w.size()));
}

}  // namespace

std::string SignSymmetry::name_of(Variant variant) {
  switch (variant) {
    case Variant::uniform: return "usf";
    case Variant::batch_random: return "brsf";
    case Variant::fixed_random: return "frsf";
  }
  throw Error("unknown sign-symmetry variant");
}

std::string SignSymmetry::name() const { return name_of(variant_); }

std::vector<ParamSpec> SignSymmetry::params() {
  return {{"scale", 1.0, 0.0, 100.0, "B_l = scale * mean|W_l| * sign(W_l)^T (times |R| ~ U(0,2) for brsf/frsf)"}};
}

std::unique_ptr<RuleState> SignSymmetry::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  auto s = std::make_unique<SignSymmetryState>(rng);
  s->buffers = DeltaBuffers(net.shape(), capacity);
  s->transposed.emplace_back();
  s->magnitude.emplace_back();
  auto magnitude = [&](Eigen::Index rows, Eigen::Index cols, RandomStream r) {
    Matrix m(rows, cols);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = r.uniform(0.0f, 2.0f);
    return m;
  };
  if (const FrontEnd* f = net.front_end()) {
    const auto& w0 = net.weight(0);
    s->transposed[0].resize(w0.rows(), w0.cols());
    if (variant_ == Variant::fixed_random) s->magnitude[0] = magnitude(w0.rows(), w0.cols(), rng.child({0}));
    for (int k = 0; k < f->num_convs(); ++k) {
      s->front.emplace_back(f->conv_rows(k), f->conv_cols(k));
      s->front_magnitude.push_back(variant_ == Variant::fixed_random
                                       ? magnitude(f->conv_rows(k), f->conv_cols(k),
                                                   rng.child({Mlp::kFrontKey, static_cast<std::uint64_t>(k)}))
                                       : Matrix());
    }
  }
  for (int l = 1; l < net.num_layers(); ++l) {
    const auto& w = net.weight(l);
    s->transposed.emplace_back(w.rows(), w.cols());
    if (variant_ == Variant::fixed_random) {
      // The same stream as FA's B_l, so frSF and FA of one seed draw the same numbers.
      RandomStream layer_rng = rng.child({static_cast<std::uint64_t>(l)});
      Matrix m(w.rows(), w.cols());
      for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = layer_rng.uniform(0.0f, 2.0f);
      s->magnitude.push_back(std::move(m));
    } else {
      s->magnitude.emplace_back();
    }
  }
  return s;
}

Matrix SignSymmetry::feedback(const RuleState& state, int layer) {
  return static_cast<const SignSymmetryState&>(state).transposed.at(static_cast<std::size_t>(layer)).transpose();
}

std::optional<Matrix> SignSymmetry::feedback_matrix(const RuleState& state, int layer) const {
  const auto& st = static_cast<const SignSymmetryState&>(state);
  if (layer < 1 || layer >= static_cast<int>(st.transposed.size())) return std::nullopt;
  return feedback(state, layer);
}

void SignSymmetry::build(const Matrix& w, const Matrix& magnitude, const RandomStream& rng, std::uint64_t layer,
                         std::uint64_t step, Matrix& bt) const {
  const float c = scale_ * mean_magnitude(w);
  switch (variant_) {
    case Variant::uniform: bt = c * w.cwiseSign(); break;
    case Variant::fixed_random: bt = c * w.cwiseSign().cwiseProduct(magnitude); break;
    case Variant::batch_random: {
      RandomStream draw = rng.child({layer, step});
      const float* wp = w.data();
      float* bp = bt.data();
      for (Eigen::Index i = 0; i < bt.size(); ++i) {
        const float sign = wp[i] > 0.0f ? 1.0f : (wp[i] < 0.0f ? -1.0f : 0.0f);
        bp[i] = c * sign * draw.uniform(0.0f, 2.0f);
      }
      break;
    }
  }
}

void SignSymmetry::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<SignSymmetryState&>(state);
  const int n = s.cache.rows();
  const int last = s.net.num_layers() - 1;
  st.buffers.delta[last].topRows(n) = s.output_delta;
  for (int l = last; l >= 0; --l) {
    auto delta = st.buffers.delta[l].topRows(n);
    layer_gradient(s.cache, l, delta, out);
    const FrontEnd* front = s.net.front_end();
    if (l == 0 && !front) break;
    // B_lᵀ from the weights as they are now: the signs follow W_l at every step.
    const auto ul = static_cast<std::size_t>(l);
    build(s.net.weight(l), st.magnitude[ul], st.rng, ul, s.step, st.transposed[ul]);
    if (l == 0) {   // into the front end, and through its convolutions with their own sign kernels
      auto feature_error = st.buffers.feature_error.topRows(n);
      feature_error.noalias() = delta * st.transposed[0];
      const auto& weights = s.net.front_weights().weight;
      for (std::size_t k = 0; k < weights.size(); ++k)
        build(weights[k], st.front_magnitude[k], st.rng, Mlp::kFrontKey + k, s.step, st.front[k]);
      front_backward(*front, s.cache.image(), s.cache.front(), feature_error, st.front, st.buffers.front, out.front);
      break;
    }
    auto below = st.buffers.delta[l - 1].topRows(n);
    below.noalias() = delta * st.transposed[ul];
    multiply_by_derivative(s.net.activation(l - 1), s.cache.z(l - 1), s.cache.h(l), below);
  }
}
}  // namespace plast
