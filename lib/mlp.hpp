#pragma once
// The student network: a multilayer perceptron of any depth and widths, float32, optionally
// behind a front end of image layers (convolution, pooling, normalization, concatenation:
// lib/front_end.hpp) whose flattened output is then the dense layers' input h_0.
// Layer l maps h_l (B × n_l) to z_l = h_l W_lᵀ + b_l and h_{l+1} = f_l(z_l), with W_l of
// shape (n_{l+1} × n_l) as written in the papers. The forward pass keeps every z and h in a
// ForwardCache, the signals every learning rule reads.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lib/activation.hpp"
#include "lib/front_end.hpp"
#include "lib/random.hpp"
#include "lib/tensor.hpp"

namespace plast {

struct MlpShape {
  std::vector<int> sizes;                   // input, hidden..., output (input: the front end's output)
  Activation hidden = Activation::tanh;
  Activation output = Activation::linear;
  std::shared_ptr<const FrontEnd> front = nullptr;   // empty: a plain MLP

  int num_layers() const { return static_cast<int>(sizes.size()) - 1; }
  int input_size() const { return front ? front->input().size() : sizes.front(); }
  std::string str() const;                  // "784-256-256-10 tanh", after the front end's layers
};

class Mlp {
 public:
  Mlp() = default;
  explicit Mlp(MlpShape shape);             // all weights zero

  // Glorot/Xavier uniform (Glorot & Bengio 2010): W_l ~ U(±gain·√(6/(n_in+n_out))), b = 0.
  // A front end's convolution k is drawn from rng.child({kFrontKey, k}) with fan_in = k·k·C_in
  // and fan_out = k·k·C_out (as Keras and PyTorch count a kernel's fans), after the dense layers,
  // so the dense layers' draws are those of a student without a front end.
  void init_glorot(RandomStream& rng, float gain = 1.0f);
  static constexpr std::uint64_t kFrontKey = 0xF207;

  const MlpShape& shape() const { return shape_; }
  int num_layers() const { return shape_.num_layers(); }
  int input_size() const { return shape_.input_size(); }
  const FrontEnd* front_end() const { return shape_.front.get(); }
  FrontWeights& front_weights() { return front_; }
  const FrontWeights& front_weights() const { return front_; }
  int output_size() const { return shape_.sizes.back(); }
  Activation activation(int layer) const {
    return layer == num_layers() - 1 ? shape_.output : shape_.hidden;
  }
  Matrix& weight(int layer) { return weights_[layer]; }
  const Matrix& weight(int layer) const { return weights_[layer]; }
  RowVector& bias(int layer) { return biases_[layer]; }
  const RowVector& bias(int layer) const { return biases_[layer]; }
  long num_parameters() const;
  bool all_finite() const;

 private:
  MlpShape shape_;
  std::vector<Matrix> weights_;
  std::vector<RowVector> biases_;
  FrontWeights front_;   // empty without a front end
};

// Activity of one forward pass over up to `capacity` rows, allocated once.
// h[0] is the input, h[l+1] = f(z[l]); only the first rows() rows are meaningful.
class ForwardCache {
 public:
  ForwardCache() = default;
  ForwardCache(const MlpShape& shape, int capacity);

  int rows() const { return rows_; }
  int capacity() const { return capacity_; }
  // The meaningful rows of each buffer.
  auto z(int layer) const { return z_[layer].topRows(rows_); }
  auto h(int layer) const { return h_[layer].topRows(rows_); }
  auto output() const { return h_.back().topRows(rows_); }
  auto logits() const { return z_.back().topRows(rows_); }
  // Students with a front end: the image batch and the front end's activity (h(0) is its output).
  auto image() const { return image_.topRows(rows_); }
  const FrontCache& front() const { return front_; }

  // Dropout (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014, JMLR 15): once
  // enabled, forward() multiplies hidden activation h[k] (k = 1 … L−1) by mask(k), whose entries
  // are 0 or 1/(1−p) ("inverted" dropout: nothing changes at test time), and the backward pass
  // (lib/gradient.cpp) multiplies δ by the same mask. Only train() enables it, on its training
  // cache (lib/dropout.hpp draws the masks); evaluation and probe caches never have masks.
  void enable_dropout();   // one all-ones mask per hidden layer, capacity rows (allocates)
  bool has_dropout() const { return !mask_.empty(); }
  std::size_t num_masks() const { return mask_.size(); }
  Matrix& mask(int k) { return mask_[static_cast<std::size_t>(k - 1)]; }
  const Matrix& mask(int k) const { return mask_[static_cast<std::size_t>(k - 1)]; }

 private:
  friend void forward(const Mlp&, const Eigen::Ref<const Matrix>&, ForwardCache&);
  std::vector<Matrix> z_, h_;
  std::vector<Matrix> mask_;   // empty: no dropout
  Matrix image_;               // front end only: the input batch
  FrontCache front_;
  int rows_ = 0, capacity_ = 0;
};

// Runs the network on x (rows ≤ cache capacity) without allocating.
void forward(const Mlp& net, const Eigen::Ref<const Matrix>& x, ForwardCache& cache);

}  // namespace plast
