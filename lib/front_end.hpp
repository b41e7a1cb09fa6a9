#pragma once
// The student's front end: image layers in front of its dense layers (lib/mlp.hpp). A student is
// a small graph of layers — 2-D convolution, max and average pooling, layer normalization, and the
// concatenation of parallel branches (an inception-style block) — whose output, flattened, is the
// input of the dense stack. A student without a front end is the dense MLP it always was: its
// arithmetic, and so every result measured on it, is untouched.
//
// Layout. A batch is a Matrix with one sample per row; a sample's H×W×C volume is flattened
// position-major, channel-minor ("HWC"): entry (y, x, c) is column (y·W + x)·C + c. For one
// channel (MNIST) that is the image's own order; tasks with colour (CIFAR) store their pixels so.
// With this layout a convolution over a chunk of samples is one GEMM whose output rows are the
// (sample, position) pairs and whose columns are the filters: exactly the next volume's memory.
//
// Layers (the YAML of a student's `layers:` list, lib/config_sections.hpp):
//   conv2d     {filters, kernel, stride = 1, padding = 0, activation = relu}: z = W ⋆ x + b with
//              W of shape (filters × kernel·kernel·C), columns ordered (ky, kx, c); zero padding.
//              Computed by im2col and GEMM over chunks of kChunk samples (measured faster than a
//              direct loop: `plast bench`, workload conv).
//   max_pool   {kernel, stride = kernel}: the maximum of each window (no padding); its error goes
//              to the window's first maximal entry.
//   avg_pool   {kernel, stride = kernel}: the mean of each window.
//   layer_norm {}: each sample's volume to zero mean and unit variance, (x − μ)/√(σ² + 1e−5)
//              (Ba, Kiros & Hinton 2016, without the affine gain and bias).
//   concat     {branches: [[layers…], [layers…]]}: each branch runs on the same input; their
//              outputs, of equal height and width, are stacked along the channels.
// Shapes are checked when the front end is built: a kernel or window larger than its (padded)
// input, a stride of 0, branches whose heights and widths differ are refused with one line that
// names the layer (its file:line:col when it came from a study file) and the shapes involved.
//
// How errors travel back through it is a learning rule's choice: front_backward takes, for every
// convolution, the matrix that carries its error down (W itself for backprop, a fixed random
// kernel for feedback alignment, sign(W) for sign symmetry, a learned kernel for Kolen–Pollack
// or learned feedback). Pooling, normalization and concatenation have no weights; every rule
// sends its error through them by their exact derivative, as feedback alignment does through
// an activation function.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/activation.hpp"
#include "lib/random.hpp"
#include "lib/tensor.hpp"

namespace plast {

struct Volume {
  int height = 0, width = 0, channels = 0;
  int size() const { return height * width * channels; }
  std::string str() const;   // "28x28x1"
  bool operator==(const Volume&) const = default;
};

enum class LayerKind { conv2d, max_pool, avg_pool, layer_norm, concat };
std::string_view to_string(LayerKind kind);

struct LayerSpec {
  LayerKind kind = LayerKind::conv2d;
  int filters = 0;        // conv2d
  int kernel = 0;         // conv2d: kernel size; pools: window size
  int stride = 1;         // pools: 0 means "= kernel"
  int padding = 0;        // conv2d
  Activation activation = Activation::relu;       // conv2d
  std::vector<std::vector<LayerSpec>> branches;   // concat
  std::string where;      // "file:line:col" of the layer in its study file, for errors; may be empty
};

// One node of the compiled graph: a layer, its input(s) and its volumes.
struct FrontNode {
  LayerSpec spec;          // branches emptied: they are nodes of their own
  std::vector<int> inputs; // node indices; -1 is the image. One input except for concat.
  Volume in, out;          // `in`: the (first) input's volume
  int conv = -1;           // index of its weights among the front end's convolutions (conv2d)
};

// A front end compiled from its layer list: nodes in topological order, the last one's output
// feeding the dense stack. Immutable; shared by every student of one shape.
class FrontEnd {
 public:
  // Checks every shape; throws plast::Error naming the layer and the shapes involved.
  FrontEnd(Volume input, const std::vector<LayerSpec>& layers);

