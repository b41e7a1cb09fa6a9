// Losses are batch means and loss_and_delta returns dL/dz including the 1/B factor
// (lib/loss.hpp). Golden values below are computed by hand with std::exp/std::log.
#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "lib/loss.hpp"
#include "tests/support.hpp"

using namespace plast;

TEST_SUITE("lib/loss") {

TEST_CASE("softmax cross-entropy: value and delta on a 2x3 logits matrix") {
  Matrix z(2, 3), t(2, 3);
  z << 1.0f, 2.0f, 3.0f,
       0.5f, -1.0f, 0.0f;
  t << 0.0f, 0.0f, 1.0f,   // label 2
       1.0f, 0.0f, 0.0f;   // label 0
  // Row 0: softmax = e^{1,2,3} / (e^1 + e^2 + e^3); loss = −log p_2.
  const double s0 = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  const double p0[3] = {std::exp(1.0) / s0, std::exp(2.0) / s0, std::exp(3.0) / s0};
  // Row 1: softmax = e^{0.5,−1,0} / (e^0.5 + e^−1 + 1); loss = −log p_0.
  const double s1 = std::exp(0.5) + std::exp(-1.0) + 1.0;
  const double p1[3] = {std::exp(0.5) / s1, std::exp(-1.0) / s1, 1.0 / s1};
  const double expected_loss = (-std::log(p0[2]) - std::log(p1[0])) / 2.0;
  // The numbers themselves, so the hand formula is checked too: 0.40760596, 0.60413061.
  CHECK(-std::log(p0[2]) == doctest::Approx(0.4076059644));
  CHECK(-std::log(p1[0]) == doctest::Approx(0.6041306053));

  Matrix delta(2, 3);
  const double value = loss_and_delta(Loss::softmax_cross_entropy, Activation::linear, z, z, t, delta);
  CHECK(value == doctest::Approx(expected_loss).epsilon(1e-7));
  CHECK(loss_value(Loss::softmax_cross_entropy, z, z, t) == doctest::Approx(expected_loss).epsilon(1e-7));
  // delta = (softmax − t) / B with B = 2.
  const double d[2][3] = {{p0[0] / 2, p0[1] / 2, (p0[2] - 1.0) / 2}, {(p1[0] - 1.0) / 2, p1[1] / 2, p1[2] / 2}};
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 3; ++k) CHECK(delta(r, k) == doctest::Approx(d[r][k]).epsilon(1e-6));
  // Each row of the delta sums to zero (softmax and one-hot both sum to one).
  CHECK(std::abs(delta.row(0).sum()) < 1e-7);
  CHECK(std::abs(delta.row(1).sum()) < 1e-7);
}

TEST_CASE("softmax cross-entropy is stable for large logits") {
  Matrix z(1, 3), t(1, 3), delta(1, 3);
  z << 1000.0f, 0.0f, -1000.0f;
  t << 0.0f, 1.0f, 0.0f;
  // log softmax(z)_1 = 0 − 1000 − log(1 + e^−1000 + e^−2000) ≈ −1000.
  const double value = loss_and_delta(Loss::softmax_cross_entropy, Activation::linear, z, z, t, delta);
  CHECK(value == doctest::Approx(1000.0));
  CHECK(loss_value(Loss::softmax_cross_entropy, z, z, t) == doctest::Approx(1000.0));
  CHECK(delta.allFinite());
  CHECK(delta(0, 0) == doctest::Approx(1.0));
  CHECK(delta(0, 1) == doctest::Approx(-1.0));
  CHECK(delta(0, 2) == doctest::Approx(0.0));
}

