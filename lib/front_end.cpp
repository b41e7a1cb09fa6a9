#include "lib/front_end.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "lib/error.hpp"

namespace plast {
namespace {

using MatrixMap = Eigen::Map<Matrix>;
using ConstMatrixMap = Eigen::Map<const Matrix>;

int pool_stride(const LayerSpec& s) { return s.stride == 0 ? s.kernel : s.stride; }

std::string describe(const LayerSpec& s, int index) {
  std::string what = std::string(to_string(s.kind)) + " (layer " + std::to_string(index + 1) + ")";
  return s.where.empty() ? what : s.where + ": " + what;
}

// Rows [first, first + m) of a batch matrix, seen as (m·positions × channels): one row per
// (sample, position), the view a convolution's GEMM reads and writes.
MatrixMap positions(Matrix& m, int first, int rows, int channels) {
  return MatrixMap(m.row(first).data(), static_cast<Eigen::Index>(rows) * (m.cols() / channels), channels);
}

// im2col of `rows` samples from `first`: row (r, oy, ox) holds the node's receptive field,
// columns ordered (ky, kx, c), zeros outside the input.
// The scratch buffer `columns` (sized for the largest convolution) seen as this node's
// (rows·positions × k·k·C) column matrix, contiguous.
MatrixMap column_view(const FrontNode& node, Matrix& columns, int rows) {
  const Eigen::Index n = static_cast<Eigen::Index>(rows) * node.out.height * node.out.width;
  const Eigen::Index c = static_cast<Eigen::Index>(node.spec.kernel) * node.spec.kernel * node.in.channels;
  if (n * c > columns.size()) throw std::logic_error("front end: im2col scratch too small");
  return MatrixMap(columns.data(), n, c);
}

void im2col(const FrontNode& node, const Eigen::Ref<const Matrix>& input, int first, int rows, MatrixMap columns) {
  const auto& in = node.in;
  const auto& out = node.out;
  const int k = node.spec.kernel, s = node.spec.stride, p = node.spec.padding, c = in.channels;
  for (int r = 0; r < rows; ++r) {
    const float* src = input.row(first + r).data();
    for (int oy = 0; oy < out.height; ++oy)
      for (int ox = 0; ox < out.width; ++ox) {
        float* dst = columns.row((static_cast<Eigen::Index>(r) * out.height + oy) * out.width + ox).data();
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * s - p + ky;
          for (int kx = 0; kx < k; ++kx) {
            const int ix = ox * s - p + kx;
            float* d = dst + (ky * k + kx) * c;
            if (iy < 0 || iy >= in.height || ix < 0 || ix >= in.width)
              std::fill(d, d + c, 0.0f);
            else
              std::copy_n(src + (static_cast<std::ptrdiff_t>(iy) * in.width + ix) * c, c, d);
          }
        }
      }
  }
}

// The transpose of im2col: adds each column row back onto the input positions it was read from.
void col2im_add(const FrontNode& node, const MatrixMap& columns, int first, int rows, Eigen::Ref<Matrix> error) {
  const auto& in = node.in;
  const auto& out = node.out;
  const int k = node.spec.kernel, s = node.spec.stride, p = node.spec.padding, c = in.channels;
  for (int r = 0; r < rows; ++r) {
    float* dst = error.row(first + r).data();
    for (int oy = 0; oy < out.height; ++oy)
      for (int ox = 0; ox < out.width; ++ox) {
        const float* src = columns.row((static_cast<Eigen::Index>(r) * out.height + oy) * out.width + ox).data();
        for (int ky = 0; ky < k; ++ky) {
          const int iy = oy * s - p + ky;
          if (iy < 0 || iy >= in.height) continue;
          for (int kx = 0; kx < k; ++kx) {
            const int ix = ox * s - p + kx;
            if (ix < 0 || ix >= in.width) continue;
            const float* from = src + (ky * k + kx) * c;
            float* to = dst + (static_cast<std::ptrdiff_t>(iy) * in.width + ix) * c;
            for (int j = 0; j < c; ++j) to[j] += from[j];
          }
        }
      }
  }
}

void conv_forward(const FrontNode& node, const Matrix& w, const RowVector& b, const Eigen::Ref<const Matrix>& input,
                  int n, Matrix& columns, Matrix& z, Matrix& out) {
  const int positions_per_sample = node.out.height * node.out.width;
  for (int first = 0; first < n; first += kChunk) {
    const int m = std::min(kChunk, n - first);
    MatrixMap cols = column_view(node, columns, m);
    im2col(node, input, first, m, cols);
    auto zmap = positions(z, first, m, node.out.channels);
    zmap.noalias() = cols * w.transpose();
    zmap.rowwise() += b;
  }
  activate(node.spec.activation, z.topRows(n), out.topRows(n));
}

template <class Visit>
void for_each_window(const FrontNode& node, Visit visit) {
  const int k = node.spec.kernel, s = pool_stride(node.spec), c = node.in.channels;
  for (int oy = 0; oy < node.out.height; ++oy)
    for (int ox = 0; ox < node.out.width; ++ox)
      for (int ch = 0; ch < c; ++ch) {
        const int o = (oy * node.out.width + ox) * c + ch;
        const int origin = ((oy * s) * node.in.width + ox * s) * c + ch;
        visit(o, origin, k, node.in.width * c, c);   // output, first input, window, row step, column step
      }
}

void max_pool_forward(const FrontNode& node, const Eigen::Ref<const Matrix>& input, int n, Matrix& out,
                      std::vector<int>& argmax) {
  const int size = node.out.size();
  for (int r = 0; r < n; ++r) {
    const float* in = input.row(r).data();
    float* o = out.row(r).data();
    int* arg = argmax.data() + static_cast<std::ptrdiff_t>(r) * size;
    for_each_window(node, [&](int j, int origin, int k, int row_step, int col_step) {
      int best = origin;
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) {
          const int at = origin + ky * row_step + kx * col_step;
          if (in[at] > in[best]) best = at;
        }
      o[j] = in[best];
      arg[j] = best;
    });
  }
}

