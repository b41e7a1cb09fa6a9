#include "rules/teacher_signal.hpp"

#include <cmath>

#include <Eigen/Cholesky>
#include <limits>

#include "lib/activation.hpp"
#include "lib/error.hpp"
#include "lib/random_matrix.hpp"
#include "rules/rule_space.hpp"

namespace plast {
namespace {

// ε of the forward model's ridge solve, relative to the mean diagonal of its moment C: keeps the
// system solvable before the batches seen span h̃ (and for units that never vary).
constexpr double kModelRidge = 1e-4;

// The teacher's forward model of the output from one hidden layer (h̃ = [h_l, 1], n_l + 1
// columns), every buffer sized once so a step allocates nothing. Moments in double: they sum
// thousands of batches and the solve must stay accurate.
struct ForwardModel {
  Eigen::MatrixXd moment;     // C = Σ_t λ^(T−t) h̃ᵀh̃: (n + 1)²
  Eigen::MatrixXd cross;      // D = Σ_t λ^(T−t) h̃ᵀ z_out: (n + 1) × m
  Eigen::MatrixXd system;     // C + εI
  Eigen::MatrixXd solved;     // (C + εI)⁻¹ D
  Eigen::LDLT<Eigen::MatrixXd> solver;
  Matrix model;               // M (n × m): the first n rows of `solved`
  Matrix batch_moment;        // hᵀh of this batch: n × n
  Matrix batch_cross;         // hᵀz_out: n × m
  ForwardModel(Eigen::Index n, Eigen::Index m)
      : moment(Eigen::MatrixXd::Zero(n + 1, n + 1)), cross(Eigen::MatrixXd::Zero(n + 1, m)),
        system(n + 1, n + 1), solved(n + 1, m), solver(n + 1), model(Matrix::Zero(n, m)), batch_moment(n, n),
        batch_cross(n, m) {}

  // One batch of the layer's activity h (B × n) and the output z (B × m): the moments decay by
  // λ = `memory` and take the batch in, and M is read out by the ridge least-squares solve.
  void observe(const Eigen::Ref<const Matrix>& h, const Eigen::Ref<const Matrix>& z, double memory) {
    const Eigen::Index w = h.cols();
    batch_moment.noalias() = h.transpose() * h;
    batch_cross.noalias() = h.transpose() * z;
    moment *= memory;
    cross *= memory;
    moment.topLeftCorner(w, w) += batch_moment.cast<double>();
    for (Eigen::Index j = 0; j < w; ++j) {   // the bias input's row and column: Σ_i h_ij
      const double sum = static_cast<double>(h.col(j).sum());
      moment(w, j) += sum;
      moment(j, w) += sum;
    }
    moment(w, w) += static_cast<double>(h.rows());
    cross.topRows(w) += batch_cross.cast<double>();
    for (Eigen::Index k = 0; k < z.cols(); ++k) cross(w, k) += static_cast<double>(z.col(k).sum());
    system = moment;
    system.diagonal().array() += kModelRidge * moment.trace() / static_cast<double>(w + 1);
    solver.compute(system);
    solved = solver.solve(cross);
    model = solved.topRows(w).cast<float>();
  }
};

struct TeacherSignalState final : RuleState {
  std::vector<Matrix> feedback;   // exp(g_l)·D_l per hidden layer (n_l × m)
  Matrix inputs;                  // u = [y, ŷ, e]: capacity × 3m (u = e: capacity × m if error_only)
  Matrix hidden;                  // tanh(u V + c): capacity × k
  std::vector<float> model_gain, model_memory;   // forward_model: β_l, λ_l (θ, or the registered rule's `model`)
  std::vector<ForwardModel> models;              // one per hidden layer
  DeltaBuffers buffers;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<TeacherSignalState>(*this); }
};


int hidden_layers(const MlpShape& shape) { return shape.num_layers() - 1; }
int width(const MlpShape& shape, int l) { return shape.sizes[static_cast<std::size_t>(l) + 1]; }
int outputs(const MlpShape& shape) { return shape.sizes.back(); }
int teacher_inputs(const MlpShape& shape, const TeacherSignalOptions& o) { return (o.error_only ? 1 : 3) * outputs(shape); }

void check_options(const TeacherSignalOptions& o) {
  if (!(o.feedback_scale >= 0.0) || !std::isfinite(o.feedback_scale))
    throw InvalidValue("feedback_scale", o.feedback_scale, "must be >= 0");
  if (o.hidden < 0) throw InvalidValue("hidden", o.hidden, "must be >= 0");
  if (!(o.model >= 0.0) || !std::isfinite(o.model)) throw InvalidValue("model", o.model, "must be >= 0");
}

void check_network(const MlpShape& shape) {
  if (shape.num_layers() < 2)
    throw Error("rule teacher_signal: the student " + (shape.sizes.empty() ? std::string("network") : shape.str()) +
                " has no hidden layer to teach");
}

std::string input_name(int m, int i, bool error_only) {
  const char* kind = error_only ? "e" : i < m ? "y" : i < 2 * m ? "yhat" : "e";
  return kind + std::to_string(i % m);
}

class TeacherSignalSpace final : public RuleSpace {
 public:
  TeacherSignalSpace(MlpShape shape, const TeacherSignalOptions& options) : shape_(std::move(shape)), options_(options) {
    check_options(options_);
    check_network(shape_);
    names_ = TeacherSignal::names(shape_, options_);
  }
  const std::vector<std::string>& names() const override { return names_; }
  std::shared_ptr<const LearningRule> make(const Eigen::Ref<const Eigen::VectorXd>& theta) const override {
    return std::make_shared<TeacherSignal>(shape_, options_, theta);
  }
  ParamValues parameters(const Eigen::Ref<const Eigen::VectorXd>&) const override { return {}; }
  const std::string& rule() const override { return rule_; }

