#include "rules/polynomial_hebbian.hpp"

namespace plast {
namespace {

struct PolynomialState final : RuleState {
  // Per layer: powers of pre (index a = 1, 2) and post (b = 1, 2) for a batch, the batch mean
  // of post^b ⊗ pre^a, and the weight polynomial Σ_c θ_abc w^c.
  std::vector<std::array<Matrix, 3>> pre, post;
  std::vector<Matrix> correlation, weight_poly;
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<PolynomialState>(*this); }
};

}  // namespace

std::string PolynomialHebbian::term_name(int a, int b, int c) {
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
  return s.empty() ? "1" : s;
}

std::vector<ParamSpec> PolynomialHebbian::params() {
  std::vector<ParamSpec> specs;
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 3; ++c) {
        const std::string name = term_name(a, b, c);
        const double oja = name == "pre*post" ? 1.0 : name == "post^2*w" ? -1.0 : 0.0;
        specs.push_back({name, oja, -1e3, 1e3, "coefficient of " + name + " (default: Oja's rule)"});
      }
  return specs;
}

PolynomialHebbian::PolynomialHebbian(const ParamValues& p) {
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b) {
      bool active = false;
      for (int c = 0; c < 3; ++c) {
        theta_[a][b][c] = p.at(term_name(a, b, c));
        active |= theta_[a][b][c] != 0.0;
      }
      if (active) active_pairs_.emplace_back(a, b);
    }
}

std::unique_ptr<RuleState> PolynomialHebbian::make_state(const Mlp& net, int capacity, RandomStream) const {
  auto s = std::make_unique<PolynomialState>();
  for (int l = 0; l < net.num_layers(); ++l) {
    const auto in = net.weight(l).cols(), out = net.weight(l).rows();
    s->pre.push_back({Matrix::Ones(capacity, in), Matrix(capacity, in), Matrix(capacity, in)});
    s->post.push_back({Matrix::Ones(capacity, out), Matrix(capacity, out), Matrix(capacity, out)});
    s->correlation.emplace_back(out, in);
    s->weight_poly.emplace_back(out, in);
  }
  return s;
}

void PolynomialHebbian::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<PolynomialState&>(state);
  const int n = s.cache.rows();
  const float inv_n = 1.0f / static_cast<float>(n);
  for (int l = 0; l < s.net.num_layers(); ++l) {
    auto& pre = st.pre[l];
    auto& post = st.post[l];
    pre[1].topRows(n) = s.cache.h(l);
    pre[2].topRows(n) = pre[1].topRows(n).cwiseAbs2();
    post[1].topRows(n) = s.cache.h(l + 1);
    post[2].topRows(n) = post[1].topRows(n).cwiseAbs2();
    const Matrix& w = s.net.weight(l);
    Matrix& dw = out.dW[l];
    dw.setZero();
    for (const auto& [a, b] : active_pairs_) {
      const auto& t = theta_[a][b];
      auto& poly = st.weight_poly[l];
      poly.array() = static_cast<float>(t[0]) + w.array() * (static_cast<float>(t[1]) + static_cast<float>(t[2]) * w.array());
      auto& corr = st.correlation[l];
      corr.noalias() = post[b].topRows(n).transpose() * pre[a].topRows(n);
      // Gradient sign: the optimizer subtracts, the rule's Δw is an increment.
      dw.array() -= inv_n * corr.array() * poly.array();
    }
    out.db[l].setZero();
  }
}

double PolynomialHebbian::update_flops(const MlpShape& shape, int batch) const {
  double flops = 0.0;
  for (int l = 0; l < shape.num_layers(); ++l)
    flops += 2.0 * batch * shape.sizes[l] * shape.sizes[l + 1] * static_cast<double>(active_pairs_.size());
  return flops;
}

}  // namespace plast