void avg_pool_forward(const FrontNode& node, const Eigen::Ref<const Matrix>& input, int n, Matrix& out) {
  const float scale = 1.0f / static_cast<float>(node.spec.kernel * node.spec.kernel);
  for (int r = 0; r < n; ++r) {
    const float* in = input.row(r).data();
    float* o = out.row(r).data();
    for_each_window(node, [&](int j, int origin, int k, int row_step, int col_step) {
      float sum = 0.0f;
      for (int ky = 0; ky < k; ++ky)
        for (int kx = 0; kx < k; ++kx) sum += in[origin + ky * row_step + kx * col_step];
      o[j] = sum * scale;
    });
  }
}

constexpr double kNormEpsilon = 1e-5;

void layer_norm_forward(const Eigen::Ref<const Matrix>& input, int n, Matrix& out, Matrix& stats) {
  for (int r = 0; r < n; ++r) {
    const auto x = input.row(r).cast<double>();
    const double mean = x.mean();
    const double var = (x.array() - mean).square().mean();
    const double inv = 1.0 / std::sqrt(var + kNormEpsilon);
    out.row(r) = ((x.array() - mean) * inv).cast<float>().matrix();
    stats(r, 0) = static_cast<float>(mean);
    stats(r, 1) = static_cast<float>(inv);
  }
}

