#include "rules/sign_symmetry.hpp"

#include "lib/error.hpp"

namespace plast {
namespace {

struct SignSymmetryState final : RuleState {
  // transposed[l] = B_lᵀ, W_l's shape (n_{l+1} × n_l), so that δ_l B_lᵀ is the plain product
  // δ_l · transposed[l] and building it reads W_l in storage order. transposed[0] is empty.
  std::vector<Matrix> transposed;
  std::vector<Matrix> magnitude;   // frSF: M_l, W_l's shape, drawn once; empty otherwise
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

void SignSymmetry::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<SignSymmetryState&>(state);
  const int n = s.cache.rows();
  const int last = s.net.num_layers() - 1;
  st.buffers.delta[last].topRows(n) = s.output_delta;
  for (int l = last; l >= 0; --l) {
    auto delta = st.buffers.delta[l].topRows(n);
    layer_gradient(s.cache, l, delta, out);
    if (l == 0) break;
    // B_lᵀ from the weights as they are now: the signs follow W_l at every step.
    const Matrix& w = s.net.weight(l);
    Matrix& bt = st.transposed[static_cast<std::size_t>(l)];
    const float c = scale_ * mean_magnitude(w);
    switch (variant_) {
      case Variant::uniform: bt = c * w.cwiseSign(); break;
      case Variant::fixed_random: bt = c * w.cwiseSign().cwiseProduct(st.magnitude[static_cast<std::size_t>(l)]); break;
      case Variant::batch_random: {
        RandomStream draw = st.rng.child({static_cast<std::uint64_t>(l), s.step});
        const float* wp = w.data();
        float* bp = bt.data();
        for (Eigen::Index i = 0; i < bt.size(); ++i) {
          const float sign = wp[i] > 0.0f ? 1.0f : (wp[i] < 0.0f ? -1.0f : 0.0f);
          bp[i] = c * sign * draw.uniform(0.0f, 2.0f);
        }
        break;
      }
    }
    auto below = st.buffers.delta[l - 1].topRows(n);
    below.noalias() = delta * bt;
    multiply_by_derivative(s.net.activation(l - 1), s.cache.z(l - 1), s.cache.h(l), below);
  }
}

}  // namespace plast
