#include "rules/learned_optimizer.hpp"

#include <algorithm>
#include <cmath>

#include "lib/error.hpp"

namespace plast {
namespace {

constexpr int kBlock = 64;   // parameters per MLP block (fixed-size temporaries on the stack)
constexpr int kAll = LearnedOptimizer::kInputs + LearnedOptimizer::kTime;
constexpr double kTimeScales[LearnedOptimizer::kTime] = {10.0, 100.0, 1000.0};

struct LearnedOptimizerState final : RuleState {
  DeltaBuffers buffers;
  Gradients m_fast, m_slow, v;   // the traces, shaped as the network
  long long t = 0;               // steps taken (t = 1 at the first update)
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<LearnedOptimizerState>(*this); }
};

using BlockRow = Eigen::Array<float, 1, Eigen::Dynamic, Eigen::RowMajor, 1, kBlock>;
using BlockX = Eigen::Matrix<float, LearnedOptimizer::kInputs, Eigen::Dynamic, Eigen::ColMajor, LearnedOptimizer::kInputs,
                             kBlock>;
using BlockH = Eigen::Matrix<float, LearnedOptimizer::kHidden, Eigen::Dynamic, Eigen::ColMajor, LearnedOptimizer::kHidden,
                             kBlock>;

// Per-step constants shared by every parameter.
struct StepConstants {
  float b_f, b_s, b_v;           // trace rates
  float inv_cf, inv_cs;          // 1 / (1 − βᵗ): bias corrections of the momenta
  float inv_sqrt_cv, eps;        // 1 / √(1 − β_vᵗ), ε
  float log_step;                // θ_lr + θ_tᵀ τ (the whole log step when the MLP is silent)
  Eigen::Matrix<float, LearnedOptimizer::kHidden, 1> hidden_bias;   // θ_b + W_τ τ
};

void check_options(const LearnedOptimizerOptions& o) {
  if (o.base != 0 && o.base != 1) throw InvalidValue("base", o.base, "must be 0 (sgd) or 1 (adam)");
  if (!(o.lr >= 0.0) || !std::isfinite(o.lr)) throw InvalidValue("lr", o.lr, "must be >= 0");
  for (auto [name, beta] : {std::pair{"beta_fast", o.beta_fast}, {"beta_slow", o.beta_slow}, {"beta_rms", o.beta_rms}})
    if (!(beta >= 0.0 && beta < 1.0)) throw InvalidValue(name, beta, "must be in [0, 1)");
  if (!(o.epsilon > 0.0) || !std::isfinite(o.epsilon)) throw InvalidValue("epsilon", o.epsilon, "must be > 0");
}

}  // namespace

const std::vector<std::string>& LearnedOptimizer::names() {
  static const std::vector<std::string> names = [] {
    const char* inputs[kAll] = {"g", "m_fast", "m_slow", "w", "t10", "t100", "t1000"};
    std::vector<std::string> n = {"dir_g", "dir_m_fast", "dir_m_slow", "dir_w",
                                  "log_lr", "log_lr_t10", "log_lr_t100", "log_lr_t1000"};
    for (int i = 0; i < kHidden; ++i)
      for (int j = 0; j < kAll; ++j) n.push_back("mlp_in[" + std::to_string(i) + "][" + std::string(inputs[j]) + "]");
    for (const char* part : {"mlp_bias", "mlp_dir", "mlp_mag"})
      for (int i = 0; i < kHidden; ++i) n.push_back(std::string(part) + "[" + std::to_string(i) + "]");
    return n;
  }();
  return names;
}

std::vector<ParamSpec> LearnedOptimizer::params() {
  std::vector<ParamSpec> p = {
      {"base", 1, 0, 1, "what theta = 0 is: 0 plain SGD (u = g), 1 Adam (u = m_fast^ / rho, beta1 = beta_fast, "
                        "beta2 = beta_rms)", true},
      {"lr", 1.0, 0.0, 1e6, "scales every update u = lr exp(s) d (times the optimizer's lr)"},
      {"beta_fast", 0.9, 0.0, 0.9999, "rate of the fast momentum trace m_fast (and Adam's beta1 for base 1)"},
      {"beta_slow", 0.99, 0.0, 0.9999, "rate of the slow momentum trace m_slow"},
      {"beta_rms", 0.999, 0.0, 0.9999, "rate of the second moment v: rho = sqrt(v^) + epsilon normalizes the features"},
      {"epsilon", 1e-8, 1e-12, 1.0, "epsilon of rho"},
      {"init_seed", 0, 0, 4294967295.0, "seed of the fixed random input weights of the MLP (theta's mlp_in are "
                                        "offsets from them)", true},
  };
  const auto& n = names();
  for (std::size_t k = 0; k < n.size(); ++k) {
    std::string help;
    if (k < 4) help = "direction coefficient of the feature " + n[k].substr(4);
    else if (k == 4) help = "log step size (constant)";
    else if (k < 8) help = "log step size per time feature " + n[k].substr(7);
    else help = "weight of the per-parameter MLP";
    p.push_back({n[k], 0.0, -100.0, 100.0, help, false, false, true});
  }
  return p;
}