// Stacks the inputs' channels: output (p, offset_b + c) = input b's (p, c).
void concat_forward(const FrontEnd& front, const FrontNode& node, const Eigen::Ref<const Matrix>& x,
                    const std::vector<Matrix>& outputs, int n, Matrix& out) {
  const int positions_per_sample = node.out.height * node.out.width;
  int offset = 0;
  for (int from : node.inputs) {
    const auto f = static_cast<std::size_t>(from);
    const int c = from < 0 ? front.input().channels : front.nodes()[f].out.channels;
    for (int r = 0; r < n; ++r) {
      const float* src = from < 0 ? x.row(r).data() : outputs[f].row(r).data();
      for (int p = 0; p < positions_per_sample; ++p)
        std::copy_n(src + static_cast<std::ptrdiff_t>(p) * c, c,
                    out.row(r).data() + static_cast<std::ptrdiff_t>(p) * node.out.channels + offset);
    }
    offset += c;
  }
}

}  // namespace

std::string Volume::str() const {
  return std::to_string(height) + "x" + std::to_string(width) + "x" + std::to_string(channels);
}

std::string_view to_string(LayerKind kind) {
  switch (kind) {
    case LayerKind::conv2d: return "conv2d";
    case LayerKind::max_pool: return "max_pool";
    case LayerKind::avg_pool: return "avg_pool";
    case LayerKind::layer_norm: return "layer_norm";
    case LayerKind::concat: return "concat";
  }
  return "?";
}

FrontEnd::FrontEnd(Volume input, const std::vector<LayerSpec>& layers) : input_(input) {
  if (input.height < 1 || input.width < 1 || input.channels < 1)
    throw Error("front end: input volume " + input.str() + " must have a positive height, width and depth");
  if (layers.empty()) throw Error("front end: needs at least one layer");
  compile(layers, -1, input);
}

int FrontEnd::compile(const std::vector<LayerSpec>& layers, int input_node, const Volume& volume) {
  int current = input_node;
  Volume in = volume;
  for (std::size_t i = 0; i < layers.size(); ++i) {
    const LayerSpec& s = layers[i];
    const std::string name = describe(s, static_cast<int>(i));
    FrontNode node;
    node.spec = s;
    node.spec.branches.clear();
    node.inputs = {current};
    node.in = in;
    switch (s.kind) {
      case LayerKind::conv2d: {
        if (s.filters < 1) throw Error(name + ": filters = " + std::to_string(s.filters) + ": must be >= 1");
        if (s.kernel < 1) throw Error(name + ": kernel = " + std::to_string(s.kernel) + ": must be >= 1");
        if (s.stride < 1) throw Error(name + ": stride = " + std::to_string(s.stride) + ": must be >= 1");
        if (s.padding < 0) throw Error(name + ": padding = " + std::to_string(s.padding) + ": must be >= 0");
        if (s.kernel > in.height + 2 * s.padding || s.kernel > in.width + 2 * s.padding)
          throw Error(name + ": kernel " + std::to_string(s.kernel) + "x" + std::to_string(s.kernel) +
                      " is larger than its input " + in.str() + " with padding " + std::to_string(s.padding));
        node.out = {(in.height + 2 * s.padding - s.kernel) / s.stride + 1,
                    (in.width + 2 * s.padding - s.kernel) / s.stride + 1, s.filters};
        node.conv = static_cast<int>(convs_.size());
        convs_.push_back(static_cast<int>(nodes_.size()));
        break;
      }
      case LayerKind::max_pool:
      case LayerKind::avg_pool: {
        if (s.kernel < 1) throw Error(name + ": kernel = " + std::to_string(s.kernel) + ": must be >= 1");
        if (s.stride < 0) throw Error(name + ": stride = " + std::to_string(s.stride) + ": must be >= 1");
        if (s.kernel > in.height || s.kernel > in.width)
          throw Error(name + ": window " + std::to_string(s.kernel) + "x" + std::to_string(s.kernel) +
                      " is larger than its input " + in.str());
        node.spec.stride = pool_stride(s);
        node.out = {(in.height - s.kernel) / node.spec.stride + 1, (in.width - s.kernel) / node.spec.stride + 1,
                    in.channels};
        break;
      }
      case LayerKind::layer_norm: node.out = in; break;
      case LayerKind::concat: {
        if (s.branches.size() < 2)
          throw Error(name + ": needs at least two branches, got " + std::to_string(s.branches.size()));
        node.inputs.clear();
        Volume joined{0, 0, 0};
        std::string shapes;
        for (const auto& branch : s.branches) {
          const int last = branch.empty() ? current : compile(branch, current, in);
          const Volume v = last < 0 ? input_ : nodes_[static_cast<std::size_t>(last)].out;
          shapes += (shapes.empty() ? "" : ", ") + v.str();
          if (joined.channels == 0) joined = {v.height, v.width, 0};
          if (v.height != joined.height || v.width != joined.width)
            throw Error(name + ": branches do not concatenate: their outputs are " + shapes +
                        " (heights and widths must be equal)");
          joined.channels += v.channels;
          node.inputs.push_back(last);
        }
        node.out = joined;
        break;
      }
    }
    nodes_.push_back(std::move(node));
    current = static_cast<int>(nodes_.size()) - 1;
    in = nodes_.back().out;
  }
  return current;
}

