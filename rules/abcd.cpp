#include "rules/abcd.hpp"

#include <algorithm>
#include <cmath>

#include "lib/error.hpp"
#include "rules/rule_space.hpp"

namespace plast {
namespace {

struct AbcdState final : RuleState {
  // Per layer: batch means of pre (1 × n_in) and post (n_out), and of post ⊗ pre (n_out × n_in).
  std::vector<RowVector> pre;
  std::vector<Eigen::VectorXf> post;
  std::vector<Matrix> correlation;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<AbcdState>(*this); }
};

constexpr const char* kCoefficients[4] = {"A", "B", "C", "D"};

// Units (coefficient groups of four) of layer l at a sharing level.
long units(const MlpShape& shape, Sharing sharing, int l) {
  switch (sharing) {
    case Sharing::global: return 0;
    case Sharing::layer: return 1;
    case Sharing::neuron: return shape.sizes[static_cast<std::size_t>(l) + 1];
    case Sharing::synapse:
      return static_cast<long>(shape.sizes[static_cast<std::size_t>(l) + 1]) * shape.sizes[static_cast<std::size_t>(l)];
  }
  return 0;
}

class AbcdSpace final : public RuleSpace {
 public:
  AbcdSpace(MlpShape shape, Sharing sharing, bool normalize)
      : shape_(std::move(shape)), sharing_(sharing), normalize_(normalize),
        names_(AbcdRule::names(shape_, sharing)) {}
  const std::vector<std::string>& names() const override { return names_; }
  std::shared_ptr<const LearningRule> make(const Eigen::Ref<const Eigen::VectorXd>& theta) const override {
    return std::make_shared<AbcdRule>(shape_, sharing_, theta, normalize_);
  }
  ParamValues parameters(const Eigen::Ref<const Eigen::VectorXd>&) const override { return {}; }
  const std::string& rule() const override { return rule_; }

 private:
  MlpShape shape_;
  Sharing sharing_;
  bool normalize_;
  std::vector<std::string> names_;
  std::string rule_ = "abcd";
};

}  // namespace

Sharing parse_sharing(const std::string& name) {
  if (name == "global") return Sharing::global;
  if (name == "layer") return Sharing::layer;
  if (name == "neuron") return Sharing::neuron;
  if (name == "synapse") return Sharing::synapse;
  throw InvalidValue("sharing", name, "unknown sharing level (known: global, layer, neuron, synapse)");
}

std::string sharing_name(Sharing sharing) {
  switch (sharing) {
    case Sharing::global: return "global";
    case Sharing::layer: return "layer";
    case Sharing::neuron: return "neuron";
    case Sharing::synapse: return "synapse";
  }
  return "?";
}

int AbcdRule::dimension(const MlpShape& shape, Sharing sharing) {
  if (sharing == Sharing::global) return 4;
  long n = 0;
  for (int l = 0; l < shape.num_layers(); ++l) n += 4 * units(shape, sharing, l);
  return static_cast<int>(n);
}

std::vector<std::string> AbcdRule::names(const MlpShape& shape, Sharing sharing) {
  std::vector<std::string> out;
  if (sharing == Sharing::global) return {"A", "B", "C", "D"};
  out.reserve(static_cast<std::size_t>(dimension(shape, sharing)));
  for (int l = 0; l < shape.num_layers(); ++l) {
    const std::string layer = "[l" + std::to_string(l) + "]";
    const int in = shape.sizes[static_cast<std::size_t>(l)];
    for (long u = 0; u < units(shape, sharing, l); ++u) {
      std::string suffix = layer;
      if (sharing == Sharing::neuron) suffix += "[i" + std::to_string(u) + "]";
      if (sharing == Sharing::synapse) suffix += "[i" + std::to_string(u / in) + "][j" + std::to_string(u % in) + "]";
      for (const char* c : kCoefficients) out.push_back(c + suffix);
    }
  }
  return out;
}