 private:
  MlpShape shape_;
  TeacherSignalOptions options_;
  std::vector<std::string> names_;
  std::string rule_ = "teacher_signal";
};

}  // namespace

std::vector<ParamSpec> TeacherSignal::params() {
  return {
      {"feedback_scale", 1.0, 0.0, 100.0, "fixed random pathway D_l ~ U(+-feedback_scale*glorot(n_l, n_out)), as DFA; 0: none"},
      {"hidden", 8, 0, 4096, "tanh units k of the learned teacher MLP tanh([y, yhat, e] V + c) U_l (0: none)", true},
      {"linear", 1, 0, 1, "1: the learned linear map [y, yhat, e] A_l as well", true},
      {"error_only", 0, 0, 1,
       "1: the teacher sees e only (e A_l + tanh(e V + c) U_l - tanh(c) U_l): its signal is 0 when e = 0", true},
      {"forward_model", 0, 0, 1,
       "1: the teacher also learns a linear model z_out ~ h_l M_l + b_l of the student (least squares on decaying "
       "moments) and sends "
       "model_hK * e M_l^T",
       true},
      {"model", 0.0, 0.0, 100.0,
       "the registered rule's model pathway: beta on every hidden layer, memory 0.5 (0: none); a searched teacher "
       "learns it in theta"},
  };
}

TeacherSignalOptions TeacherSignal::options(const ParamValues& p) {
  TeacherSignalOptions o;
  o.feedback_scale = p.at("feedback_scale");
  o.hidden = static_cast<int>(p.at("hidden"));
  o.linear = p.at("linear") != 0.0;
  o.error_only = p.at("error_only") != 0.0;
  o.forward_model = p.at("forward_model") != 0.0;
  o.model = p.at("model");
  return o;
}

int TeacherSignal::dimension(const MlpShape& shape, const TeacherSignalOptions& o) {
  const long in = teacher_inputs(shape, o), k = o.hidden;
  long n = hidden_layers(shape);   // the gains
  for (int l = 0; l < hidden_layers(shape); ++l) {
    if (o.linear) n += in * width(shape, l);
    n += k * width(shape, l);
  }
  if (k > 0) n += in * k + k;
  if (o.forward_model) n += 2L * hidden_layers(shape);
  return static_cast<int>(n);
}