int FrontEnd::conv_cols(int k) const {
  const auto& n = conv_node(k);
  return n.spec.kernel * n.spec.kernel * n.in.channels;
}

std::string FrontEnd::str() const {
  std::string s;
  for (const auto& n : nodes_) {
    if (!s.empty()) s += " > ";
    s += std::string(to_string(n.spec.kind));
    if (n.spec.kind == LayerKind::conv2d)
      s += " " + std::to_string(n.spec.kernel) + "x" + std::to_string(n.spec.kernel) + "x" +
           std::to_string(n.spec.filters);
    else if (n.spec.kind != LayerKind::layer_norm && n.spec.kind != LayerKind::concat)
      s += " " + std::to_string(n.spec.kernel);
  }
  return s + " (" + input_.str() + " to " + output().str() + ")";
}

double FrontEnd::forward_flops(int batch) const {
  double flops = 0.0;
  for (int k = 0; k < num_convs(); ++k) {
    const auto& n = conv_node(k);
    flops += 2.0 * batch * n.out.height * n.out.width * n.out.channels * conv_cols(k);
  }
  return flops;
}

double FrontEnd::backward_flops(int batch) const {
  double flops = 0.0;
  for (int k = 0; k < num_convs(); ++k) {
    const auto& n = conv_node(k);
    const double one = 2.0 * batch * n.out.height * n.out.width * n.out.channels * conv_cols(k);
    flops += n.inputs[0] < 0 ? one : 2.0 * one;
  }
  return flops;
}

namespace {

Eigen::Index largest_columns(const FrontEnd& front, Eigen::Index* cols) {
  Eigen::Index rows = 0;
  *cols = 0;
  for (int k = 0; k < front.num_convs(); ++k) {
    const auto& n = front.conv_node(k);
    rows = std::max<Eigen::Index>(rows, static_cast<Eigen::Index>(kChunk) * n.out.height * n.out.width);
    *cols = std::max<Eigen::Index>(*cols, front.conv_cols(k));
  }
  return rows;
}

}  // namespace

FrontCache::FrontCache(const FrontEnd& front, int capacity) {
  for (const auto& n : front.nodes()) {
    out.emplace_back(capacity, n.out.size());
    z.emplace_back(n.spec.kind == LayerKind::conv2d ? Matrix(capacity, n.out.size()) : Matrix());
    argmax.emplace_back(n.spec.kind == LayerKind::max_pool ? static_cast<std::size_t>(capacity) * n.out.size() : 0);
    stats.emplace_back(n.spec.kind == LayerKind::layer_norm ? Matrix(capacity, 2) : Matrix());
  }
  Eigen::Index cols = 0;
  const Eigen::Index rows = largest_columns(front, &cols);
  columns.resize(rows, cols);
}

FrontBuffers::FrontBuffers(const FrontEnd& front, int capacity) {
  for (const auto& n : front.nodes()) error.emplace_back(capacity, n.out.size());
  Eigen::Index cols = 0;
  const Eigen::Index rows = largest_columns(front, &cols);
  dcolumns.resize(rows, cols);
}