LearnedOptimizerOptions LearnedOptimizer::options(const ParamValues& p) {
  LearnedOptimizerOptions o;
  o.base = static_cast<int>(p.at("base"));
  o.lr = p.at("lr");
  o.beta_fast = p.at("beta_fast");
  o.beta_slow = p.at("beta_slow");
  o.beta_rms = p.at("beta_rms");
  o.epsilon = p.at("epsilon");
  o.init_seed = static_cast<std::uint64_t>(p.at("init_seed"));
  return o;
}

Eigen::VectorXd LearnedOptimizer::theta(const ParamValues& p) {
  const auto& n = names();
  Eigen::VectorXd t(kDimension);
  for (int k = 0; k < kDimension; ++k) {
    const auto it = p.find(n[static_cast<std::size_t>(k)]);
    t(k) = it == p.end() ? 0.0 : it->second;
  }
  return t;
}

Eigen::Matrix<float, LearnedOptimizer::kHidden, kAll> LearnedOptimizer::base_input_weights(std::uint64_t init_seed) {
  RandomStream rng(init_seed, Purpose::init_weights, {kLearnedOptimizerStream});
  const auto limit = static_cast<float>(std::sqrt(6.0 / (kAll + kHidden)));   // Glorot
  Eigen::Matrix<float, kHidden, kAll> w;
  for (int i = 0; i < kHidden; ++i)
    for (int j = 0; j < kAll; ++j) w(i, j) = rng.uniform(-limit, limit);
  return w;
}

LearnedOptimizer::LearnedOptimizer(const LearnedOptimizerOptions& options, const Eigen::Ref<const Eigen::VectorXd>& theta)
    : options_(options), theta_(theta) {
  check_options(options_);
  if (theta.size() != kDimension)
    throw InvalidValue("theta", theta.size(), "must have " + std::to_string(kDimension) + " values");
  for (int k = 0; k < kDimension; ++k)
    if (!std::isfinite(theta(k))) throw InvalidValue(names()[static_cast<std::size_t>(k)], theta(k), "must be finite");
  int k = 0;
  for (int j = 0; j < kInputs; ++j) dir_(j) = static_cast<float>(theta(k++));
  log_lr_ = static_cast<float>(theta(k++));
  for (int j = 0; j < kTime; ++j) log_lr_t_(j) = static_cast<float>(theta(k++));
  const auto base = base_input_weights(options_.init_seed);
  for (int i = 0; i < kHidden; ++i)
    for (int j = 0; j < kAll; ++j) w_in_(i, j) = static_cast<float>(static_cast<double>(base(i, j)) + theta(k++));
  for (int i = 0; i < kHidden; ++i) b_(i) = static_cast<float>(theta(k++));
  for (int i = 0; i < kHidden; ++i) w_dir_(i) = static_cast<float>(theta(k++));
  for (int i = 0; i < kHidden; ++i) w_mag_(i) = static_cast<float>(theta(k++));
  mlp_silent_ = (w_dir_.array() == 0.0f).all() && (w_mag_.array() == 0.0f).all();
}

std::unique_ptr<RuleState> LearnedOptimizer::make_state(const Mlp& net, int capacity, RandomStream) const {
  auto s = std::make_unique<LearnedOptimizerState>();
  s->buffers = DeltaBuffers(net.shape(), capacity);
  s->m_fast = Gradients::like(net);
  s->m_slow = Gradients::like(net);
  s->v = Gradients::like(net);
  return s;
}

double LearnedOptimizer::update_of(double grad, const std::array<double, kInputs>& x, long long t) const {
  double tau[kTime];
  for (int j = 0; j < kTime; ++j) tau[j] = std::tanh(static_cast<double>(t) / kTimeScales[j]);
  double d = options_.base == 0 ? grad : x[1];
  double s = log_lr_;
  for (int j = 0; j < kInputs; ++j) d += static_cast<double>(dir_(j)) * x[static_cast<std::size_t>(j)];
  for (int j = 0; j < kTime; ++j) s += static_cast<double>(log_lr_t_(j)) * tau[j];
  for (int i = 0; i < kHidden; ++i) {
    double a = b_(i);
    for (int j = 0; j < kInputs; ++j) a += static_cast<double>(w_in_(i, j)) * x[static_cast<std::size_t>(j)];
    for (int j = 0; j < kTime; ++j) a += static_cast<double>(w_in_(i, kInputs + j)) * tau[j];
    const double h = std::tanh(a);
    d += static_cast<double>(w_dir_(i)) * h;
    s += static_cast<double>(w_mag_(i)) * h;
  }
  s = std::clamp(s, -static_cast<double>(kMaxLogStep), static_cast<double>(kMaxLogStep));
  return options_.lr * std::exp(s) * d;
}