std::vector<ParamSpec> AbcdRule::params() {
  return {
      {"A", 1.0, -1e3, 1e3, "coefficient of pre*post (default: plain Hebb, normalized)"},
      {"B", 0.0, -1e3, 1e3, "coefficient of pre"},
      {"C", 0.0, -1e3, 1e3, "coefficient of post"},
      {"D", 0.0, -1e3, 1e3, "constant term"},
      {"normalize", 1, 0, 1, "1: divide each layer by its max |w| after every update (Najarro & Risi 2020)", true},
  };
}

AbcdRule::AbcdRule(const MlpShape& shape, Sharing sharing, const Eigen::Ref<const Eigen::VectorXd>& theta,
                   bool normalize)
    : shape_(shape), sharing_(sharing), normalize_(normalize) {
  const int n = dimension(shape, sharing);
  if (theta.size() != n)
    throw InvalidValue("theta", theta.size(),
                       "must have " + std::to_string(n) + " values for " + sharing_name(sharing) + " sharing on " +
                           shape.str());
  for (Eigen::Index k = 0; k < theta.size(); ++k)
    if (!std::isfinite(theta(k))) throw InvalidValue(names(shape, sharing)[static_cast<std::size_t>(k)], theta(k), "must be finite");
  if (sharing == Sharing::global) {
    global_ = {static_cast<float>(theta(0)), static_cast<float>(theta(1)), static_cast<float>(theta(2)),
               static_cast<float>(theta(3)), {}, {}, {}, {}};
    return;
  }
  Eigen::Index k = 0;
  for (int l = 0; l < shape.num_layers(); ++l) {
    const int in = shape.sizes[static_cast<std::size_t>(l)], out = shape.sizes[static_cast<std::size_t>(l) + 1];
    LayerCoefficients c;
    if (sharing == Sharing::layer) {
      c.a = static_cast<float>(theta(k));
      c.b = static_cast<float>(theta(k + 1));
      c.c = static_cast<float>(theta(k + 2));
      c.d = static_cast<float>(theta(k + 3));
      k += 4;
    } else {
      Matrix* m[4] = {&c.A, &c.B, &c.C, &c.D};
      for (auto* x : m) x->resize(out, in);
      for (int i = 0; i < out; ++i) {
        for (int j = 0; j < in; ++j) {
          // neuron: one group per row i (read again for every j); synapse: one per (i, j).
          const Eigen::Index at = sharing == Sharing::neuron ? k + 4 * i : k;
          for (int q = 0; q < 4; ++q) (*m[q])(i, j) = static_cast<float>(theta(at + q));
          if (sharing == Sharing::synapse) k += 4;
        }
      }
      if (sharing == Sharing::neuron) k += 4 * out;
    }
    layers_.push_back(std::move(c));
  }
}

std::unique_ptr<RuleState> AbcdRule::make_state(const Mlp& net, int, RandomStream) const {
  if (sharing_ != Sharing::global && net.shape().sizes != shape_.sizes)
    throw Error("rule abcd: " + sharing_name(sharing_) + " coefficients are for " + shape_.str() +
                ", the student is " + net.shape().str());
  auto s = std::make_unique<AbcdState>();
  for (int l = 0; l < net.num_layers(); ++l) {
    const auto in = net.weight(l).cols(), out = net.weight(l).rows();
    s->pre.emplace_back(in);
    s->post.emplace_back(out);
    s->correlation.emplace_back(out, in);
  }
  return s;
}

