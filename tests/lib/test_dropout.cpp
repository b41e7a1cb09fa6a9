// Dropout for backprop training (lib/dropout.hpp; Srivastava et al. 2014): with a fixed mask the
// library's backprop gradient equals central finite differences of a double-precision forward
// pass that applies the same mask (relu and linear hidden units, 5-7-6-3 and 4-5-3); the masks
// are 0 or 1/(1−p), dropped at rate p, keyed; train() applies them to training steps only
// (evaluation sees the whole network), deterministically on any thread; bad settings are one
// clear error.
#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <limits>
#include <vector>

#include "lib/dropout.hpp"
#include "lib/gradient.hpp"
#include "lib/train.hpp"
#include "rules/backprop.hpp"
#include "rules/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

using MatD = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

// −(1/B) Σ t·log softmax(z) of the masked network, in double, written here independently of
// lib/mlp.cpp and lib/loss.cpp: h_{k} = f(z_{k−1}) ⊙ m_k for hidden layers, linear logits.
double ref_loss(const std::vector<MatD>& W, const std::vector<MatD>& b, Activation hidden, const std::vector<MatD>& masks,
                const MatD& x, const MatD& t) {
  MatD h = x;
  for (std::size_t l = 0; l < W.size(); ++l) {
    MatD z = h * W[l].transpose();
    for (Eigen::Index r = 0; r < z.rows(); ++r) z.row(r) += b[l];
    if (l + 1 == W.size()) {
      h = z;
      break;
    }
    h = hidden == Activation::relu ? MatD(z.cwiseMax(0.0)) : z;
    h.array() *= masks[l].array();
  }
  double total = 0.0;
  for (Eigen::Index r = 0; r < h.rows(); ++r) {
    const double m = h.row(r).maxCoeff();
    const double lse = m + std::log((h.row(r).array() - m).exp().sum());
    for (Eigen::Index k = 0; k < h.cols(); ++k) total -= t(r, k) * (h(r, k) - lse);
  }
  return total / static_cast<double>(x.rows());
}

// |g − fd| ≤ 2e-5·|fd| + 2e-5·max|fd| for every entry (tests/lib/test_gradient.cpp's tolerance,
// ~75× above the float32 error there). Returns the worst ratio (≤ 1 passes).
double worst_ratio(const Eigen::Ref<const Matrix>& got, const MatD& fd) {
  const double scale = fd.cwiseAbs().maxCoeff();
  double worst = 0.0;
  for (Eigen::Index i = 0; i < fd.rows(); ++i)
    for (Eigen::Index j = 0; j < fd.cols(); ++j) {
      const double tol = 2e-5 * std::abs(fd(i, j)) + 2e-5 * scale + 1e-12;
      const double g = got(i, j);
      worst = std::max(worst, std::isfinite(g) ? std::abs(g - fd(i, j)) / tol : std::numeric_limits<double>::infinity());
    }
  return worst;
}