  const Volume& input() const { return input_; }
  const Volume& output() const { return nodes_.back().out; }
  const std::vector<FrontNode>& nodes() const { return nodes_; }
  int num_convs() const { return static_cast<int>(convs_.size()); }
  const FrontNode& conv_node(int k) const { return nodes_[static_cast<std::size_t>(convs_[static_cast<std::size_t>(k)])]; }
  int conv_node_index(int k) const { return convs_[static_cast<std::size_t>(k)]; }
  // Shape of convolution k's weights: filters × kernel·kernel·in_channels.
  int conv_rows(int k) const { return conv_node(k).spec.filters; }
  int conv_cols(int k) const;
  std::string str() const;   // "conv2d 5x5x32 > max_pool 2 > ..."
  // Multiply–adds ×2 of one forward pass over `batch` samples (convolutions only).
  double forward_flops(int batch) const;
  // ... of the weight gradients and input errors of every convolution (the first one's input
  // error excluded: nothing is below the image).
  double backward_flops(int batch) const;

 private:
  int compile(const std::vector<LayerSpec>& layers, int input_node, const Volume& in);
  Volume input_;
  std::vector<FrontNode> nodes_;
  std::vector<int> convs_;
};

// Samples per im2col chunk: a chunk's column matrix (kChunk·H·W × k·k·C floats) stays small, so
// evaluation caches of a thousand rows do not hold a thousand samples' worth of it.
inline constexpr int kChunk = 16;

// The activity of one forward pass through a front end, for up to `capacity` samples; allocated once.
struct FrontCache {
  std::vector<Matrix> out;     // out[i]: capacity × nodes[i].out.size(), node i's output (post-activation)
  std::vector<Matrix> z;       // z[i]: pre-activation of a convolution node (empty for the others)
  std::vector<std::vector<int>> argmax;   // max_pool: per output entry, the input column of the maximum
  std::vector<Matrix> stats;   // layer_norm: capacity × 2 (mean, 1/σ)
  Matrix columns;              // im2col scratch: kChunk·H·W × k·k·C of the largest convolution
  FrontCache() = default;
  FrontCache(const FrontEnd& front, int capacity);
};

// Weights of a front end's convolutions.
struct FrontWeights {
  std::vector<Matrix> weight;    // weight[k]: filters × k·k·C
  std::vector<RowVector> bias;   // bias[k]: filters
};

// Runs the front end on x (n rows of the input volume) into cache.out; `features` receives the
// last node's output (n × output().size()). `after_node`, when given, may change each node's
// output before the nodes above read it (learned feedback's noisy pass adds its noise there).
// Allocates nothing.
using NodeHook = std::function<void(std::size_t node, Eigen::Ref<Matrix> out)>;
void front_forward(const FrontEnd& front, const FrontWeights& w, const Eigen::Ref<const Matrix>& x,
                   FrontCache& cache, Eigen::Ref<Matrix> features, const NodeHook& after_node = {});

// Buffers of one backward pass through a front end: the error at each node's output and the
// im2col scratch of the input errors. Allocated once, in a rule's state.
struct FrontBuffers {
  std::vector<Matrix> error;   // error[i]: capacity × nodes[i].out.size(), dL/d out_i
  Matrix dcolumns;             // kChunk·H·W × k·k·C of the largest convolution
  FrontBuffers() = default;
  FrontBuffers(const FrontEnd& front, int capacity);
};

// The backward pass from the error at the features (n × output().size(), dL/d features) to
// every convolution's update (dW[k], db[k]), carrying errors below convolution k with
// feedback[k] (the shape of W_k; W_k itself is backprop). The first convolution's input error
// is never computed. Allocates nothing.
void front_backward(const FrontEnd& front, const Eigen::Ref<const Matrix>& x, const FrontCache& cache,
                    const Eigen::Ref<const Matrix>& feature_error, const std::vector<Matrix>& feedback,
                    FrontBuffers& buffers, FrontWeights& update);

// One convolution's update from an error at its pre-activation (n × out.size(), dL/dz):
// dW = Σ δᵀ·im2col(input), db = Σ δ. `input` is the node's input activity (n × in.size()).
void conv_weight_gradient(const FrontNode& node, const Eigen::Ref<const Matrix>& input,
                          const Eigen::Ref<const Matrix>& delta, Matrix& columns, Matrix& dW, RowVector& db);

// Adds the error a convolution sends to its input, col2im(δ · feedback), into `below`
// (n × in.size()); δ is the error at its pre-activation (n × out.size()).
void conv_input_error(const FrontNode& node, const Eigen::Ref<const Matrix>& delta, const Matrix& feedback,
                      Matrix& columns, Eigen::Ref<Matrix> below);

// The input activity of node i for a forward pass on x: x itself for the image, else an earlier output.
Eigen::Ref<const Matrix> node_input(const FrontNode& node, const Eigen::Ref<const Matrix>& x,
                                    const FrontCache& cache, int rows);

}  // namespace plast
