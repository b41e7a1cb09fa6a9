#include "rules/polynomial_hebbian.hpp"

#include "lib/random_matrix.hpp"

namespace plast {
namespace {

struct PolynomialState final : RuleState {
  // Per layer: powers of pre (a = 0, 1, 2) and post factors post^b · m^d (b = 0..2, d = 0..1)
  // for a batch, the batch mean of post-factor ⊗ pre^a, and the weight polynomial Σ_c θ w^c.
  std::vector<std::array<Matrix, 3>> pre;
  std::vector<std::array<std::array<Matrix, 2>, 3>> post;
  std::vector<Matrix> correlation, weight_poly;
  std::vector<Matrix> feedback;   // modulator error: D_l (n_{l+1} × n_out), hidden layers only
  Matrix error;                   // the batch's output error e (capacity × n_out)
  double reward_mean = 0.0;
  bool seen_reward = false;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<PolynomialState>(*this); }
};

constexpr double kBaselineRate = 0.1;

}  // namespace

std::string PolynomialHebbian::term_name(int a, int b, int c, int d) {
  std::string s;
  auto add = [&](const char* base, int power) {
    if (power == 0) return;
    if (!s.empty()) s += "*";
    s += base;
    if (power == 2) s += "^2";
  };
  add("pre", a);
  add("post", b);
  add("w", c);
  add("m", d);
  return s.empty() ? "1" : s;
}

std::vector<ParamSpec> PolynomialHebbian::params(bool third_factor) {
  std::vector<ParamSpec> specs;
  for (int d = 0; d < (third_factor ? 2 : 1); ++d)
    for (int a = 0; a < 3; ++a)
      for (int b = 0; b < 3; ++b)
        for (int c = 0; c < 3; ++c) {
          const std::string name = term_name(a, b, c, d);
          // Defaults: Oja's rule without a third factor; with one, the error-modulated delta
          // rule Δw = pre·m (DFA without the derivative).
          const double fallback = third_factor ? (name == "pre*m" ? 1.0 : 0.0)
                                               : name == "pre*post" ? 1.0 : name == "post^2*w" ? -1.0 : 0.0;
          ParamSpec spec{name, fallback, -1e3, 1e3,
                         "coefficient of " + name + (third_factor ? " (default: Δw = pre·m)" : " (default: Oja's rule)")};
          spec.coefficient = true;
          specs.push_back(spec);
        }
  specs.push_back({"normalize", 0, 0, 1, "1: divide each layer by its max |w| after every update", true});
  if (third_factor) {
    specs.push_back({"modulator", 1, 0, 3, "third factor m: 0 none, 1 error via random feedback, 2 reward, "
                                           "3 reward minus its running mean", true});
    specs.push_back({"feedback_scale", 1.0, 0.0, 100.0, "D_l entries ~ U(±scale·glorot(n_l+1, n_out))"});
  }
  return specs;
}

PolynomialHebbian::PolynomialHebbian(const ParamValues& p, bool third_factor) : third_factor_(third_factor) {
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      for (int d = 0; d < (third_factor ? 2 : 1); ++d) {
        bool active = false;
        for (int c = 0; c < 3; ++c) {
          theta_[a][b][c][d] = p.at(term_name(a, b, c, d));
          active |= theta_[a][b][c][d] != 0.0;
        }
        if (active) active_.push_back({a, b, d});
      }
  normalize_ = p.at("normalize") != 0.0;
  if (third_factor) {
    modulator_ = static_cast<Modulator>(static_cast<int>(p.at("modulator")));
    feedback_scale_ = static_cast<float>(p.at("feedback_scale"));
  }
}

std::unique_ptr<RuleState> PolynomialHebbian::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  auto s = std::make_unique<PolynomialState>();
  const int out = net.output_size();
  for (int l = 0; l < net.num_layers(); ++l) {
    const auto in = net.weight(l).cols(), width = net.weight(l).rows();
    s->pre.push_back({Matrix::Ones(capacity, in), Matrix(capacity, in), Matrix(capacity, in)});
    std::array<std::array<Matrix, 2>, 3> post;
    for (auto& pb : post) pb = {Matrix(capacity, width), Matrix(capacity, width)};
    post[0][0].setOnes();
    s->post.push_back(std::move(post));
    s->correlation.emplace_back(width, in);
    s->weight_poly.emplace_back(width, in);
    if (modulator_ == Modulator::error && l + 1 < net.num_layers()) {
      const float limit = feedback_scale_ * glorot_limit(width, out);
      RandomStream layer_rng = rng.child({static_cast<std::uint64_t>(l)});
      s->feedback.push_back(uniform_matrix(width, out, layer_rng, -limit, limit));
    }
  }
  s->error = Matrix(capacity, out);
  return s;
}

