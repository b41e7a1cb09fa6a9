#include "rules/synthetic_gradients.hpp"

#include <stdexcept>

#include "lib/random_matrix.hpp"

namespace plast {
namespace {

struct SyntheticGradientsState final : RuleState {
  // Indexed by the hidden activity j = 1 … L−1; entry 0 is empty (the input has no module).
  std::vector<SyntheticGradients::Module> modules;
  std::vector<Matrix> signal;   // capacity × n_j: the prediction ĝ_j, then ĝ_j ⊙ f'(z_{j−1})
  std::vector<Matrix> target;   // capacity × n_j: g_j, the target M_j regresses
  std::vector<Matrix> used;     // capacity × n_j: the prediction before the step (fresh = 0)
  std::vector<double> loss, target_energy;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<SyntheticGradientsState>(*this); }
};

// ĝ = h A + b (+ y C), written into `out` (n × n_j) without allocating.
void predict(const SyntheticGradients::Module& m, const Eigen::Ref<const Matrix>& h,
             const Eigen::Ref<const Matrix>& y, bool conditional, Eigen::Ref<Matrix> out) {
  out.noalias() = h * m.a;
  if (conditional) out.noalias() += y * m.c;
  out.rowwise() += m.bias;
}

}  // namespace

std::vector<ParamSpec> SyntheticGradients::params() {
  return {{"lr", 1.0, 0.0, 100.0,
           "module learning rate: the NLMS fraction of the batch error removed per step (stable in (0, 2)); "
           "the plain SGD step when normalized = 0"},
          {"conditional", 0, 0, 1, "1: cDNI, the modules also read the target y (Jaderberg et al. 2017, sec. 3.2)", true},
          {"init_scale", 0.0, 0.0, 10.0, "module weights ~ U(+-init_scale*glorot); 0: zeros, as in the paper"},
          {"normalized", 1, 0, 1, "1: NLMS step lr / mean ||[h, y, 1]||^2; 0: plain SGD step lr", true},
          {"fresh", 1, 0, 1, "1: a module steps on the batch's target before the layer below reads it; "
           "0: the layer below reads the prediction made before the step (DNI's order)", true}};
}

SyntheticGradients::Options SyntheticGradients::options(const ParamValues& p) {
  Options o;
  o.lr = static_cast<float>(p.at("lr"));
  o.conditional = p.at("conditional") != 0;
  o.init_scale = static_cast<float>(p.at("init_scale"));
  o.normalized = p.at("normalized") != 0;
  o.fresh = p.at("fresh") != 0;
  return o;
}

std::unique_ptr<RuleState> SyntheticGradients::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  auto s = std::make_unique<SyntheticGradientsState>();
  const int last = net.num_layers() - 1;
  const int outputs = net.output_size();
  s->modules.resize(static_cast<std::size_t>(last) + 1);
  s->signal.resize(static_cast<std::size_t>(last) + 1);
  s->target.resize(static_cast<std::size_t>(last) + 1);
  s->used.resize(static_cast<std::size_t>(last) + 1);
  s->loss.assign(static_cast<std::size_t>(last) + 1, 0.0);
  s->target_energy.assign(static_cast<std::size_t>(last) + 1, 0.0);
  for (int j = 1; j <= last; ++j) {
    const int width = net.shape().sizes[static_cast<std::size_t>(j)];
    auto& m = s->modules[static_cast<std::size_t>(j)];
    RandomStream module_rng = rng.child({static_cast<std::uint64_t>(j)});
    if (o_.init_scale > 0.0f) {
      const float limit = o_.init_scale * glorot_limit(width, width);
      m.a = uniform_matrix(width, width, module_rng, -limit, limit);
    } else {
      m.a = Matrix::Zero(width, width);
    }
    if (o_.conditional) {
      if (o_.init_scale > 0.0f) {
        const float limit = o_.init_scale * glorot_limit(outputs, width);
        m.c = uniform_matrix(outputs, width, module_rng, -limit, limit);
      } else {
        m.c = Matrix::Zero(outputs, width);
      }
    }
    m.bias = RowVector::Zero(width);
    s->signal[static_cast<std::size_t>(j)] = Matrix::Zero(capacity, width);
    s->target[static_cast<std::size_t>(j)] = Matrix::Zero(capacity, width);
    if (!o_.fresh) s->used[static_cast<std::size_t>(j)] = Matrix::Zero(capacity, width);
  }
  return s;
}

SyntheticGradients::Module& SyntheticGradients::module(RuleState& state, int activity) {
  auto& st = static_cast<SyntheticGradientsState&>(state);
  if (activity < 1) throw std::out_of_range("synthetic_gradients: no module below the first hidden activity");
  return st.modules.at(static_cast<std::size_t>(activity));
}

