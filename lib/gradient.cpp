#include "lib/gradient.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

#include "lib/random_matrix.hpp"

namespace plast {

Gradients Gradients::like(const Mlp& net) {
  Gradients g;
  for (int l = 0; l < net.num_layers(); ++l) {
    g.dW.push_back(Matrix::Zero(net.weight(l).rows(), net.weight(l).cols()));
    g.db.push_back(RowVector::Zero(net.bias(l).size()));
  }
  for (std::size_t k = 0; k < net.front_weights().weight.size(); ++k) {
    const auto& w = net.front_weights().weight[k];
    g.front.weight.push_back(Matrix::Zero(w.rows(), w.cols()));
    g.front.bias.push_back(RowVector::Zero(w.rows()));
  }
  return g;
}

void Gradients::set_zero() {
  for (auto& w : dW) w.setZero();
  for (auto& b : db) b.setZero();
  for (auto& w : front.weight) w.setZero();
  for (auto& b : front.bias) b.setZero();
}

bool Gradients::all_finite() const {
  for (std::size_t l = 0; l < dW.size(); ++l)
    if (!dW[l].allFinite() || !db[l].allFinite()) return false;
  for (std::size_t k = 0; k < front.weight.size(); ++k)
    if (!front.weight[k].allFinite() || !front.bias[k].allFinite()) return false;
  return true;
}

void layer_gradient(const ForwardCache& cache, int layer, const Eigen::Ref<const Matrix>& delta,
                    Gradients& out) {
  out.dW[layer].noalias() = delta.transpose() * cache.h(layer);
  out.db[layer] = delta.colwise().sum();
}

DeltaBuffers::DeltaBuffers(const MlpShape& shape, int capacity) {
  for (int l = 0; l < shape.num_layers(); ++l) delta.emplace_back(capacity, shape.sizes[l + 1]);
  if (shape.front) {
    feature_error.resize(capacity, shape.sizes[0]);
    front = FrontBuffers(*shape.front, capacity);
  }
}

std::vector<Matrix> random_front_feedback(const Mlp& net, RandomStream& rng, float scale) {
  std::vector<Matrix> kernels;
  const FrontEnd* f = net.front_end();
  if (!f) return kernels;
  for (int k = 0; k < f->num_convs(); ++k) {
    const int kk = f->conv_node(k).spec.kernel * f->conv_node(k).spec.kernel;
    const float limit = scale * glorot_limit(f->conv_cols(k), static_cast<Eigen::Index>(kk) * f->conv_rows(k));
    RandomStream r = rng.child({Mlp::kFrontKey, static_cast<std::uint64_t>(k)});
    kernels.push_back(uniform_matrix(f->conv_rows(k), f->conv_cols(k), r, -limit, limit));
  }
  return kernels;
}

Matrix random_dense_input_feedback(const Mlp& net, RandomStream& rng, float scale) {
  const auto& w = net.weight(0);
  const float limit = scale * glorot_limit(w.cols(), w.rows());
  RandomStream r = rng.child({0});
  return uniform_matrix(w.cols(), w.rows(), r, -limit, limit);
}

namespace {

// The backward pass shared by backprop and feedback alignment: only how δ_l reaches the layer
// below differs (`propagate(delta, below, l)` writes δ_l times W_l, or times B_lᵀ).
// With a front end, `propagate(delta, feature_error, 0)` carries δ_0 to the front end's output and
// `front_feedback` carries it on through the convolutions.
template <class Propagate>
void backward_pass(const Mlp& net, const ForwardCache& cache, const Eigen::Ref<const Matrix>& output_delta,
                   DeltaBuffers& buffers, Gradients& out, const std::vector<Matrix>* front_feedback,
                   Propagate propagate) {
  const int n = cache.rows();
  const int last = net.num_layers() - 1;
  buffers.delta[last].topRows(n) = output_delta;
  for (int l = last; l >= 0; --l) {
    auto delta = buffers.delta[l].topRows(n);
    layer_gradient(cache, l, delta, out);
    if (l == 0) {
      if (const FrontEnd* f = net.front_end()) {
        if (!front_feedback) throw std::logic_error("backward pass: a front end needs its feedback kernels");
        auto feature_error = buffers.feature_error.topRows(n);
        propagate(delta, feature_error, 0);
        front_backward(*f, cache.image(), cache.front(), feature_error, *front_feedback, buffers.front, out.front);
      }
      break;
    }
    auto below = buffers.delta[l - 1].topRows(n);
    propagate(delta, below, l);
    multiply_by_derivative(net.activation(l - 1), cache.z(l - 1), cache.h(l), below);
    // h_l = f(z_{l−1}) ⊙ m_l under dropout, so ∂h_l/∂z_{l−1} = f'(z_{l−1}) ⊙ m_l. (f' is read from
    // z for relu and linear, the only hidden units make_student allows with dropout.)
    if (cache.has_dropout()) below.array() *= cache.mask(l).topRows(n).array();
  }
}

}  // namespace

void backprop_gradient(const Mlp& net, const ForwardCache& cache,
                       const Eigen::Ref<const Matrix>& output_delta, DeltaBuffers& buffers,
                       Gradients& out) {
  backward_pass(net, cache, output_delta, buffers, out, &net.front_weights().weight,
                [&](const auto& delta, auto& below, int l) { below.noalias() = delta * net.weight(l); });
}

void feedback_gradient(const Mlp& net, const ForwardCache& cache, const Eigen::Ref<const Matrix>& output_delta,
                       const std::vector<Matrix>& feedback, DeltaBuffers& buffers, Gradients& out,
                       const std::vector<Matrix>* front_feedback) {
  backward_pass(net, cache, output_delta, buffers, out, front_feedback, [&](const auto& delta, auto& below, int l) {
    below.noalias() = delta * feedback[static_cast<std::size_t>(l)].transpose();
  });
}

double backprop_update_flops(const MlpShape& shape, int batch) {
  double flops = 0.0;
  for (int l = 0; l < shape.num_layers(); ++l) {
    const double layer = 2.0 * batch * shape.sizes[l] * shape.sizes[l + 1];
    flops += l > 0 || shape.front ? 2.0 * layer : layer;   // δᵀh, and δW above the first layer
  }
  if (shape.front) flops += shape.front->backward_flops(batch);
  return flops;
}

double forward_flops(const MlpShape& shape, int batch) {
  double flops = 0.0;
  for (int l = 0; l < shape.num_layers(); ++l) flops += 2.0 * batch * shape.sizes[l] * shape.sizes[l + 1];
  if (shape.front) flops += shape.front->forward_flops(batch);
  return flops;
}

double angle_degrees(const Eigen::Ref<const Matrix>& a, const Eigen::Ref<const Matrix>& b) {
  double dot = 0.0, na = 0.0, nb = 0.0;
  for (Eigen::Index r = 0; r < a.rows(); ++r)
    for (Eigen::Index c = 0; c < a.cols(); ++c) {
      const double x = a(r, c), y = b(r, c);
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
  if (na == 0.0 || nb == 0.0) return 90.0;
  const double cosine = std::clamp(dot / std::sqrt(na * nb), -1.0, 1.0);
  return std::acos(cosine) * 180.0 / std::numbers::pi;
}

}  // namespace plast
