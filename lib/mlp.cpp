#include "lib/mlp.hpp"

#include "lib/random_matrix.hpp"

#include <cmath>
#include <stdexcept>

namespace plast {

std::string MlpShape::str() const {
  std::string s;
  for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? "-" : "") + std::to_string(sizes[i]);
  s += " " + std::string(to_string(hidden));
  return front ? front->str() + " > " + s : s;
}

Mlp::Mlp(MlpShape shape) : shape_(std::move(shape)) {
  for (int l = 0; l < num_layers(); ++l) {
    weights_.push_back(Matrix::Zero(shape_.sizes[l + 1], shape_.sizes[l]));
    biases_.push_back(RowVector::Zero(shape_.sizes[l + 1]));
  }
  if (const FrontEnd* f = front_end()) {
    if (f->output().size() != shape_.sizes.front())
      throw std::logic_error("Mlp: front end output " + f->output().str() + " does not match dense input " +
                             std::to_string(shape_.sizes.front()));
    for (int k = 0; k < f->num_convs(); ++k) {
      front_.weight.push_back(Matrix::Zero(f->conv_rows(k), f->conv_cols(k)));
      front_.bias.push_back(RowVector::Zero(f->conv_rows(k)));
    }
  }
}

void Mlp::init_glorot(RandomStream& rng, float gain) {
  for (int l = 0; l < num_layers(); ++l) {
    Matrix& w = weights_[l];
    const float limit = gain * glorot_limit(w.cols(), w.rows());
    w = uniform_matrix(w.rows(), w.cols(), rng, -limit, limit);
    biases_[l].setZero();
  }
  if (const FrontEnd* f = front_end())
    for (int k = 0; k < f->num_convs(); ++k) {
      const int kk = f->conv_node(k).spec.kernel * f->conv_node(k).spec.kernel;
      const float limit = gain * glorot_limit(f->conv_cols(k), static_cast<Eigen::Index>(kk) * f->conv_rows(k));
      RandomStream conv_rng = rng.child({kFrontKey, static_cast<std::uint64_t>(k)});
      front_.weight[static_cast<std::size_t>(k)] = uniform_matrix(f->conv_rows(k), f->conv_cols(k), conv_rng, -limit, limit);
      front_.bias[static_cast<std::size_t>(k)].setZero();
    }
}

long Mlp::num_parameters() const {
  long n = 0;
  for (int l = 0; l < num_layers(); ++l) n += weights_[l].size() + biases_[l].size();
  for (std::size_t k = 0; k < front_.weight.size(); ++k) n += front_.weight[k].size() + front_.bias[k].size();
  return n;
}

bool Mlp::all_finite() const {
  for (int l = 0; l < num_layers(); ++l)
    if (!weights_[l].allFinite() || !biases_[l].allFinite()) return false;
  for (std::size_t k = 0; k < front_.weight.size(); ++k)
    if (!front_.weight[k].allFinite() || !front_.bias[k].allFinite()) return false;
  return true;
}

ForwardCache::ForwardCache(const MlpShape& shape, int capacity) : capacity_(capacity) {
  h_.emplace_back(capacity, shape.sizes[0]);
  for (int l = 0; l < shape.num_layers(); ++l) {
    z_.emplace_back(capacity, shape.sizes[l + 1]);
    h_.emplace_back(capacity, shape.sizes[l + 1]);
  }
  if (shape.front) {
    image_.resize(capacity, shape.input_size());
    front_ = FrontCache(*shape.front, capacity);
  }
}

void ForwardCache::enable_dropout() {
  mask_.clear();
  for (std::size_t k = 1; k + 1 < h_.size(); ++k) mask_.push_back(Matrix::Ones(capacity_, h_[k].cols()));
}

void forward(const Mlp& net, const Eigen::Ref<const Matrix>& x, ForwardCache& cache) {
  const auto n = static_cast<int>(x.rows());
  // A real check, not an assert: an oversized batch would write past the buffers in Release.
  if (n > cache.capacity_ || x.cols() != net.input_size())
    throw std::logic_error("forward: batch of " + std::to_string(n) + "x" + std::to_string(x.cols()) +
                           " does not fit a cache of " + std::to_string(cache.capacity_) + " rows for " +
                           net.shape().str());
  cache.rows_ = n;
  if (const FrontEnd* f = net.front_end()) {
    cache.image_.topRows(n) = x;
    front_forward(*f, net.front_weights(), x, cache.front_, cache.h_[0].topRows(n));
  } else {
    cache.h_[0].topRows(n) = x;
  }
  for (int l = 0; l < net.num_layers(); ++l) {
    auto z = cache.z_[l].topRows(n);
    if (n == 1)   // one sample (control, online learning): a dot product per unit, without
                  // the GEMV kernel's set-up, which cost more than the arithmetic of a tiny layer
      z.noalias() = cache.h_[l].topRows(1).lazyProduct(net.weight(l).transpose());
    else
      z.noalias() = cache.h_[l].topRows(n) * net.weight(l).transpose();
    z.rowwise() += net.bias(l);
    activate(net.activation(l), z, cache.h_[l + 1].topRows(n));
    if (cache.has_dropout() && l + 1 < net.num_layers())
      cache.h_[l + 1].topRows(n).array() *= cache.mask_[static_cast<std::size_t>(l)].topRows(n).array();
  }
}

}  // namespace plast