double SyntheticGradients::module_loss(const RuleState& state, int activity) {
  const auto& st = static_cast<const SyntheticGradientsState&>(state);
  if (activity < 1) throw std::out_of_range("synthetic_gradients: no module below the first hidden activity");
  return st.loss.at(static_cast<std::size_t>(activity));
}

double SyntheticGradients::module_relative_loss(const RuleState& state, int activity) {
  const auto& st = static_cast<const SyntheticGradientsState&>(state);
  const double loss = module_loss(state, activity);
  const double energy = st.target_energy.at(static_cast<std::size_t>(activity));
  return energy > 0.0 ? loss / energy : (loss > 0.0 ? 1.0 : 0.0);
}

double SyntheticGradients::update_flops(const MlpShape& shape, int batch) const {
  // Backprop's count covers every δᵀh and the targets' products (δ_out W_{L−1}, D_{j+1} W_j,
  // the same shapes as backprop's δ W). Each module adds a prediction and a step (and, when
  // fresh, a second prediction), each a product of the batch with A (n_j²) and, for cDNI, with
  // C (n_out·n_j).
  const double products = o_.fresh ? 3.0 : 2.0;
  double modules = 0.0;
  const double outputs = shape.sizes.back();
  for (int j = 1; j < shape.num_layers(); ++j) {
    const double width = shape.sizes[static_cast<std::size_t>(j)];
    modules += products * 2.0 * batch * width * (width + (o_.conditional ? outputs : 0.0));
  }
  return backprop_update_flops(shape, batch) + modules;
}

void SyntheticGradients::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<SyntheticGradientsState&>(state);
  const int n = s.cache.rows();
  const int last = s.net.num_layers() - 1;
  const float inv_n = 1.0f / static_cast<float>(n);
  // cDNI reads the target; a rule handed no target of the output's width (none exists) cannot.
  const bool conditional = o_.conditional && s.target.cols() == s.net.output_size() && s.target.rows() == n;
  // The output layer learns from the true error.
  layer_gradient(s.cache, last, s.output_delta, out);
  // From the top module down: its target, its prediction loss, its step, then the layer below.
  for (int j = last; j >= 1; --j) {
    const auto ji = static_cast<std::size_t>(j);
    auto h = s.cache.h(j);
    auto target = st.target[ji].topRows(n);
    auto signal = st.signal[ji].topRows(n);
    if (j == last) {
      // The true per-sample gradient ∂ℓ/∂h_{L−1} = B · δ_out W_{L−1} (δ_out carries 1/B).
      target.noalias() = (static_cast<float>(n) * s.output_delta) * s.net.weight(last);
    } else {
      // Bootstrapped: M_{j+1}'s prediction carried down through layer j, (ĝ_{j+1} ⊙ f'(z_j)) W_j.
      target.noalias() = st.signal[ji + 1].topRows(n) * s.net.weight(j);
    }
    auto& m = st.modules[ji];
    predict(m, h, s.target, conditional, signal);
    if (!o_.fresh) {
      // DNI's order: the layer below reads the prediction made before the module's step.
      auto used = st.used[ji].topRows(n);
      used = signal;
    }
    signal -= target;   // the prediction error ĝ − g
    st.loss[ji] = 0.5 * signal.cast<double>().squaredNorm() / n;
    st.target_energy[ji] = 0.5 * target.cast<double>().squaredNorm() / n;
    if (o_.lr > 0.0f) {
      double step = o_.lr;
      if (o_.normalized) {
        // NLMS: divide by the mean squared norm of the module's input x = [h, y, 1].
        double input_norm2 = 1.0 + h.cast<double>().squaredNorm() / n;
        if (conditional) input_norm2 += s.target.cast<double>().squaredNorm() / n;
        step /= input_norm2;
      }
      const auto rate = static_cast<float>(step) * inv_n;
      m.a.noalias() -= (rate * h.transpose()) * signal;
      if (conditional) m.c.noalias() -= (rate * s.target.transpose()) * signal;
      m.bias.noalias() -= rate * signal.colwise().sum();
    }
    // The freshly trained module's prediction drives the layer below: δ_{j−1} = (ĝ_j/B) ⊙ f'(z_{j−1}).
    if (o_.fresh) {
      predict(m, h, s.target, conditional, signal);
    } else {
      signal = st.used[ji].topRows(n);
    }
    multiply_by_derivative(s.net.activation(j - 1), s.cache.z(j - 1), h, signal);
    layer_gradient(s.cache, j - 1, signal, out);
    out.dW[ji - 1] *= inv_n;
    out.db[ji - 1] *= inv_n;
  }
}

}  // namespace plast