std::vector<std::string> TeacherSignal::names(const MlpShape& shape, const TeacherSignalOptions& o) {
  const int m = outputs(shape), in = teacher_inputs(shape, o), k = o.hidden, layers = hidden_layers(shape);
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(dimension(shape, o)));
  auto h = [](int l) { return "h" + std::to_string(l + 1); };
  for (int l = 0; l < layers; ++l) out.push_back("g_" + h(l));
  if (o.linear)
    for (int l = 0; l < layers; ++l)
      for (int i = 0; i < in; ++i)
        for (int j = 0; j < width(shape, l); ++j)
          out.push_back("A_" + h(l) + "[" + input_name(m, i, o.error_only) + "][" + std::to_string(j) + "]");
  if (k > 0) {
    for (int i = 0; i < in; ++i)
      for (int j = 0; j < k; ++j) out.push_back("V[" + input_name(m, i, o.error_only) + "][" + std::to_string(j) + "]");
    for (int j = 0; j < k; ++j) out.push_back("c[" + std::to_string(j) + "]");
    for (int l = 0; l < layers; ++l)
      for (int i = 0; i < k; ++i)
        for (int j = 0; j < width(shape, l); ++j)
          out.push_back("U_" + h(l) + "[" + std::to_string(i) + "][" + std::to_string(j) + "]");
  }
  if (o.forward_model)
    for (int l = 0; l < layers; ++l) {
      out.push_back("model_" + h(l));
      out.push_back("model_memory_" + h(l));
    }
  return out;
}

TeacherSignal::TeacherSignal(const TeacherSignalOptions& options) : options_(options) {
  check_options(options_);
  uses_model_ = options_.model != 0.0;
}

TeacherSignal::TeacherSignal(const MlpShape& shape, const TeacherSignalOptions& options,
                             const Eigen::Ref<const Eigen::VectorXd>& theta)
    : shape_(shape), options_(options) {
  check_options(options_);
  check_network(shape_);
  if (options_.model != 0.0)
    throw InvalidValue("model", options_.model, "a teacher with θ learns its model pathway in θ (model_hK)");
  const int n = dimension(shape_, options_);
  if (theta.size() != n)
    throw InvalidValue("theta", theta.size(),
                       "must have " + std::to_string(n) + " values for a teacher (hidden " +
                           std::to_string(options_.hidden) + ", linear " + std::to_string(options_.linear ? 1 : 0) +
                           ", error_only " + std::to_string(options_.error_only ? 1 : 0) + ", forward_model " +
                           std::to_string(options_.forward_model ? 1 : 0) + ") of " + shape_.str());
  for (Eigen::Index k = 0; k < n; ++k)
    if (!std::isfinite(theta(k)))
      throw InvalidValue(names(shape_, options_)[static_cast<std::size_t>(k)], theta(k), "must be finite");

  const int in = teacher_inputs(shape_, options_), k = options_.hidden, layers = hidden_layers(shape_);
  Eigen::Index at = 0;
  // A block of θ as a rows × cols matrix (row-major, as names() lists it) times `unit`, in double
  // and rounded once.
  auto block = [&](int rows, int cols, double unit, bool& nonzero) {
    Matrix w(rows, cols);
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < cols; ++j) {
        const double v = theta(at++);
        nonzero |= v != 0.0;
        w(i, j) = static_cast<float>(unit * v);
      }
    return w;
  };
  for (int l = 0; l < layers; ++l) {
    const double gain = std::exp(theta(at));
    if (!std::isfinite(gain) || gain > std::numeric_limits<float>::max())
      throw InvalidValue(names(shape_, options_)[static_cast<std::size_t>(at)], theta(at),
                         "gives a gain exp(g) that is not a finite float");
    teacher_.gains.push_back(static_cast<float>(gain));
    ++at;
  }
  if (options_.linear)
    for (int l = 0; l < layers; ++l)
      teacher_.a.push_back(block(in, width(shape_, l), glorot_limit(in, width(shape_, l)), uses_linear_));
  if (k > 0) {
    bool unused = false;
    teacher_.v = block(in, k, glorot_limit(in, k), unused);
    teacher_.c = block(1, k, glorot_limit(in, k), unused);
    teacher_.tanh_c = teacher_.c.unaryExpr([](float v) { return std::tanh(v); });
    for (int l = 0; l < layers; ++l) teacher_.u.push_back(block(k, width(shape_, l), glorot_limit(k, width(shape_, l)), uses_mlp_));
  }
  if (options_.forward_model)
    for (int l = 0; l < layers; ++l) {
      const double beta = theta(at++), memory = theta(at++);
      uses_model_ |= beta != 0.0;
      teacher_.model.push_back(static_cast<float>(beta));
      teacher_.model_memory.push_back(static_cast<float>(1.0 / (1.0 + std::exp(-memory))));   // λ = σ(ℓ) ∈ (0, 1)
    }
}

