// The student network: shapes and orientation (W_l is n_{l+1} × n_l, z = h Wᵀ + b, rows are
// samples), and golden forward passes of a 2-3-2 net computed by hand (DESIGN.md, "Conventions").
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "lib/mlp.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

// Hand versions of the activations (written out here, not taken from the library).
double f_tanh(double z) { return std::tanh(z); }
double f_relu(double z) { return z > 0.0 ? z : 0.0; }
double f_sigmoid(double z) { return 1.0 / (1.0 + std::exp(-z)); }
double f_linear(double z) { return z; }

// The 2-3-2 net of the golden tests:
//   W0 = [ 0.5 -0.25 ]   b0 = [0.1, -0.2, -0.15]     W1 = [  1    -0.5  0.25 ]   b1 = [0.3, -0.1]
//        [ -1   0.75 ]                                    [ -0.75  0.4  2    ]
//        [ 0.2  0.3  ]
// on the batch x = [[1, 2], [-1, 0.5]] (one sample per row).
Mlp golden_net(Activation hidden, Activation output) {
  Mlp net(MlpShape{{2, 3, 2}, hidden, output});
  net.weight(0) << 0.5f, -0.25f, -1.0f, 0.75f, 0.2f, 0.3f;
  net.bias(0) << 0.1f, -0.2f, -0.15f;
  net.weight(1) << 1.0f, -0.5f, 0.25f, -0.75f, 0.4f, 2.0f;
  net.bias(1) << 0.3f, -0.1f;
  return net;
}

Matrix golden_input() {
  Matrix x(2, 2);
  x << 1.0f, 2.0f, -1.0f, 0.5f;
  return x;
}

// Expected z0, h0, z1, h1 of the golden net, by hand: each entry is written out as the sum it is.
struct Expected {
  double z0[2][3], h0[2][3], z1[2][2], h1[2][2];
};

template <class F, class G>
Expected expected_forward(F f_hidden, G f_output) {
  Expected e{};
  // Row 0: x = (1, 2).
  e.z0[0][0] = 0.5 * 1 + -0.25 * 2 + 0.1;    //  0.1
  e.z0[0][1] = -1.0 * 1 + 0.75 * 2 - 0.2;    //  0.3
  e.z0[0][2] = 0.2 * 1 + 0.3 * 2 - 0.15;     //  0.65
  // Row 1: x = (-1, 0.5).
  e.z0[1][0] = 0.5 * -1 + -0.25 * 0.5 + 0.1;  // -0.525
  e.z0[1][1] = -1.0 * -1 + 0.75 * 0.5 - 0.2;  //  1.175
  e.z0[1][2] = 0.2 * -1 + 0.3 * 0.5 - 0.15;   // -0.2
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 3; ++j) e.h0[r][j] = f_hidden(e.z0[r][j]);
    e.z1[r][0] = 1.0 * e.h0[r][0] + -0.5 * e.h0[r][1] + 0.25 * e.h0[r][2] + 0.3;
    e.z1[r][1] = -0.75 * e.h0[r][0] + 0.4 * e.h0[r][1] + 2.0 * e.h0[r][2] - 0.1;
    for (int k = 0; k < 2; ++k) e.h1[r][k] = f_output(e.z1[r][k]);
  }
  return e;
}

void check_forward(const Mlp& net, const Expected& e) {
  const Matrix x = golden_input();
  ForwardCache cache(net.shape(), 2);
  forward(net, x, cache);
  REQUIRE(cache.rows() == 2);
  CHECK(cache.h(0) == x);
  for (int r = 0; r < 2; ++r) {
    for (int j = 0; j < 3; ++j) {
      CHECK(cache.z(0)(r, j) == doctest::Approx(e.z0[r][j]).epsilon(1e-6));
      CHECK(cache.h(1)(r, j) == doctest::Approx(e.h0[r][j]).epsilon(1e-6));
    }
    for (int k = 0; k < 2; ++k) {
      CHECK(cache.z(1)(r, k) == doctest::Approx(e.z1[r][k]).epsilon(1e-6));
      CHECK(cache.h(2)(r, k) == doctest::Approx(e.h1[r][k]).epsilon(1e-6));
      CHECK(cache.logits()(r, k) == doctest::Approx(e.z1[r][k]).epsilon(1e-6));
      CHECK(cache.output()(r, k) == doctest::Approx(e.h1[r][k]).epsilon(1e-6));
    }
  }
}

}  // namespace

