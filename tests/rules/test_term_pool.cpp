// The random-feedback term pool (Shervani-Tabar & Rosenbaum 2023; rules/term_pool.hpp): every
// term against golden values hand-computed on a 2-2-2 linear network with chosen feedback
// matrices, batch averaging, the defaults equal feedback alignment given the same feedback
// stream (bit for bit), `symmetric` with the defaults equals backprop, and the registry entry;
// and, skipped by default, a measurement (suite measure/term_pool, below).
#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <limits>
#include <string>

#include "lib/train.hpp"
#include "rules/backprop.hpp"
#include "rules/feedback_alignment.hpp"
#include "rules/registry.hpp"
#include "rules/term_pool.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

Matrix mat(std::initializer_list<std::initializer_list<float>> rows) {
  Matrix m(static_cast<Eigen::Index>(rows.size()), static_cast<Eigen::Index>(rows.begin()->size()));
  Eigen::Index r = 0;
  for (const auto& row : rows) {
    Eigen::Index c = 0;
    for (float v : row) m(r, c++) = v;
    ++r;
  }
  return m;
}

// The hand-checked network: x = [1, 2], W0 = [[0.5, −1], [1, 0.25]], W1 = [[1, 2], [0, −1]],
// linear units and zero biases, so h1 = [−1.5, 1.5] and the output is [1.5, −1.5]. The output
// error is e2 = [0.5, −1]; B1 = [[1, 1], [2, −1]] gives e1 = e2 B1ᵀ = [−0.5, 2] and
// B0 = [[1, −1], [0, 1]] gives the input's error e_in = e1 B0ᵀ = [−2.5, 2].
struct Tiny {
  Mlp net{MlpShape{{2, 2, 2}, Activation::linear, Activation::linear}};
  Matrix b0 = mat({{1, -1}, {0, 1}});
  Matrix b1 = mat({{1, 1}, {2, -1}});
  Tiny() {
    net.weight(0) = mat({{0.5f, -1}, {1, 0.25f}});
    net.weight(1) = mat({{1, 2}, {0, -1}});
  }

  // The update of a pool with only `term` set to 1 on `copies` identical rows of the sample
  // (δ = e/copies per row, as the loss divides by the batch size).
  Gradients update(const std::string& term, int copies = 1) const {
    ParamValues given;
    for (const auto& name : TermPool::term_names()) given[name] = name == term ? 1.0 : 0.0;
    const TermPool rule(complete_params("term_pool", TermPool::params(), given));
    auto state = rule.make_state(net, 4, RandomStream(1, Purpose::feedback));
    TermPool::feedback(*state, 0) = b0;
    TermPool::feedback(*state, 1) = b1;
    Matrix x(copies, 2), delta(copies, 2), target = Matrix::Zero(copies, 2);
    for (int r = 0; r < copies; ++r) {
      x.row(r) << 1, 2;
      delta.row(r) << 0.5f / static_cast<float>(copies), -1.0f / static_cast<float>(copies);
    }
    ForwardCache cache(net.shape(), 4);
    forward(net, x, cache);
    Gradients g = test::nan_gradients(net);
    const Eigen::Ref<const Matrix> d(delta), t(target);
    rule.compute_update(StepSignals{net, cache, d, t, 0}, *state, g);
    return g;
  }
};

// The golden update U_l (what the optimizer subtracts) of each term with θ = 1, for layers 0 and 1.
struct Golden {
  const char* term;
  Matrix layer0, layer1;
};

std::vector<Golden> golden() {
  const Matrix w0 = mat({{0.5f, -1}, {1, 0.25f}}), w1 = mat({{1, 2}, {0, -1}});
  return {
      // F0 = e_post preᵀ: e1 ⊗ x and e2 ⊗ h1.
      {"pseudo_grad", mat({{-0.5f, -1}, {2, 4}}), mat({{-0.75f, 0.75f}, {1.5f, -1.5f}})},
      // F2 = e_post e_preᵀ: e1 ⊗ e_in and e2 ⊗ e1.
      {"error_hebb", mat({{1.25f, -1}, {-5, 4}}), mat({{-0.25f, 1}, {0.5f, -2}})},
      // post e_preᵀ: h1 ⊗ e_in and out ⊗ e1.
      {"post_error", mat({{3.75f, -3}, {-3.75f, 3}}), mat({{-0.75f, 3}, {0.75f, -3}})},
      // e_post e_preᵀ − (e_post e_postᵀ) W.
      {"error_oja", mat({{2.125f, -0.5f}, {-8.5f, 2}}), mat({{-0.5f, 0}, {1, 0}})},
      // Activity terms enter with a minus (θ > 0 potentiates): −post preᵀ.
      {"hebb", mat({{1.5f, 3}, {-1.5f, -3}}), mat({{2.25f, -2.25f}, {-2.25f, 2.25f}})},
      // −(post_i pre_j − post_i² w_ij).
      {"oja", mat({{2.625f, 0.75f}, {0.75f, -2.4375f}}), mat({{4.5f, 2.25f}, {-2.25f, 0}})},
      // −(post preᵀ − (post postᵀ) W).
      {"oja_subspace", mat({{0.375f, 0.1875f}, {-0.375f, -0.1875f}}), mat({{4.5f, 4.5f}, {-4.5f, -4.5f}})},
      // +w.
      {"decay", w0, w1},
  };
}