namespace {

// The one-sample Hebbian terms of a layer, t_ij = (A_ij·post_i + B_ij)·pre_j + C_ij·post_i + D_ij
// (coefficients as matrices: neuron and synapse sharing), combined into out as
// out_ij = scale·t_ij (Accumulate false) or out_ij += scale·t_ij (true: the SGD step on W
// itself). Cols > 0 fixes the row length at compile time: CartPole's first layer has 4
// inputs, too few for the vectorized loop of a run-time length (it left those rows to scalar code).
template <int Cols, bool Accumulate>
void synapse_terms(const Matrix& A, const Matrix& B, const Matrix& C, const Matrix& D, const float* pre,
                   const float* post, float scale, Matrix& out_matrix) {
  const Eigen::Index rows = out_matrix.rows(), cols = Cols > 0 ? Cols : out_matrix.cols();
  for (Eigen::Index i = 0; i < rows; ++i) {
    const Eigen::Index o = i * cols;
    const float p = post[i];
    const float *__restrict a = A.data() + o, *__restrict b = B.data() + o, *__restrict c = C.data() + o,
                *__restrict d = D.data() + o;
    float* __restrict out = out_matrix.data() + o;
    for (Eigen::Index j = 0; j < cols; ++j) {
      const float t = (a[j] * p + b[j]) * pre[j] + c[j] * p + d[j];
      if constexpr (Accumulate) out[j] += scale * t;
      else out[j] = scale * t;
    }
  }
}

// The same for one (A, B, C, D) per layer (global and layer sharing).
template <bool Accumulate>
void shared_terms(float A, float B, float C, float D, const float* pre, const float* post, float scale,
                  Matrix& out_matrix) {
  const Eigen::Index rows = out_matrix.rows(), cols = out_matrix.cols();
  for (Eigen::Index i = 0; i < rows; ++i) {
    const float ap_b = scale * (A * post[i] + B), cp_d = scale * (C * post[i] + D);
    float* __restrict out = out_matrix.data() + i * cols;
    for (Eigen::Index j = 0; j < cols; ++j) {
      if constexpr (Accumulate) out[j] += ap_b * pre[j] + cp_d;
      else out[j] = ap_b * pre[j] + cp_d;
    }
  }
}

}  // namespace

template <bool Accumulate>
void AbcdRule::one_sample_terms(int l, const ForwardCache& cache, float scale, Matrix& out) const {
  const float* pre = cache.h(l).data();
  const float* post = cache.h(l + 1).data();
  const LayerCoefficients& k = coefficients(l);
  if (sharing_ == Sharing::global || sharing_ == Sharing::layer)
    shared_terms<Accumulate>(k.a, k.b, k.c, k.d, pre, post, scale, out);
  else if (out.cols() == 4)
    synapse_terms<4, Accumulate>(k.A, k.B, k.C, k.D, pre, post, scale, out);
  else
    synapse_terms<0, Accumulate>(k.A, k.B, k.C, k.D, pre, post, scale, out);
}

void AbcdRule::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<AbcdState&>(state);
  const int n = s.cache.rows();
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int l = 0; l < s.net.num_layers(); ++l) {
    auto& pre = st.pre[static_cast<std::size_t>(l)];
    auto& post = st.post[static_cast<std::size_t>(l)];
    auto& corr = st.correlation[static_cast<std::size_t>(l)];
    const LayerCoefficients& k = coefficients(l);
    Matrix& dw = out.dW[static_cast<std::size_t>(l)];
    const Eigen::Index rows = dw.rows(), cols = dw.cols();
    if (n == 1) {   // one sample (control, online learning): the correlation is pre·post itself
      one_sample_terms<false>(l, s.cache, -1.0f, dw);   // the optimizer subtracts: −Δw/η
      out.db[static_cast<std::size_t>(l)].setZero();
      continue;
    }
    pre = s.cache.h(l).colwise().sum();
    pre *= inv_n;
    post = s.cache.h(l + 1).colwise().sum().transpose();
    post *= inv_n;
    corr.noalias() = s.cache.h(l + 1).transpose() * s.cache.h(l);
    corr *= inv_n;
    // The optimizer subtracts: write −Δw/η.
    if (sharing_ == Sharing::global || sharing_ == Sharing::layer) {
      for (Eigen::Index i = 0; i < rows; ++i) {
        const float c_post = k.c * post(i) + k.d;
        const float* cr = corr.data() + i * cols;
        float* d = dw.data() + i * cols;
        for (Eigen::Index j = 0; j < cols; ++j) d[j] = -(k.a * cr[j] + k.b * pre(j) + c_post);
      }
    } else {
      for (Eigen::Index i = 0; i < rows; ++i) {
        const float p = post(i);
        const Eigen::Index o = i * cols;
        const float *A = k.A.data() + o, *B = k.B.data() + o, *C = k.C.data() + o, *D = k.D.data() + o;
        const float* cr = corr.data() + o;
        const float* pr = pre.data();
        float* d = dw.data() + o;
        for (Eigen::Index j = 0; j < cols; ++j) d[j] = -(A[j] * cr[j] + B[j] * pr[j] + C[j] * p + D[j]);
      }
    }
    out.db[static_cast<std::size_t>(l)].setZero();
  }
}

