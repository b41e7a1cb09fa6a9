// Invariants of feedback alignment (Lillicrap et al. 2016) and direct feedback alignment
// (Nøkland 2016): the orientation of the feedback matrices, the special cases in which they
// reproduce backprop exactly, determinism per stream, the scale parameter and deep copies.
#include <doctest/doctest.h>

#include <cmath>
#include <memory>
#include <stdexcept>

#include "rules/backprop.hpp"
#include "rules/direct_feedback_alignment.hpp"
#include "rules/feedback_alignment.hpp"
#include "rules/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

// A non-square 5-7-4-3 tanh net (every W_l has rows ≠ cols and no two layers alike), a batch
// of 6 in a cache of capacity 8, with cross-entropy.
struct Fixture {
  Mlp net;
  test::Batch batch;
  test::Pass pass;
  explicit Fixture(std::vector<int> sizes = {5, 7, 4, 3}, Loss loss = Loss::softmax_cross_entropy,
                   Activation hidden = Activation::tanh, std::uint64_t seed = 21)
      : net(test::random_mlp(std::move(sizes), hidden, Activation::linear, seed)),
        batch(test::random_batch(net, loss, 6, seed + 1)),
        pass(test::run_forward(net, loss, batch.x, batch.y, 8)) {}
};

RandomStream feedback_stream(std::uint64_t seed) { return RandomStream(seed, Purpose::feedback); }

void check_same(const Gradients& a, const Gradients& b, int layer, double tol) {
  CAPTURE(layer);
  if (tol == 0.0) {
    CHECK(a.dW[layer] == b.dW[layer]);
    CHECK(a.db[layer] == b.db[layer]);
  } else {
    CHECK(test::relative_difference(a.dW[layer], b.dW[layer]) <= tol);
    CHECK(test::relative_difference(Matrix(a.db[layer]), Matrix(b.db[layer])) <= tol);
  }
}

}  // namespace