struct Fixture {
  Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 41);
  test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 6, 42);
  test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 8);
};

std::shared_ptr<const LearningRule> pool(const ParamValues& given) {
  return rule_registry().make("term_pool", given);
}

}  // namespace

TEST_SUITE("rules/term_pool") {

TEST_CASE("each term with θ = 1 gives its hand-computed update on a 2-2-2 network") {
  const Tiny tiny;
  for (const auto& g : golden()) {
    CAPTURE(g.term);
    const Gradients u = tiny.update(g.term);
    CHECK(test::relative_difference(u.dW[0], g.layer0) < 1e-6);
    CHECK(test::relative_difference(u.dW[1], g.layer1) < 1e-6);
    // Only the pseudo-gradient moves biases (FA's bias update, Σ e_post).
    const RowVector db0 = std::string(g.term) == "pseudo_grad" ? RowVector(mat({{-0.5f, 2}})) : RowVector::Zero(2);
    const RowVector db1 = std::string(g.term) == "pseudo_grad" ? RowVector(mat({{0.5f, -1}})) : RowVector::Zero(2);
    CHECK(test::relative_difference(Matrix(u.db[0]), Matrix(db0)) < 1e-6);
    CHECK(test::relative_difference(Matrix(u.db[1]), Matrix(db1)) < 1e-6);
  }
}

TEST_CASE("terms are batch means: three copies of the sample give the update of one") {
  const Tiny tiny;
  for (const auto& g : golden()) {
    CAPTURE(g.term);
    const Gradients one = tiny.update(g.term, 1), three = tiny.update(g.term, 3);
    for (int l = 0; l < 2; ++l) {
      CAPTURE(l);
      CHECK(test::relative_difference(three.dW[l], one.dW[l]) < 1e-6);
    }
  }
}

TEST_CASE("coefficients add: the pool with several terms is the weighted sum of the single terms") {
  const Tiny tiny;
  const ParamValues theta = {{"pseudo_grad", 0.7}, {"error_hebb", -0.3}, {"oja", 0.2}, {"hebb", 0.5},
                             {"decay", 0.1},       {"oja_subspace", -0.4}, {"post_error", 0.6}, {"error_oja", 0.25}};
  const TermPool rule(complete_params("term_pool", TermPool::params(), theta));
  auto state = rule.make_state(tiny.net, 4, RandomStream(1, Purpose::feedback));
  TermPool::feedback(*state, 0) = tiny.b0;
  TermPool::feedback(*state, 1) = tiny.b1;
  const Matrix x = mat({{1, 2}}), delta = mat({{0.5f, -1}}), target = Matrix::Zero(1, 2);
  ForwardCache cache(tiny.net.shape(), 4);
  forward(tiny.net, x, cache);
  Gradients g = test::nan_gradients(tiny.net);
  const Eigen::Ref<const Matrix> d(delta), t(target);
  rule.compute_update(StepSignals{tiny.net, cache, d, t, 0}, *state, g);
  for (int l = 0; l < 2; ++l) {
    CAPTURE(l);
    Matrix expected = Matrix::Zero(2, 2);
    for (const auto& gold : golden()) expected += static_cast<float>(theta.at(gold.term)) * (l == 0 ? gold.layer0 : gold.layer1);
    CHECK(test::relative_difference(g.dW[l], expected) < 1e-5);
  }
}

TEST_CASE("with the defaults the pool is feedback alignment, bit for bit, given the same feedback stream") {
  const Fixture f;
  const FeedbackAlignment fa(1.0f);
  const auto rule = pool({});
  auto fa_state = fa.make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  auto pool_state = rule->make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  for (int l = 1; l < f.net.num_layers(); ++l)
    CHECK(TermPool::feedback(*pool_state, l) == FeedbackAlignment::feedback(*fa_state, l));
  const Gradients a = test::rule_update(fa, *fa_state, f.net, f.pass, f.batch.y);
  const Gradients b = test::rule_update(*rule, *pool_state, f.net, f.pass, f.batch.y);
  for (int l = 0; l < f.net.num_layers(); ++l) {
    CAPTURE(l);
    CHECK(a.dW[l] == b.dW[l]);
    CHECK(a.db[l] == b.db[l]);
  }
  // ... and `scale` is FA's scale.
  const FeedbackAlignment fa_half(0.5f);
  auto half_state = fa_half.make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  auto pool_half = pool({{"scale", 0.5}})->make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  for (int l = 1; l < f.net.num_layers(); ++l)
    CHECK(TermPool::feedback(*pool_half, l) == FeedbackAlignment::feedback(*half_state, l));
}

TEST_CASE("pseudo_grad scales FA's update: it is FA's learning rate") {
  const Fixture f;
  const FeedbackAlignment fa(1.0f);
  auto fa_state = fa.make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  const auto rule = pool({{"pseudo_grad", 0.25}});
  auto state = rule->make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  const Gradients a = test::rule_update(fa, *fa_state, f.net, f.pass, f.batch.y);
  const Gradients b = test::rule_update(*rule, *state, f.net, f.pass, f.batch.y);
  for (int l = 0; l < f.net.num_layers(); ++l) {
    CAPTURE(l);
    CHECK(test::relative_difference(b.dW[l], 0.25f * a.dW[l]) < 1e-6);
    CHECK(test::relative_difference(Matrix(b.db[l]), Matrix(0.25f * a.db[l])) < 1e-6);
  }
}

TEST_CASE("symmetric = 1 with the defaults is backprop (the paper's 'sym' feedback)") {
  const Fixture f;
  const auto rule = pool({{"symmetric", 1}});
  auto state = rule->make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  const Gradients exact = test::exact_gradient(f.net, f.pass);
  const Gradients u = test::rule_update(*rule, *state, f.net, f.pass, f.batch.y);
  for (int l = 0; l < f.net.num_layers(); ++l) {
    CAPTURE(l);
    CHECK(test::relative_difference(u.dW[l], exact.dW[l]) < 1e-6);
    CHECK(test::relative_difference(Matrix(u.db[l]), Matrix(exact.db[l])) < 1e-6);
  }
}

TEST_CASE("every term reads only the batch's rows, and a clone is a deep copy") {
  // Capacity 8 > batch 6: stale rows beyond the batch must not leak into any term.
  const Fixture f;
  ParamValues all;
  for (const auto& name : TermPool::term_names()) all[name] = 0.3;
  const auto rule = pool(all);
  auto state = rule->make_state(f.net, 8, RandomStream(5, Purpose::feedback));
  const Gradients first = test::rule_update(*rule, *state, f.net, f.pass, f.batch.y);
  // A bigger batch through the same state fills the spare rows, then the first batch again.
  const test::Batch big = test::random_batch(f.net, Loss::softmax_cross_entropy, 8, 43);
  const test::Pass big_pass = test::run_forward(f.net, Loss::softmax_cross_entropy, big.x, big.y, 8);
  test::rule_update(*rule, *state, f.net, big_pass, big.y);
  auto copy = state->clone();
  TermPool::feedback(*state, 1).setZero();   // the copy must not see this
  const Gradients again = test::rule_update(*rule, *copy, f.net, f.pass, f.batch.y);
  for (int l = 0; l < f.net.num_layers(); ++l) {
    CAPTURE(l);
    CHECK(first.dW[l] == again.dW[l]);
    CHECK(first.db[l] == again.db[l]);
    CHECK(first.dW[l].allFinite());
  }
}

TEST_CASE("the registry lists term_pool with readable term names, FA's defaults and the feedback switches") {
  const auto& entry = rule_registry().get("term_pool");
  std::vector<std::string> names;
  for (const auto& p : entry.params) names.push_back(p.name);
  for (const char* expected : {"pseudo_grad", "error_hebb", "oja", "oja_subspace", "hebb", "decay", "post_error",
                               "error_oja", "scale", "symmetric"}) {
    CAPTURE(expected);
    CHECK(std::find(names.begin(), names.end(), expected) != names.end());
  }
  for (const auto& p : entry.params) {
    CAPTURE(p.name);
    if (p.name == "pseudo_grad" || p.name == "scale") CHECK(p.default_value == 1.0);
    else CHECK(p.default_value == 0.0);
  }
  CHECK(test::error_message([] { rule_registry().make("term_pool", {{"ojaa", 1.0}}); }).find("did you mean 'oja'") !=
        std::string::npos);
}

}  // TEST_SUITE