namespace {

// One tensor (a layer's W or b, flat): traces, features, MLP, update written over the gradient.
void update_tensor(float* g_data, float* mf_data, float* ms_data, float* v_data, const float* w_data, Eigen::Index n,
                   const StepConstants& c, int base, float lr, const Eigen::Matrix<float, 1, LearnedOptimizer::kInputs>& dir,
                   const Eigen::Matrix<float, LearnedOptimizer::kHidden, kAll>& w_in,
                   const Eigen::Matrix<float, 1, LearnedOptimizer::kHidden>& w_dir,
                   const Eigen::Matrix<float, 1, LearnedOptimizer::kHidden>& w_mag, bool mlp_silent) {
  using Map = Eigen::Map<Eigen::Array<float, 1, Eigen::Dynamic>>;
  using ConstMap = Eigen::Map<const Eigen::Array<float, 1, Eigen::Dynamic>>;
  const float silent_factor = lr * std::exp(std::clamp(c.log_step, -LearnedOptimizer::kMaxLogStep,
                                                       LearnedOptimizer::kMaxLogStep));
  for (Eigen::Index start = 0; start < n; start += kBlock) {
    const Eigen::Index len = std::min<Eigen::Index>(kBlock, n - start);
    Map g(g_data + start, len), mf(mf_data + start, len), ms(ms_data + start, len), v(v_data + start, len);
    const ConstMap w(w_data + start, len);
    mf = c.b_f * mf + (1.0f - c.b_f) * g;
    ms = c.b_s * ms + (1.0f - c.b_s) * g;
    v = c.b_v * v + (1.0f - c.b_v) * g.square();
    BlockRow inv_rho(1, len);
    inv_rho = (v.sqrt() * c.inv_sqrt_cv + c.eps).inverse();
    BlockX x(LearnedOptimizer::kInputs, len);
    x.row(0).array() = g * inv_rho;
    x.row(1).array() = mf * c.inv_cf * inv_rho;
    x.row(2).array() = ms * c.inv_cs * inv_rho;
    x.row(3).array() = w;
    BlockRow d(1, len);
    d = base == 0 ? BlockRow(g) : BlockRow(x.row(1).array());
    d += (dir * x).array();
    if (mlp_silent) {
      g = silent_factor * d;
      continue;
    }
    BlockH h(LearnedOptimizer::kHidden, len);
    h.noalias() = w_in.leftCols<LearnedOptimizer::kInputs>() * x;
    h.colwise() += c.hidden_bias;
    h.array() = h.array().tanh();
    d += (w_dir * h).array();
    BlockRow s(1, len);
    s = ((w_mag * h).array() + c.log_step).min(LearnedOptimizer::kMaxLogStep).max(-LearnedOptimizer::kMaxLogStep);
    g = lr * s.exp() * d;
  }
}

}  // namespace

void LearnedOptimizer::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<LearnedOptimizerState&>(state);
  backprop_gradient(s.net, s.cache, s.output_delta, st.buffers, out);
  const long long t = ++st.t;
  const double td = static_cast<double>(t);
  StepConstants c;
  c.b_f = static_cast<float>(options_.beta_fast);
  c.b_s = static_cast<float>(options_.beta_slow);
  c.b_v = static_cast<float>(options_.beta_rms);
  c.inv_cf = static_cast<float>(1.0 / (1.0 - std::pow(options_.beta_fast, td)));
  c.inv_cs = static_cast<float>(1.0 / (1.0 - std::pow(options_.beta_slow, td)));
  c.inv_sqrt_cv = static_cast<float>(1.0 / std::sqrt(1.0 - std::pow(options_.beta_rms, td)));
  c.eps = static_cast<float>(options_.epsilon);
  Eigen::Matrix<float, kTime, 1> tau;
  for (int j = 0; j < kTime; ++j) tau(j) = static_cast<float>(std::tanh(td / kTimeScales[j]));
  c.log_step = log_lr_ + log_lr_t_.dot(tau.transpose());
  c.hidden_bias = b_ + w_in_.rightCols<kTime>() * tau;
  const auto lr = static_cast<float>(options_.lr);
  for (int l = 0; l < s.net.num_layers(); ++l) {
    const auto L = static_cast<std::size_t>(l);
    Matrix& gw = out.dW[L];
    update_tensor(gw.data(), st.m_fast.dW[L].data(), st.m_slow.dW[L].data(), st.v.dW[L].data(), s.net.weight(l).data(),
                  gw.size(), c, options_.base, lr, dir_, w_in_, w_dir_, w_mag_, mlp_silent_);
    RowVector& gb = out.db[L];
    update_tensor(gb.data(), st.m_fast.db[L].data(), st.m_slow.db[L].data(), st.v.db[L].data(), s.net.bias(l).data(),
                  gb.size(), c, options_.base, lr, dir_, w_in_, w_dir_, w_mag_, mlp_silent_);
  }
}

}  // namespace plast