void PolynomialHebbian::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<PolynomialState&>(state);
  const int n = s.cache.rows();
  const float inv_n = 1.0f / static_cast<float>(n);
  const int layers = s.net.num_layers();
  // The global reward of a batch (modulators 2 and 3) is −½‖e‖² per sample, e = ∂L/∂z_out:
  // the squared-error loss itself, and for softmax cross-entropy a measure of the same error.
  float reward = 0.0f;
  if (modulator_ == Modulator::error || modulator_ == Modulator::reward || modulator_ == Modulator::reward_baseline)
    st.error.topRows(n) = s.output_delta * static_cast<float>(n);   // per-sample e = ∂L/∂z_out
  if (modulator_ == Modulator::reward || modulator_ == Modulator::reward_baseline) {
    const double r = -0.5 * static_cast<double>(st.error.topRows(n).squaredNorm()) / n;
    double m = r;
    if (modulator_ == Modulator::reward_baseline) {
      if (!st.seen_reward) st.reward_mean = r, st.seen_reward = true;
      m = r - st.reward_mean;
      st.reward_mean += kBaselineRate * (r - st.reward_mean);
    }
    reward = static_cast<float>(m);
  }
  for (int l = 0; l < layers; ++l) {
    auto& pre = st.pre[l];
    auto& post = st.post[l];
    pre[1].topRows(n) = s.cache.h(l);
    pre[2].topRows(n) = pre[1].topRows(n).cwiseAbs2();
    post[1][0].topRows(n) = s.cache.h(l + 1);
    post[2][0].topRows(n) = post[1][0].topRows(n).cwiseAbs2();
    if (third_factor_) {
      auto m = post[0][1].topRows(n);
      switch (modulator_) {
        case Modulator::none: m.setZero(); break;
        case Modulator::error:
          if (l + 1 == layers) m.noalias() = -st.error.topRows(n);
          else m.noalias() = -st.error.topRows(n) * st.feedback[l].transpose();
          break;
        case Modulator::reward:
        case Modulator::reward_baseline: m.setConstant(reward); break;
      }
      post[1][1].topRows(n) = post[1][0].topRows(n).cwiseProduct(m);
      post[2][1].topRows(n) = post[2][0].topRows(n).cwiseProduct(m);
    }
    const Matrix& w = s.net.weight(l);
    Matrix& dw = out.dW[l];
    dw.setZero();
    for (const auto& [a, b, d] : active_) {
      auto& poly = st.weight_poly[l];
      const float t0 = static_cast<float>(theta_[a][b][0][d]), t1 = static_cast<float>(theta_[a][b][1][d]),
                  t2 = static_cast<float>(theta_[a][b][2][d]);
      poly.array() = t0 + w.array() * (t1 + t2 * w.array());
      auto& corr = st.correlation[l];
      // pre[0] and post[0][0] are ones: a zero power makes this the batch sum of the other factor.
      corr.noalias() = post[b][d].topRows(n).transpose() * pre[a].topRows(n);
      // Gradient sign: the optimizer subtracts, the rule's Δw is an increment.
      dw.array() -= inv_n * corr.array() * poly.array();
    }
    out.db[l].setZero();
  }
}

void normalize_layers(Mlp& net) {
  for (int l = 0; l < net.num_layers(); ++l) {
    const float largest = net.weight(l).cwiseAbs().maxCoeff();
    if (largest > 0.0f) net.weight(l) /= largest;
  }
}

void PolynomialHebbian::after_update(Mlp& net, RuleState&) const {
  if (normalize_) normalize_layers(net);
}

double PolynomialHebbian::update_flops(const MlpShape& shape, int batch) const {
  double flops = 0.0;
  for (int l = 0; l < shape.num_layers(); ++l)
    flops += 2.0 * batch * shape.sizes[l] * shape.sizes[l + 1] * static_cast<double>(active_.size());
  return flops;
}

}  // namespace plast