// The worst ratio of the library's gradient under a fixed mask (p = 0.5) to the finite-difference
// tolerance; `drop_mask_in_backward` breaks the library side on purpose (the negative check).
double check_against_fd(const std::vector<int>& sizes, Activation hidden, bool drop_mask_in_backward = false) {
  for (std::uint64_t seed = 1; seed < 50; ++seed) {
    const Mlp net = test::random_mlp(sizes, hidden, Activation::linear, seed);
    const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 6, 100 + seed);
    ForwardCache cache(net.shape(), 6);
    cache.enable_dropout();
    RandomStream rng(seed, Purpose::dropout, {0});
    draw_dropout_masks(cache, 0.5f, rng);
    forward(net, batch.x, cache);
    bool near_kink = false;
    for (int l = 0; l + 1 < net.num_layers(); ++l)
      near_kink |= hidden == Activation::relu && cache.z(l).cwiseAbs().minCoeff() < 1e-3f;
    if (near_kink) continue;
    Matrix delta(6, net.output_size());
    loss_and_delta(Loss::softmax_cross_entropy, Activation::linear, cache.logits(), cache.output(), batch.y, delta);
    // The reference: the same masks, in double.
    std::vector<MatD> W, b, masks;
    for (int l = 0; l < net.num_layers(); ++l) {
      W.push_back(net.weight(l).cast<double>());
      b.push_back(net.bias(l).cast<double>());
      if (l + 1 < net.num_layers()) masks.push_back(cache.mask(l + 1).cast<double>());
    }
    // Resetting the masks to ones after the forward pass keeps h masked but leaves the mask out
    // of δ: the bug the negative check must catch.
    if (drop_mask_in_backward) cache.enable_dropout();
    Gradients g = test::nan_gradients(net);
    DeltaBuffers buffers(net.shape(), 6);
    backprop_gradient(net, cache, delta, buffers, g);
    const MatD x = batch.x.cast<double>(), t = batch.y.cast<double>();
    constexpr double eps = 1e-6;
    auto central = [&](double& p) {
      const double saved = p;
      p = saved + eps;
      const double up = ref_loss(W, b, hidden, masks, x, t);
      p = saved - eps;
      const double down = ref_loss(W, b, hidden, masks, x, t);
      p = saved;
      return (up - down) / (2.0 * eps);
    };
    double worst = 0.0;
    for (std::size_t l = 0; l < W.size(); ++l) {
      MatD dw(W[l].rows(), W[l].cols()), db(1, b[l].cols());
      for (Eigen::Index i = 0; i < dw.rows(); ++i)
        for (Eigen::Index j = 0; j < dw.cols(); ++j) dw(i, j) = central(W[l](i, j));
      for (Eigen::Index j = 0; j < db.cols(); ++j) db(0, j) = central(b[l](0, j));
      worst = std::max(worst, worst_ratio(g.dW[l], dw));
      const Matrix gb = g.db[l];
      worst = std::max(worst, worst_ratio(gb, db));
    }
    return worst;
  }
  FAIL("no seed keeps the relu pre-activations away from 0");
  return 0.0;
}

Task tiny_task() {
  Task t = test::fixed_regression_task(6, 3, {}, 40);
  t.loss = Loss::softmax_cross_entropy;
  t.classification = true;
  auto d = std::make_shared<Dataset>(*t.train);
  RandomStream rng(8, Purpose::data);
  for (int r = 0; r < 40; ++r) d->labels.push_back(static_cast<int>(rng.below(3)));
  d->y = test::one_hot(d->labels, 3);
  t.train = d;
  t.validation = d;
  t.test = d;
  return t;
}

Student tiny_student(const Task& task, float dropout, std::uint64_t seed, const std::string& rule_name = "backprop",
                     Activation act = Activation::relu) {
  static const auto backprop = rule_registry().make("backprop");
  const auto rule = rule_name == "backprop" ? backprop : rule_registry().make(rule_name);
  StudentSpec spec;
  spec.hidden = {16, 8};
  spec.activation = act;
  spec.dropout = dropout;
  OptimizerSpec opt;
  opt.type = "sgd";
  opt.lr = 0.1;
  return make_student(task, spec, *rule, opt, 8, seed);
}

TrainResult train_tiny(Student& s, const Task& task) {
  TrainBudget budget;
  budget.epochs = 3;
  budget.batch = 8;
  budget.alignment = false;
  return train(s, *rule_registry().make("backprop"), task, budget);
}

}  // namespace