TEST_SUITE("rules/invariants") {

TEST_CASE("FA feedback B_l has the shape of W_lᵀ (n_l x n_{l+1}); B_0 is unused") {
  const Fixture f;
  const FeedbackAlignment fa(1.0f);
  auto state = fa.make_state(f.net, 8, feedback_stream(1));
  CHECK(FeedbackAlignment::feedback(*state, 0).size() == 0);
  for (int l = 1; l < f.net.num_layers(); ++l) {
    CAPTURE(l);
    const Matrix& b = FeedbackAlignment::feedback(*state, l);
    CHECK(b.rows() == f.net.weight(l).cols());
    CHECK(b.cols() == f.net.weight(l).rows());
    CHECK(b.rows() == f.net.shape().sizes[l]);
    CHECK(b.cols() == f.net.shape().sizes[l + 1]);
  }
  CHECK_THROWS_AS(FeedbackAlignment::feedback(*state, 3), std::out_of_range);
}

TEST_CASE("DFA feedback D_l has shape (n_{l+1} x n_out) for each hidden layer") {
  const Fixture f;
  const DirectFeedbackAlignment dfa(1.0f);
  auto state = dfa.make_state(f.net, 8, feedback_stream(1));
  for (int l = 0; l + 1 < f.net.num_layers(); ++l) {
    CAPTURE(l);
    const Matrix& d = DirectFeedbackAlignment::feedback(*state, l);
    CHECK(d.rows() == f.net.shape().sizes[l + 1]);
    CHECK(d.cols() == f.net.output_size());
  }
  // The output layer receives the error itself: it has no feedback matrix.
  CHECK_THROWS_AS(DirectFeedbackAlignment::feedback(*state, 2), std::out_of_range);
}

TEST_CASE("feedback entries are U(±scale·sqrt(6/(fan_in+fan_out))): bounded, and mean |entry| = limit/2") {
  // For U(−L, L), E|u| = L/2 and sd|u| = L/√12 ≈ 0.29·L; over ≥ 4000 entries per layer (16
  // seeds) the standard error of the mean is < 0.005·L, so a ±0.02·L band (> 4 standard errors)
  // catches a limit off by more than ~5% (a wrong fan-in/fan-out or scale).
  const Mlp net = test::random_mlp({20, 30, 25, 10}, Activation::tanh, Activation::linear, 1);
  for (float scale : {1.0f, 0.5f, 3.0f}) {
    CAPTURE(scale);
    for (int l = 0; l < net.num_layers(); ++l) {
      CAPTURE(l);
      double fa_sum = 0.0, dfa_sum = 0.0;
      long fa_count = 0, dfa_count = 0;
      for (std::uint64_t seed = 0; seed < 16; ++seed) {
        if (l >= 1) {
          auto state = FeedbackAlignment(scale).make_state(net, 8, feedback_stream(seed));
          const Matrix& b = FeedbackAlignment::feedback(*state, l);
          const double limit = scale * std::sqrt(6.0 / static_cast<double>(b.rows() + b.cols()));
          CHECK(test::max_abs(b) <= limit * (1 + 1e-6));
          fa_sum += b.cwiseAbs().cast<double>().sum() / limit;
          fa_count += b.size();
        }
        if (l + 1 < net.num_layers()) {
          auto state = DirectFeedbackAlignment(scale).make_state(net, 8, feedback_stream(seed));
          const Matrix& d = DirectFeedbackAlignment::feedback(*state, l);
          const double limit = scale * std::sqrt(6.0 / static_cast<double>(d.rows() + d.cols()));
          CHECK(test::max_abs(d) <= limit * (1 + 1e-6));
          dfa_sum += d.cwiseAbs().cast<double>().sum() / limit;
          dfa_count += d.size();
        }
      }
      if (fa_count > 0) CHECK(std::abs(fa_sum / static_cast<double>(fa_count) - 0.5) < 0.02);
      if (dfa_count > 0) CHECK(std::abs(dfa_sum / static_cast<double>(dfa_count) - 0.5) < 0.02);
    }
  }
}

TEST_CASE("hidden-layer updates of FA and DFA are non-zero and finite") {
  const Fixture f;
  for (const char* name : {"feedback_alignment", "direct_feedback_alignment"}) {
    CAPTURE(name);
    const auto rule = rule_registry().make(name);
    auto state = rule->make_state(f.net, 8, feedback_stream(3));
    const Gradients g = test::rule_update(*rule, *state, f.net, f.pass, f.batch.y);
    REQUIRE(g.all_finite());
    for (int l = 0; l + 1 < f.net.num_layers(); ++l) {
      CAPTURE(l);
      CHECK(test::max_abs(g.dW[l]) > 1e-4);
      CHECK(test::max_abs(Matrix(g.db[l])) > 1e-4);
    }
  }
}

TEST_CASE("FA with B_l = W_lᵀ for every l >= 1 reproduces backprop for every layer") {
  for (Loss loss : {Loss::softmax_cross_entropy, Loss::mse}) {
    for (Activation hidden : {Activation::tanh, Activation::relu, Activation::sigmoid}) {
      CAPTURE(to_string(loss));
      CAPTURE(to_string(hidden));
      const Fixture f({5, 7, 4, 3}, loss, hidden);
      const FeedbackAlignment fa(1.0f);
      auto state = fa.make_state(f.net, 8, feedback_stream(4));
      for (int l = 1; l < f.net.num_layers(); ++l) FeedbackAlignment::feedback(*state, l) = f.net.weight(l).transpose();
      const Gradients g = test::rule_update(fa, *state, f.net, f.pass, f.batch.y);
      const Gradients bp = test::exact_gradient(f.net, f.pass);
      // δ B_lᵀ with B_l = W_lᵀ is δ W_l computed from a transposed copy: the same numbers,
      // possibly summed in another order by the matrix product, hence 1e-6 relative.
      for (int l = 0; l < f.net.num_layers(); ++l) check_same(g, bp, l, 1e-6);
    }
  }
}

TEST_CASE("DFA with one hidden layer and D_0 = W_1ᵀ equals backprop") {
  for (Activation hidden : {Activation::tanh, Activation::relu, Activation::sigmoid, Activation::linear}) {
    CAPTURE(to_string(hidden));
    const Fixture f({5, 7, 3}, Loss::softmax_cross_entropy, hidden);
    const DirectFeedbackAlignment dfa(1.0f);
    auto state = dfa.make_state(f.net, 8, feedback_stream(5));
    DirectFeedbackAlignment::feedback(*state, 0) = f.net.weight(1).transpose();
    const Gradients g = test::rule_update(dfa, *state, f.net, f.pass, f.batch.y);
    const Gradients bp = test::exact_gradient(f.net, f.pass);
    for (int l = 0; l < 2; ++l) check_same(g, bp, l, 1e-6);
  }
}

TEST_CASE("the output layer's update is identical for backprop, FA and DFA") {
  const Fixture f;
  const int last = f.net.num_layers() - 1;
  const Gradients bp = test::exact_gradient(f.net, f.pass);
  for (const char* name : {"backprop", "feedback_alignment", "direct_feedback_alignment"}) {
    CAPTURE(name);
    const auto rule = rule_registry().make(name);
    auto state = rule->make_state(f.net, 8, feedback_stream(6));
    const Gradients g = test::rule_update(*rule, *state, f.net, f.pass, f.batch.y);
    check_same(g, bp, last, 0.0);
  }
}

TEST_CASE("random feedback is not backprop: hidden updates of FA and DFA differ by > 10 degrees") {
  const Fixture f;
  const Gradients bp = test::exact_gradient(f.net, f.pass);
  for (const char* name : {"feedback_alignment", "direct_feedback_alignment"}) {
    CAPTURE(name);
    const auto rule = rule_registry().make(name);
    auto state = rule->make_state(f.net, 8, feedback_stream(7));
    const Gradients g = test::rule_update(*rule, *state, f.net, f.pass, f.batch.y);
    for (int l = 0; l + 1 < f.net.num_layers(); ++l) {
      CAPTURE(l);
      const double angle = angle_degrees(g.dW[l], bp.dW[l]);
      CAPTURE(angle);
      CHECK(angle > 10.0);
    }
  }
}

TEST_CASE("feedback matrices are deterministic per stream and differ between seeds") {
  const Fixture f;
  const FeedbackAlignment fa(1.0f);
  const DirectFeedbackAlignment dfa(1.0f);
  auto a = fa.make_state(f.net, 8, feedback_stream(10));
  auto b = fa.make_state(f.net, 8, feedback_stream(10));
  auto c = fa.make_state(f.net, 8, feedback_stream(11));
  for (int l = 1; l < f.net.num_layers(); ++l) {
    CHECK(FeedbackAlignment::feedback(*a, l) == FeedbackAlignment::feedback(*b, l));
    CHECK(FeedbackAlignment::feedback(*a, l) != FeedbackAlignment::feedback(*c, l));
  }
  // Layers draw from their own streams: B_1 and B_2 are not the same uniform draws rescaled.
  {
    const Matrix& b1 = FeedbackAlignment::feedback(*a, 1);
    const Matrix& b2 = FeedbackAlignment::feedback(*a, 2);
    const double l1 = std::sqrt(6.0 / static_cast<double>(b1.size() / b1.rows() + b1.rows()));
    const double l2 = std::sqrt(6.0 / static_cast<double>(b2.size() / b2.rows() + b2.rows()));
    int same = 0;
    for (Eigen::Index i = 0; i < 4; ++i) same += std::abs(b1.data()[i] / l1 - b2.data()[i] / l2) < 1e-5;
    CHECK(same < 4);
  }
  auto da = dfa.make_state(f.net, 8, feedback_stream(10));
  auto db = dfa.make_state(f.net, 8, feedback_stream(10));
  auto dc = dfa.make_state(f.net, 8, feedback_stream(11));
  for (int l = 0; l + 1 < f.net.num_layers(); ++l) {
    CHECK(DirectFeedbackAlignment::feedback(*da, l) == DirectFeedbackAlignment::feedback(*db, l));
    CHECK(DirectFeedbackAlignment::feedback(*da, l) != DirectFeedbackAlignment::feedback(*dc, l));
  }
  // Same stream, same update, bit for bit.
  CHECK(test::rule_update(fa, *a, f.net, f.pass, f.batch.y).dW[0] == test::rule_update(fa, *b, f.net, f.pass, f.batch.y).dW[0]);
}

TEST_CASE("scale 2 gives exactly twice the feedback entries of scale 1 for the same stream") {
  const Fixture f;
  auto one = FeedbackAlignment(1.0f).make_state(f.net, 8, feedback_stream(12));
  auto two = FeedbackAlignment(2.0f).make_state(f.net, 8, feedback_stream(12));
  for (int l = 1; l < f.net.num_layers(); ++l)
    CHECK(FeedbackAlignment::feedback(*two, l) == (2.0f * FeedbackAlignment::feedback(*one, l)).eval());
  auto d1 = DirectFeedbackAlignment(1.0f).make_state(f.net, 8, feedback_stream(12));
  auto d2 = DirectFeedbackAlignment(2.0f).make_state(f.net, 8, feedback_stream(12));
  for (int l = 0; l + 1 < f.net.num_layers(); ++l)
    CHECK(DirectFeedbackAlignment::feedback(*d2, l) == (2.0f * DirectFeedbackAlignment::feedback(*d1, l)).eval());
  // Through the registry's parameter too.
  const auto rule = rule_registry().make("feedback_alignment", {{"scale", 2.0}});
  auto via_registry = rule->make_state(f.net, 8, feedback_stream(12));
  CHECK(FeedbackAlignment::feedback(*via_registry, 1) == FeedbackAlignment::feedback(*two, 1));
}

TEST_CASE("clone() is a deep copy of the rule state") {
  const Fixture f;
  SUBCASE("feedback alignment") {
    const FeedbackAlignment fa(1.0f);
    auto original = fa.make_state(f.net, 8, feedback_stream(13));
    const Matrix before = FeedbackAlignment::feedback(*original, 1);
    const Gradients update_before = test::rule_update(fa, *original, f.net, f.pass, f.batch.y);
    auto copy = original->clone();
    CHECK(FeedbackAlignment::feedback(*copy, 1) == before);
    CHECK(&FeedbackAlignment::feedback(*copy, 1) != &FeedbackAlignment::feedback(*original, 1));
    FeedbackAlignment::feedback(*copy, 1).setConstant(5.0f);
    FeedbackAlignment::feedback(*copy, 2) *= -1.0f;
    CHECK(FeedbackAlignment::feedback(*original, 1) == before);
    const Gradients update_after = test::rule_update(fa, *original, f.net, f.pass, f.batch.y);
    CHECK(update_after.dW[0] == update_before.dW[0]);
    // The copy does use its own (changed) matrices.
    CHECK(test::rule_update(fa, *copy, f.net, f.pass, f.batch.y).dW[0] != update_before.dW[0]);
  }
  SUBCASE("direct feedback alignment") {
    const DirectFeedbackAlignment dfa(1.0f);
    auto original = dfa.make_state(f.net, 8, feedback_stream(13));
    const Matrix before = DirectFeedbackAlignment::feedback(*original, 0);
    auto copy = original->clone();
    CHECK(DirectFeedbackAlignment::feedback(*copy, 0) == before);
    DirectFeedbackAlignment::feedback(*copy, 0).setZero();
    CHECK(DirectFeedbackAlignment::feedback(*original, 0) == before);
  }
  SUBCASE("every registered rule clones into a state that gives the same update") {
    for (const auto& entry : rule_registry().entries()) {
      CAPTURE(entry.name);
      const auto rule = rule_registry().make(entry.name);
      auto original = rule->make_state(f.net, 8, feedback_stream(14));
      auto copy = original->clone();
      REQUIRE(copy != nullptr);
      const Gradients a = test::rule_update(*rule, *original, f.net, f.pass, f.batch.y);
      const Gradients b = test::rule_update(*rule, *copy, f.net, f.pass, f.batch.y);
      for (int l = 0; l < f.net.num_layers(); ++l) check_same(a, b, l, 0.0);
    }
  }
}

}  // TEST_SUITE