void TeacherSignal::check_shape(const Mlp& net) const {
  if (shaped() && net.shape().sizes != shape_.sizes)
    throw Error("rule teacher_signal: the teacher is for " + shape_.str() + ", the student is " + net.shape().str());
}

std::unique_ptr<RuleState> TeacherSignal::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  check_shape(net);
  auto s = std::make_unique<TeacherSignalState>();
  s->buffers = DeltaBuffers(net.shape(), capacity);
  const int m = net.output_size();
  if (uses_linear_ || uses_mlp_) s->inputs = Matrix::Zero(capacity, (options_.error_only ? 1 : 3) * m);
  if (uses_mlp_) s->hidden = Matrix::Zero(capacity, options_.hidden);
  if (uses_model_) {
    if (!shaped()) {   // the registered rule: β = `model`, λ = σ(0) = 0.5 on every hidden layer
      s->model_gain.assign(static_cast<std::size_t>(net.num_layers() - 1), static_cast<float>(options_.model));
      s->model_memory.assign(static_cast<std::size_t>(net.num_layers() - 1), 0.5f);
    } else {
      s->model_gain = teacher_.model;
      s->model_memory = teacher_.model_memory;
    }
    for (int l = 0; l + 1 < net.num_layers(); ++l) s->models.emplace_back(net.weight(l).rows(), m);
  }
  // D_l exactly as DirectFeedbackAlignment draws it (same stream, same order), then its gain.
  for (int l = 0; l + 1 < net.num_layers(); ++l) {
    const int n = static_cast<int>(net.weight(l).rows());
    const float limit = static_cast<float>(options_.feedback_scale) * glorot_limit(n, m);
    RandomStream layer_rng = rng.child({static_cast<std::uint64_t>(l)});
    Matrix d = uniform_matrix(n, m, layer_rng, -limit, limit);
    if (shaped() && teacher_.gains[static_cast<std::size_t>(l)] != 1.0f) d *= teacher_.gains[static_cast<std::size_t>(l)];
    s->feedback.push_back(std::move(d));
  }
  return s;
}

double TeacherSignal::update_flops(const MlpShape& shape, int batch) const {
  const double m = shape.sizes.back(), in = (options_.error_only ? 1.0 : 3.0) * m, k = options_.hidden;
  double flops = 0.0;
  for (int l = 0; l < shape.num_layers(); ++l) {
    flops += 2.0 * batch * shape.sizes[l] * shape.sizes[l + 1];   // dW_l = δ_lᵀ h_l
    if (l + 1 < shape.num_layers()) {
      flops += 2.0 * batch * m * shape.sizes[l + 1];                       // e D_lᵀ
      if (uses_linear_) flops += 2.0 * batch * in * shape.sizes[l + 1];    // u A_l
      if (uses_mlp_) flops += 2.0 * batch * k * shape.sizes[l + 1];        // T U_l
      if (uses_model_) {   // h̃ᵀh̃, h̃ᵀz, e Mᵀ; the (n + 1)² solve for m right-hand sides
        const double n1 = shape.sizes[l + 1] + 1.0;
        flops += 2.0 * batch * n1 * n1 + 4.0 * batch * n1 * m + n1 * n1 * (n1 / 3.0 + 2.0 * m);
      }
    }
  }
  if (uses_mlp_) flops += 2.0 * batch * in * k;   // u V
  return flops;
}