TEST_SUITE("lib/mlp") {

TEST_CASE("weights are (n_{l+1} x n_l), biases n_{l+1}, zero at construction") {
  Mlp net(MlpShape{{5, 7, 4, 3}, Activation::relu, Activation::sigmoid});
  REQUIRE(net.num_layers() == 3);
  CHECK(net.input_size() == 5);
  CHECK(net.output_size() == 3);
  const int sizes[] = {5, 7, 4, 3};
  long params = 0;
  for (int l = 0; l < 3; ++l) {
    CHECK(net.weight(l).rows() == sizes[l + 1]);
    CHECK(net.weight(l).cols() == sizes[l]);
    CHECK(net.bias(l).size() == sizes[l + 1]);
    CHECK(net.weight(l).isZero(0.0f));
    CHECK(net.bias(l).isZero(0.0f));
    params += sizes[l + 1] * sizes[l] + sizes[l + 1];
  }
  CHECK(net.num_parameters() == params);
  CHECK(net.num_parameters() == 5 * 7 + 7 + 7 * 4 + 4 + 4 * 3 + 3);
  // The output layer uses the output activation, every other layer the hidden one.
  CHECK(net.activation(0) == Activation::relu);
  CHECK(net.activation(1) == Activation::relu);
  CHECK(net.activation(2) == Activation::sigmoid);
  CHECK(net.shape().str() == "5-7-4-3 relu");
  CHECK(net.all_finite());
  net.bias(1)(2) = std::numeric_limits<float>::infinity();
  CHECK_FALSE(net.all_finite());
}

TEST_CASE("Glorot init: within ±gain·sqrt(6/(n_in+n_out)), zero biases, deterministic per stream") {
  Mlp a(MlpShape{{5, 7, 4, 3}}), b(MlpShape{{5, 7, 4, 3}}), c(MlpShape{{5, 7, 4, 3}});
  RandomStream ra(3, Purpose::init_weights), rb(3, Purpose::init_weights), rc(4, Purpose::init_weights);
  a.init_glorot(ra, 2.0f);
  b.init_glorot(rb, 2.0f);
  c.init_glorot(rc, 2.0f);
  for (int l = 0; l < a.num_layers(); ++l) {
    const auto& w = a.weight(l);
    const double limit = 2.0 * std::sqrt(6.0 / static_cast<double>(w.rows() + w.cols()));
    CHECK(test::max_abs(w) <= limit);
    CHECK(test::max_abs(w) > 0.3 * limit);   // the range is used, not a tiny corner of it
    CHECK(a.bias(l).isZero(0.0f));
    CHECK(a.weight(l) == b.weight(l));
    CHECK(a.weight(l) != c.weight(l));
  }
}

TEST_CASE("golden forward of a 2-3-2 net, linear output, every hidden activation") {
  SUBCASE("tanh") { check_forward(golden_net(Activation::tanh, Activation::linear), expected_forward(f_tanh, f_linear)); }
  SUBCASE("relu") {
    // Two of the six hidden pre-activations are negative (row 1: −0.525 and −0.2) and must be cut.
    const Expected e = expected_forward(f_relu, f_linear);
    CHECK(e.h0[1][0] == 0.0);
    CHECK(e.h0[1][2] == 0.0);
    check_forward(golden_net(Activation::relu, Activation::linear), e);
  }
  SUBCASE("sigmoid") {
    check_forward(golden_net(Activation::sigmoid, Activation::linear), expected_forward(f_sigmoid, f_linear));
  }
  SUBCASE("linear") { check_forward(golden_net(Activation::linear, Activation::linear), expected_forward(f_linear, f_linear)); }
}

TEST_CASE("golden forward: the output layer applies the output activation, not the hidden one") {
  SUBCASE("relu hidden, sigmoid output") {
    check_forward(golden_net(Activation::relu, Activation::sigmoid), expected_forward(f_relu, f_sigmoid));
  }
  SUBCASE("sigmoid hidden, tanh output") {
    check_forward(golden_net(Activation::sigmoid, Activation::tanh), expected_forward(f_sigmoid, f_tanh));
  }
  SUBCASE("linear hidden, relu output") {
    // Row 1 of this net has a negative output pre-activation, which relu must zero.
    const Expected e = expected_forward(f_linear, f_relu);
    CHECK(std::min({e.z1[0][0], e.z1[0][1], e.z1[1][0], e.z1[1][1]}) < 0.0);
    check_forward(golden_net(Activation::linear, Activation::relu), e);
  }
}

TEST_CASE("hand values of the golden net (guards the hand arithmetic itself)") {
  const Expected e = expected_forward(f_linear, f_linear);
  CHECK(e.z0[0][0] == doctest::Approx(0.1));
  CHECK(e.z0[0][1] == doctest::Approx(0.3));
  CHECK(e.z0[0][2] == doctest::Approx(0.65));
  CHECK(e.z0[1][0] == doctest::Approx(-0.525));
  CHECK(e.z0[1][1] == doctest::Approx(1.175));
  CHECK(e.z0[1][2] == doctest::Approx(-0.2));
  // z1 row 0 = (0.1 − 0.15 + 0.1625 + 0.3, −0.075 + 0.12 + 1.3 − 0.1)
  CHECK(e.z1[0][0] == doctest::Approx(0.4125));
  CHECK(e.z1[0][1] == doctest::Approx(1.245));
}

TEST_CASE("a batch smaller than the cache uses only its rows; stale rows do not leak") {
  const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 11);
  RandomStream rng(12, Purpose::data);
  const Matrix big = test::random_matrix(8, 5, rng);
  const Matrix small = test::random_matrix(3, 5, rng);
  ForwardCache reused(net.shape(), 8), fresh(net.shape(), 3);
  forward(net, big, reused);
  forward(net, small, reused);
  forward(net, small, fresh);
  CHECK(reused.capacity() == 8);
  REQUIRE(reused.rows() == 3);
  CHECK(reused.output().rows() == 3);
  CHECK(reused.output() == fresh.output());
  for (int l = 0; l < net.num_layers(); ++l) CHECK(reused.z(l) == fresh.z(l));
  // Each row is its own sample: the forward pass of one row alone gives the same output row.
  ForwardCache one(net.shape(), 1);
  forward(net, small.row(1), one);
  CHECK(test::relative_difference(one.output(), fresh.output().row(1)) < 1e-6);
}

}  // TEST_SUITE
