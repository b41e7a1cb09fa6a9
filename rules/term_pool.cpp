#include "rules/term_pool.hpp"

#include <cmath>

#include "lib/random_matrix.hpp"

namespace plast {
namespace {

struct TermPoolState final : RuleState {
  std::vector<Matrix> feedback;   // feedback[l] = B_l (n_l × n_{l+1}), B_0 included
  DeltaBuffers buffers;           // buffers.delta[l] = e_{l+1}/batch at post of layer l
  Matrix input_error;             // e_in/batch at the input (capacity × n_0)
  std::vector<Matrix> gram;       // per layer, n_{l+1} × n_{l+1}: post postᵀ or e_post e_postᵀ
  std::vector<RowVector> row_scale;   // per layer, n_{l+1}: the batch mean of post_i² (Oja 1982)
  std::unique_ptr<RuleState> clone() const override { return std::make_unique<TermPoolState>(*this); }
};

const char* term_help(TermPool::Term t) {
  switch (t) {
    case TermPool::pseudo_grad: return "e_post pre^T through fixed random feedback (paper F0; FA's update)";
    case TermPool::error_hebb: return "e_post e_pre^T, errors at post and pre by feedback (paper F2)";
    case TermPool::oja_subspace: return "post pre^T - (post post^T) W, Oja's subspace rule (paper F9)";
    case TermPool::oja: return "post_i pre_j - post_i^2 w_ij, Oja 1982 (local form)";
    case TermPool::hebb: return "post pre^T, plain Hebb";
    case TermPool::decay: return "w: weight decay (shrinks w when > 0)";
    case TermPool::post_error: return "post e_pre^T (authors' code)";
    case TermPool::error_oja: return "e_post e_pre^T - (e_post e_post^T) W (authors' code)";
    case TermPool::term_count: break;
  }
  return "";
}

}  // namespace

const std::array<std::string, TermPool::term_count>& TermPool::term_names() {
  static const std::array<std::string, term_count> names = {
      "pseudo_grad", "error_hebb", "oja_subspace", "oja", "hebb", "decay", "post_error", "error_oja"};
  return names;
}

std::vector<ParamSpec> TermPool::params() {
  std::vector<ParamSpec> specs;
  for (int t = 0; t < term_count; ++t) {
    const auto term = static_cast<Term>(t);
    ParamSpec spec{term_names()[t], term == pseudo_grad ? 1.0 : 0.0, -1e3, 1e3,
                   std::string("coefficient of ") + term_help(term)};
    spec.coefficient = true;
    specs.push_back(spec);
  }
  specs.push_back({"scale", 1.0, 0.0, 100.0, "B_l entries ~ U(±scale·glorot(n_l, n_l+1)), as feedback_alignment"});
  specs.push_back({"symmetric", 0, 0, 1, "1: feedback W_l^T instead of B_l (backprop's errors; the paper's 'sym')", true});
  return specs;
}

TermPool::TermPool(const ParamValues& p)
    : scale_(static_cast<float>(p.at("scale"))), symmetric_(p.at("symmetric") != 0.0) {
  for (int t = 0; t < term_count; ++t) theta_[t] = p.at(term_names()[t]);
}

bool TermPool::uses_pre_error() const {
  return theta_[error_hebb] != 0.0 || theta_[post_error] != 0.0 || theta_[error_oja] != 0.0;
}

std::unique_ptr<RuleState> TermPool::make_state(const Mlp& net, int capacity, RandomStream rng) const {
  auto s = std::make_unique<TermPoolState>();
  s->buffers = DeltaBuffers(net.shape(), capacity);
  s->input_error = Matrix::Zero(capacity, net.input_size());
  // B_l for l ≥ 1 from the same child streams and range as FeedbackAlignment::make_state, so
  // that with the defaults this rule is FA given the same stream; B_0 (which FA never uses)
  // comes from child 0, which changes none of the others.
  for (int l = 0; l < net.num_layers(); ++l) {
    const auto& w = net.weight(l);
    const float limit = scale_ * glorot_limit(w.cols(), w.rows());
    RandomStream layer_rng = rng.child({static_cast<std::uint64_t>(l)});
    s->feedback.push_back(uniform_matrix(w.cols(), w.rows(), layer_rng, -limit, limit));
    s->gram.emplace_back(w.rows(), w.rows());
    s->row_scale.emplace_back(w.rows());
  }
  return s;
}

Matrix& TermPool::feedback(RuleState& state, int layer) {
  return static_cast<TermPoolState&>(state).feedback.at(static_cast<std::size_t>(layer));
}

void TermPool::compute_update(const StepSignals& s, RuleState& state, Gradients& out) const {
  auto& st = static_cast<TermPoolState&>(state);
  const int n = s.cache.rows();
  const float nf = static_cast<float>(n);
  const int last = s.net.num_layers() - 1;
  const bool need_input_error = uses_pre_error();
  auto th = [&](Term t) { return static_cast<float>(theta_[t]); };
  st.buffers.delta[last].topRows(n) = s.output_delta;
  for (int l = last; l >= 0; --l) {
    // δ = e/n: the errors carry the batch mean of output_delta.
    auto e_post = st.buffers.delta[l].topRows(n);
    // The error one layer down first: the terms of layer l read it as e_pre.
    if (l > 0) {
      auto below = st.buffers.delta[l - 1].topRows(n);
      if (symmetric_) below.noalias() = e_post * s.net.weight(l);
      else below.noalias() = e_post * st.feedback[l].transpose();
      multiply_by_derivative(s.net.activation(l - 1), s.cache.z(l - 1), s.cache.h(l), below);
    } else if (need_input_error) {
      auto in = st.input_error.topRows(n);
      if (symmetric_) in.noalias() = e_post * s.net.weight(0);
      else in.noalias() = e_post * st.feedback[0].transpose();
    }
    const auto e_pre = l > 0 ? st.buffers.delta[l - 1].topRows(n) : st.input_error.topRows(n);
    const auto pre = s.cache.h(l);
    const auto post = s.cache.h(l + 1);
    const Matrix& w = s.net.weight(l);
    Matrix& dw = out.dW[l];

    // F0 with FA's own code path, so the defaults give FA's update bit for bit.
    layer_gradient(s.cache, l, e_post, out);
    if (theta_[pseudo_grad] != 1.0) {
      dw *= th(pseudo_grad);
      out.db[l] *= th(pseudo_grad);
    }
    // Error terms: per-sample e = n·δ, averaged over the batch (1/n), hence the factors n.
    // error_hebb and error_oja share e_post e_preᵀ: one product for both.
    const float error_outer = th(error_hebb) + th(error_oja);
    if (error_outer != 0.0f) dw.noalias() += (error_outer * nf) * e_post.transpose() * e_pre;
    if (theta_[post_error] != 0.0) dw.noalias() += th(post_error) * post.transpose() * e_pre;
    if (theta_[error_oja] != 0.0) {
      st.gram[l].noalias() = e_post.transpose() * e_post;
      dw.noalias() -= (th(error_oja) * nf) * st.gram[l] * w;
    }
    // Activity terms potentiate when θ > 0: they enter the (subtracted) update with a minus.
    const float hebbian = th(hebb) + th(oja) + th(oja_subspace);
    if (hebbian != 0.0f) dw.noalias() -= (hebbian / nf) * post.transpose() * pre;
    if (theta_[oja] != 0.0) {
      st.row_scale[l] = post.colwise().squaredNorm() * (th(oja) / nf);
      dw.noalias() += st.row_scale[l].asDiagonal() * w;
    }
    if (theta_[oja_subspace] != 0.0) {
      st.gram[l].noalias() = post.transpose() * post;
      dw.noalias() += (th(oja_subspace) / nf) * st.gram[l] * w;
    }
    if (theta_[decay] != 0.0) dw += th(decay) * w;
  }
}

double TermPool::update_flops(const MlpShape& shape, int batch) const {
  double flops = backprop_update_flops(shape, batch);
  for (int l = 0; l < shape.num_layers(); ++l) {
    const double in = shape.sizes[l], out = shape.sizes[l + 1], outer = 2.0 * batch * in * out;
    if (theta_[error_hebb] != 0.0 || theta_[error_oja] != 0.0) flops += outer;
    if (theta_[post_error] != 0.0) flops += outer;
    if (theta_[error_oja] != 0.0) flops += 2.0 * batch * out * out + 2.0 * out * out * in;
    if (theta_[hebb] != 0.0 || theta_[oja] != 0.0 || theta_[oja_subspace] != 0.0) flops += outer;
    if (theta_[oja_subspace] != 0.0) flops += 2.0 * batch * out * out + 2.0 * out * out * in;
    if (l == 0 && uses_pre_error()) flops += outer;   // e_in = e_1 B_0ᵀ
  }
  return flops;
}

}  // namespace plast