Eigen::Ref<const Matrix> node_input(const FrontNode& node, const Eigen::Ref<const Matrix>& x, const FrontCache& cache,
                                    int rows) {
  const int from = node.inputs[0];
  if (from < 0) return x.topRows(rows);
  return cache.out[static_cast<std::size_t>(from)].topRows(rows);
}

void front_forward(const FrontEnd& front, const FrontWeights& w, const Eigen::Ref<const Matrix>& x, FrontCache& cache,
                   Eigen::Ref<Matrix> features, const NodeHook& after_node) {
  const int n = static_cast<int>(x.rows());
  if (x.cols() != front.input().size() || cache.out.empty() || n > cache.out[0].rows())
    throw std::logic_error("front_forward: batch of " + std::to_string(n) + "x" + std::to_string(x.cols()) +
                           " does not fit " + front.str());
  const auto& nodes = front.nodes();
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const FrontNode& node = nodes[i];
    const auto input = node_input(node, x, cache, n);
    switch (node.spec.kind) {
      case LayerKind::conv2d: {
        const auto k = static_cast<std::size_t>(node.conv);
        conv_forward(node, w.weight[k], w.bias[k], input, n, cache.columns, cache.z[i], cache.out[i]);
        break;
      }
      case LayerKind::max_pool: max_pool_forward(node, input, n, cache.out[i], cache.argmax[i]); break;
      case LayerKind::avg_pool: avg_pool_forward(node, input, n, cache.out[i]); break;
      case LayerKind::layer_norm: layer_norm_forward(input, n, cache.out[i], cache.stats[i]); break;
      case LayerKind::concat: concat_forward(front, node, x, cache.out, n, cache.out[i]); break;
    }
    if (after_node) after_node(i, cache.out[i].topRows(n));
  }
  features.topRows(n) = cache.out.back().topRows(n);
}

void conv_weight_gradient(const FrontNode& node, const Eigen::Ref<const Matrix>& input,
                          const Eigen::Ref<const Matrix>& delta, Matrix& columns, Matrix& dW, RowVector& db) {
  const int n = static_cast<int>(delta.rows());
  const Eigen::Index per_sample = static_cast<Eigen::Index>(node.out.height) * node.out.width;
  const int f = node.out.channels;
  dW.setZero();
  db.setZero();
  for (int first = 0; first < n; first += kChunk) {
    const int m = std::min(kChunk, n - first);
    MatrixMap cols = column_view(node, columns, m);
    im2col(node, input, first, m, cols);
    const ConstMatrixMap d(delta.row(first).data(), m * per_sample, f);
    dW.noalias() += d.transpose() * cols;
    db.noalias() += d.colwise().sum();
  }
}

void conv_input_error(const FrontNode& node, const Eigen::Ref<const Matrix>& delta, const Matrix& feedback,
                      Matrix& columns, Eigen::Ref<Matrix> below) {
  const int n = static_cast<int>(delta.rows());
  const Eigen::Index per_sample = static_cast<Eigen::Index>(node.out.height) * node.out.width;
  for (int first = 0; first < n; first += kChunk) {
    const int m = std::min(kChunk, n - first);
    const ConstMatrixMap d(delta.row(first).data(), m * per_sample, node.out.channels);
    MatrixMap cols = column_view(node, columns, m);
    cols.noalias() = d * feedback;
    col2im_add(node, cols, first, m, below);
  }
}