void TeacherSignal::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<TeacherSignalState&>(state);
  const int n = s.cache.rows();
  const int last = s.net.num_layers() - 1;
  layer_gradient(s.cache, last, s.output_delta, out);
  const bool teaches = uses_linear_ || uses_mlp_;
  if (teaches) {   // u = [y, ŷ, e] (or e alone) with e = B·dL/dz_out: one sample's output error
    const int m = static_cast<int>(s.output_delta.cols());
    auto u = st.inputs.topRows(n);
    if (!options_.error_only) {
      u.leftCols(m) = s.target;
      u.middleCols(m, m) = s.cache.output();
    }
    u.rightCols(m) = s.output_delta * static_cast<float>(n);
    if (uses_mlp_) {
      auto t = st.hidden.topRows(n);
      t.noalias() = u * teacher_.v;
      t.rowwise() += teacher_.c;
      if (options_.error_only) {
        // Centred: a row with e = 0 has e V + c = c exactly, and std::tanh element by element (as
        // tanh_c was computed; Eigen's vectorized tanh may round a packet unlike a scalar) makes
        // its term tanh(c) − tanh(c) = 0 exactly.
        for (Eigen::Index i = 0; i < t.rows(); ++i)
          for (Eigen::Index j = 0; j < t.cols(); ++j) t(i, j) = std::tanh(t(i, j)) - teacher_.tanh_c(j);
      } else {
        t = t.array().tanh();
      }
    }
  }
  const float per_sample = 1.0f / static_cast<float>(n);   // s_l / B: the batch mean, as output_delta is
  for (int l = 0; l < last; ++l) {
    const auto li = static_cast<std::size_t>(l);
    auto delta = st.buffers.delta[li].topRows(n);
    delta.noalias() = s.output_delta * st.feedback[li].transpose();
    if (uses_model_ && st.model_gain[li] != 0.0f) {
      // The forward model watches this step's forward pass first (its moments decay by λ and take
      // the batch in; M is read out by a ridge least-squares solve), then sends β e Mᵀ; with
      // output_delta = e / B that is β · output_delta · Mᵀ, already a batch mean.
      ForwardModel& f = st.models[li];
      f.observe(s.cache.h(l + 1), s.cache.z(last), st.model_memory[li]);
      delta.noalias() += st.model_gain[li] * (s.output_delta * f.model.transpose());
    }
    if (uses_linear_) delta.noalias() += per_sample * (st.inputs.topRows(n) * teacher_.a[static_cast<std::size_t>(l)]);
    if (uses_mlp_) delta.noalias() += per_sample * (st.hidden.topRows(n) * teacher_.u[static_cast<std::size_t>(l)]);
    multiply_by_derivative(s.net.activation(l), s.cache.z(l), s.cache.h(l + 1), delta);
    layer_gradient(s.cache, l, delta, out);
  }
}

std::shared_ptr<const RuleSpace> teacher_signal_space(const MlpShape& shape, const TeacherSignalOptions& options) {
  return std::make_shared<TeacherSignalSpace>(shape, options);
}

RuleSpaceFactory teacher_signal_space_factory() {
  RuleSpaceFactory f;
  f.keys = {{"search_teacher", "teacher to search"}};
  f.each_only = "a searched teacher is an array space: use `each`";
  f.read = [](const ConfigNode& section) {
    const auto teacher = section.find("search_teacher");
    if (!teacher || !teacher->as_bool()) return SpaceOptions{};
    if (auto model = section.find("model"))
      model->fail("a searched teacher learns its model pathway in θ (model_hK); `model` sets it for the registered "
                  "rule only");
    return SpaceOptions{{"search_teacher", "true"}};
  };
  f.make = [](const SpaceOptions&, const ParamValues& params, const MlpShape& shape) {
    return teacher_signal_space(shape, TeacherSignal::options(params));
  };
  return f;
}

}  // namespace plast