TEST_SUITE("lib/dropout") {
  TEST_CASE("with a fixed mask, backprop's gradient equals central finite differences (relu and linear hidden units)") {
    CHECK(check_against_fd({5, 7, 6, 3}, Activation::relu) <= 1.0);
    CHECK(check_against_fd({4, 5, 3}, Activation::relu) <= 1.0);
    CHECK(check_against_fd({5, 7, 6, 3}, Activation::linear) <= 1.0);
    // Negative: the same check fails when the mask is left out of the backward pass.
    CHECK(check_against_fd({5, 7, 6, 3}, Activation::relu, true) > 1.0);
  }

  TEST_CASE("masks: 0 or 1/(1 − p), dropped at rate p, keyed by the stream; forward applies them to hidden layers only") {
    const Mlp net = test::random_mlp({30, 1200, 40, 5}, Activation::relu, Activation::linear, 2);
    ForwardCache cache(net.shape(), 64);
    cache.enable_dropout();
    REQUIRE(cache.num_masks() == 2);
    CHECK((cache.mask(1).array() == 1.0f).all());   // enabled but not drawn: keeps everything
    RandomStream rng(1, Purpose::dropout, {3});
    draw_dropout_masks(cache, 0.3f, rng);
    const float keep = 1.0f / 0.7f;
    for (int k = 1; k <= 2; ++k) {
      const Matrix& m = cache.mask(k);
      CHECK(((m.array() == 0.0f) || (m.array() == keep)).all());
      const double dropped = static_cast<double>((m.array() == 0.0f).count()) / static_cast<double>(m.size());
      CHECK(std::abs(dropped - 0.3) < (k == 1 ? 0.01 : 0.05));   // 76,800 and 2,560 draws: > 5 sd
    }
    ForwardCache again(net.shape(), 64);
    again.enable_dropout();
    RandomStream same(1, Purpose::dropout, {3}), next(1, Purpose::dropout, {4});
    draw_dropout_masks(again, 0.3f, same);
    CHECK(again.mask(1) == cache.mask(1));
    draw_dropout_masks(again, 0.3f, next);
    CHECK(again.mask(1) != cache.mask(1));
    // forward: h_k = relu(z_{k−1}) ⊙ m_k; the logits are not masked.
    RandomStream data(5, Purpose::data);
    const Matrix x = test::random_matrix(64, 30, data);
    ForwardCache plain(net.shape(), 64);
    forward(net, x, plain);
    forward(net, x, cache);
    CHECK(cache.z(0) == plain.z(0));
    CHECK(cache.h(1) == Matrix(plain.h(1).array() * cache.mask(1).array()));
    CHECK(cache.h(2) == Matrix(cache.z(1).cwiseMax(0.0f).array() * cache.mask(2).array()));
    CHECK(cache.output() == cache.logits());
  }

  TEST_CASE("train(): dropout changes training, not evaluation; bitwise the same for a seed on any thread") {
    const Task task = tiny_task();
    Student plain = tiny_student(task, 0.0f, 3), dropped = tiny_student(task, 0.5f, 3);
    CHECK(test::same_net(plain.net, dropped.net));   // the same initial weights
    train_tiny(plain, task);
    const TrainResult r = train_tiny(dropped, task);
    CHECK_FALSE(test::same_net(plain.net, dropped.net));
    // The reported test loss is the whole network's (no mask) on the test set.
    ForwardCache cache(dropped.net.shape(), 1000);
    CHECK(r.last().test_loss == evaluate(dropped.net, task, *task.test, cache).loss);
    std::vector<Mlp> nets(4);
    tbb::parallel_for(0, 4, [&](int i) {
      Student s = tiny_student(task, 0.5f, 3);
      train_tiny(s, task);
      nets[static_cast<std::size_t>(i)] = s.net;
    });
    for (const auto& net : nets) CHECK(test::same_net(net, dropped.net));
  }

  TEST_CASE("bad dropout settings are one clear error") {
    const Task task = tiny_task();
    CHECK_THROWS_WITH_AS(tiny_student(task, 1.0f, 1), "dropout = 1: must be in [0, 1)", InvalidValue);
    CHECK_THROWS_WITH_AS(tiny_student(task, -0.1f, 1), "dropout = -0.1: must be in [0, 1)", InvalidValue);
    CHECK_THROWS_WITH_AS(tiny_student(task, 0.5f, 1, "feedback_alignment"),
                         "dropout = 0.5: needs rule backprop (rule feedback_alignment does not apply the dropout mask)",
                         InvalidValue);
    CHECK_THROWS_WITH_AS(tiny_student(task, 0.5f, 1, "backprop", Activation::tanh),
                         "dropout = 0.5: needs relu or linear hidden units, not tanh", InvalidValue);
  }

  TEST_CASE("dropout asks the rule whether it applies the mask (LearningRule::applies_dropout), not its name") {
    // Backprop under another name: it declares the capability, so make_student accepts it.
    struct Renamed final : LearningRule {
      Backprop backprop;
      std::string name() const override { return "renamed_backprop"; }
      std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override {
        return backprop.make_state(net, capacity, rng);
      }
      void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override {
        backprop.compute_update(s, state, out);
      }
      bool applies_dropout() const override { return true; }
    };
    const Task task = tiny_task();
    StudentSpec spec;
    spec.hidden = {16, 8};
    spec.activation = Activation::relu;
    spec.dropout = 0.5f;
    const Renamed renamed;
    CHECK_NOTHROW(make_student(task, spec, renamed, OptimizerSpec{}, 8, 1));
    CHECK(rule_registry().make("backprop")->applies_dropout());
    CHECK_FALSE(rule_registry().make("feedback_alignment")->applies_dropout());
  }
}  // TEST_SUITE