namespace {

// Adds node i's input error(s) given the error at its output; `feedback` carries a convolution's.
void node_backward(const FrontEnd& front, std::size_t i, const Eigen::Ref<const Matrix>& x, const FrontCache& cache,
                   const Matrix* feedback, int n, FrontBuffers& buffers, FrontWeights& update) {
  const FrontNode& node = front.nodes()[i];
  auto err = buffers.error[i].topRows(n);
  const int from = node.inputs[0];
  switch (node.spec.kind) {
    case LayerKind::conv2d: {
      const auto k = static_cast<std::size_t>(node.conv);
      multiply_by_derivative(node.spec.activation, cache.z[i].topRows(n), cache.out[i].topRows(n), err);
      Matrix& columns = buffers.dcolumns;   // the weight gradient's im2col; reused below for dcol
      conv_weight_gradient(node, node_input(node, x, cache, n), err, columns, update.weight[k], update.bias[k]);
      if (from < 0) return;
      conv_input_error(node, err, *feedback, columns, buffers.error[static_cast<std::size_t>(from)].topRows(n));
      return;
    }
    case LayerKind::max_pool: {
      if (from < 0) return;
      auto below = buffers.error[static_cast<std::size_t>(from)].topRows(n);
      const int size = node.out.size();
      for (int r = 0; r < n; ++r) {
        const int* arg = cache.argmax[i].data() + static_cast<std::ptrdiff_t>(r) * size;
        for (int j = 0; j < size; ++j) below(r, arg[j]) += err(r, j);
      }
      return;
    }
    case LayerKind::avg_pool: {
      if (from < 0) return;
      auto below = buffers.error[static_cast<std::size_t>(from)].topRows(n);
      const float scale = 1.0f / static_cast<float>(node.spec.kernel * node.spec.kernel);
      for (int r = 0; r < n; ++r) {
        float* b = below.row(r).data();
        const float* e = err.row(r).data();
        for_each_window(node, [&](int j, int origin, int k, int row_step, int col_step) {
          for (int ky = 0; ky < k; ++ky)
            for (int kx = 0; kx < k; ++kx) b[origin + ky * row_step + kx * col_step] += e[j] * scale;
        });
      }
      return;
    }
    case LayerKind::layer_norm: {
      if (from < 0) return;
      auto below = buffers.error[static_cast<std::size_t>(from)].topRows(n);
      const auto y = cache.out[i].topRows(n);
      for (int r = 0; r < n; ++r) {
        const double g_mean = err.row(r).cast<double>().mean();
        const double gy_mean = err.row(r).cast<double>().cwiseProduct(y.row(r).cast<double>()).mean();
        const double inv = cache.stats[i](r, 1);
        below.row(r).array() += (inv * (err.row(r).cast<double>().array() - g_mean -
                                        y.row(r).cast<double>().array() * gy_mean)).cast<float>();
      }
      return;
    }
    case LayerKind::concat: {
      const int positions_per_sample = node.out.height * node.out.width;
      int offset = 0;
      for (int source : node.inputs) {
        const int c = source < 0 ? front.input().channels : front.nodes()[static_cast<std::size_t>(source)].out.channels;
        if (source >= 0) {
          auto below = buffers.error[static_cast<std::size_t>(source)].topRows(n);
          for (int r = 0; r < n; ++r)
            for (int p = 0; p < positions_per_sample; ++p)
              for (int j = 0; j < c; ++j)
                below(r, p * c + j) += err(r, p * node.out.channels + offset + j);
        }
        offset += c;
      }
      return;
    }
  }
}

}  // namespace

void front_backward(const FrontEnd& front, const Eigen::Ref<const Matrix>& x, const FrontCache& cache,
                    const Eigen::Ref<const Matrix>& feature_error, const std::vector<Matrix>& feedback,
                    FrontBuffers& buffers, FrontWeights& update) {
  const int n = static_cast<int>(feature_error.rows());
  const auto& nodes = front.nodes();
  const std::size_t last = nodes.size() - 1;
  for (std::size_t i = 0; i < last; ++i) buffers.error[i].topRows(n).setZero();
  buffers.error[last].topRows(n) = feature_error;
  for (std::size_t i = nodes.size(); i-- > 0;) {
    const int conv = nodes[i].conv;
    node_backward(front, i, x, cache, conv >= 0 ? &feedback[static_cast<std::size_t>(conv)] : nullptr, n, buffers,
                  update);
  }
}

}  // namespace plast