namespace {

// Divides w by m = max |w| (given), as Najarro & Risi do after every update. Computed as
// w·(1/m): a division per weight was a tenth of a CartPole step. The product differs from the
// quotient by at most one ulp; clamping to ±1 and, when m·(1/m) rounds below 1, setting the
// weights that reach it to ±1 keep the largest |w| exactly 1. A layer whose weights are all
// zero (or not finite) is left as it is.
void divide_by_max(Matrix& w, float m) {
  if (!(m > 0.0f) || !std::isfinite(m)) return;
  const float r = 1.0f / m, top = m * r;
  float* __restrict v = w.data();
  const Eigen::Index size = w.size();
  for (Eigen::Index q = 0; q < size; ++q) v[q] = std::clamp(v[q] * r, -1.0f, 1.0f);
  if (top < 1.0f)
    for (Eigen::Index q = 0; q < size; ++q)
      if (std::abs(v[q]) == top) v[q] = std::copysign(1.0f, v[q]);
}

}  // namespace

void AbcdRule::after_update(Mlp& net, RuleState&) const {
  if (!normalize_) return;
  for (int l = 0; l < net.num_layers(); ++l) divide_by_max(net.weight(l), net.weight(l).cwiseAbs().maxCoeff());
}

bool AbcdRule::apply_sgd_step(const StepSignals& s, RuleState&, float eta, Mlp& net) const {
  if (s.cache.rows() != 1) return false;
  for (int l = 0; l < net.num_layers(); ++l) {
    Matrix& w = net.weight(l);
    one_sample_terms<true>(l, s.cache, eta, w);
    if (normalize_) divide_by_max(w, w.cwiseAbs().maxCoeff());
  }
  return true;
}

double AbcdRule::update_flops(const MlpShape& shape, int batch) const {
  double flops = 0.0;
  for (int l = 0; l < shape.num_layers(); ++l)
    flops += 2.0 * batch * shape.sizes[static_cast<std::size_t>(l)] * shape.sizes[static_cast<std::size_t>(l) + 1];
  return flops;
}

std::shared_ptr<const RuleSpace> abcd_space(const MlpShape& shape, Sharing sharing, bool normalize) {
  return std::make_shared<AbcdSpace>(shape, sharing, normalize);
}

RuleSpaceFactory abcd_space_factory() {
  RuleSpaceFactory f;
  f.keys = {{"sharing", "sharing levels"}};
  f.each_only = "an array space (sharing) searches every coefficient: use `each`";
  f.read = [](const ConfigNode& section) {
    SpaceOptions o;
    if (auto sharing = section.find("sharing"))
      o["sharing"] = read_choice(*sharing, [](const std::string& s) { return sharing_name(parse_sharing(s)); });
    return o;
  };
  f.make = [](const SpaceOptions& o, const ParamValues& params, const MlpShape& shape) {
    return abcd_space(shape, parse_sharing(o.at("sharing")), params.at("normalize") != 0.0);
  };
  return f;
}

}  // namespace plast