TEST_CASE("mse: value and delta, linear and squashing outputs") {
  // L = (1/B) Σ_n ½‖h_n − t_n‖², B = 2.
  Matrix z(2, 2), t(2, 2);
  z << 0.5f, -1.0f,
       2.0f, 0.25f;
  t << 1.0f, -1.0f,
       0.0f, 0.75f;
  SUBCASE("linear output: h = z, delta = (h − t)/B") {
    // ½[(−0.5)² + 0² + 2² + (−0.5)²] / 2 = ½·4.5/2 = 1.125
    Matrix delta(2, 2);
    const double value = loss_and_delta(Loss::mse, Activation::linear, z, z, t, delta);
    CHECK(value == doctest::Approx(1.125).epsilon(1e-7));
    CHECK(loss_value(Loss::mse, z, z, t) == doctest::Approx(1.125).epsilon(1e-7));
    CHECK(delta(0, 0) == doctest::Approx(-0.25));
    CHECK(delta(0, 1) == doctest::Approx(0.0));
    CHECK(delta(1, 0) == doctest::Approx(1.0));
    CHECK(delta(1, 1) == doctest::Approx(-0.25));
  }
  SUBCASE("tanh output: delta = (h − t)/B · (1 − h²)") {
    Matrix h(2, 2), delta(2, 2);
    h << std::tanh(0.5f), std::tanh(-1.0f), std::tanh(2.0f), std::tanh(0.25f);
    double expected_loss = 0.0;
    for (int r = 0; r < 2; ++r)
      for (int k = 0; k < 2; ++k) {
        const double hk = std::tanh(static_cast<double>(z(r, k)));
        expected_loss += 0.5 * (hk - t(r, k)) * (hk - t(r, k)) / 2.0;
      }
    const double value = loss_and_delta(Loss::mse, Activation::tanh, z, h, t, delta);
    CHECK(value == doctest::Approx(expected_loss).epsilon(1e-6));
    for (int r = 0; r < 2; ++r)
      for (int k = 0; k < 2; ++k) {
        const double hk = std::tanh(static_cast<double>(z(r, k)));
        CHECK(delta(r, k) == doctest::Approx((hk - t(r, k)) / 2.0 * (1.0 - hk * hk)).epsilon(1e-6));
      }
  }
  SUBCASE("sigmoid output: delta = (h − t)/B · h(1 − h)") {
    Matrix h(2, 2), delta(2, 2);
    for (int r = 0; r < 2; ++r)
      for (int k = 0; k < 2; ++k) h(r, k) = static_cast<float>(1.0 / (1.0 + std::exp(-static_cast<double>(z(r, k)))));
    loss_and_delta(Loss::mse, Activation::sigmoid, z, h, t, delta);
    for (int r = 0; r < 2; ++r)
      for (int k = 0; k < 2; ++k) {
        const double hk = 1.0 / (1.0 + std::exp(-static_cast<double>(z(r, k))));
        CHECK(delta(r, k) == doctest::Approx((hk - t(r, k)) / 2.0 * hk * (1.0 - hk)).epsilon(1e-6));
      }
  }
  SUBCASE("relu output: no gradient where z ≤ 0") {
    Matrix zr(1, 2), h(1, 2), tr(1, 2), delta(1, 2);
    zr << -0.5f, 0.5f;
    h << 0.0f, 0.5f;
    tr << 1.0f, 1.0f;
    loss_and_delta(Loss::mse, Activation::relu, zr, h, tr, delta);
    CHECK(delta(0, 0) == 0.0f);
    CHECK(delta(0, 1) == doctest::Approx(-0.5));
  }
}

TEST_CASE("the loss is a batch mean: repeating the batch keeps the value and halves the delta") {
  const Mlp net = test::random_mlp({4, 3}, Activation::tanh, Activation::linear, 5);
  for (Loss loss : {Loss::softmax_cross_entropy, Loss::mse}) {
    CAPTURE(to_string(loss));
    const test::Batch b = test::random_batch(net, loss, 3, 6);
    Matrix x2(6, 4), y2(6, 3);
    x2 << b.x, b.x;
    y2 << b.y, b.y;
    const test::Pass one = test::run_forward(net, loss, b.x, b.y);
    const test::Pass two = test::run_forward(net, loss, x2, y2);
    CHECK(two.loss == doctest::Approx(one.loss).epsilon(1e-6));
    CHECK(test::relative_difference(2.0f * two.delta.topRows(3), one.delta) < 1e-6);
  }
}

TEST_CASE("count_correct counts rows whose largest logit is the label") {
  Matrix z(4, 3);
  z << 0.1f, 0.9f, 0.0f,    // argmax 1
       2.0f, -1.0f, 1.5f,   // argmax 0
       -3.0f, -2.0f, -1.0f, // argmax 2
       0.0f, 5.0f, 4.0f;    // argmax 1
  const std::vector<int> labels = {1, 0, 1, 2};
  CHECK(count_correct(z, labels.data()) == 2);
  const std::vector<int> all = {1, 0, 2, 1};
  CHECK(count_correct(z, all.data()) == 4);
  const std::vector<int> none = {0, 1, 0, 0};
  CHECK(count_correct(z, none.data()) == 0);
  CHECK(count_correct(z.topRows(2), all.data()) == 2);
}

TEST_CASE("loss names parse, unknown ones list the known") {
  CHECK(parse_loss("mse") == Loss::mse);
  CHECK(parse_loss("softmax_cross_entropy") == Loss::softmax_cross_entropy);
  CHECK(parse_loss("cross_entropy") == Loss::softmax_cross_entropy);
  CHECK(to_string(Loss::mse) == "mse");
  CHECK(test::error_message([] { parse_loss("hinge"); }) ==
        "unknown loss 'hinge' (known: softmax_cross_entropy, mse)");
}

}  // TEST_SUITE
