// The exact gradient that every other rule is measured against (lib/gradient.hpp), checked
// against central finite differences of a double-precision forward pass written here, for
// every activation × every loss, every weight and bias of every layer (DESIGN.md, "Tests").
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "lib/gradient.hpp"
#include "lib/loss.hpp"
#include "rules/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

using MatD = Eigen::MatrixXd;
using RowD = Eigen::RowVectorXd;

// The activations by hand, in double (independent of lib/activation.cpp).
double act(Activation a, double z) {
  switch (a) {
    case Activation::tanh: return std::tanh(z);
    case Activation::relu: return z > 0.0 ? z : 0.0;
    case Activation::sigmoid: return 1.0 / (1.0 + std::exp(-z));
    case Activation::linear: return z;
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// A double copy of a float network, the point at which the finite differences are taken.
struct RefNet {
  std::vector<MatD> W;
  std::vector<RowD> b;
  Activation hidden, output;
};

RefNet to_double(const Mlp& net) {
  RefNet r{{}, {}, net.shape().hidden, net.shape().output};
  for (int l = 0; l < net.num_layers(); ++l) {
    r.W.push_back(net.weight(l).cast<double>());
    r.b.push_back(net.bias(l).cast<double>());
  }
  return r;
}

// Output pre-activation z_L and activation h_L of the reference forward pass:
// z_l = h_l W_lᵀ + b_l, h_{l+1} = f(z_l), one sample per row.
void ref_forward(const RefNet& n, const MatD& x, MatD& z, MatD& h) {
  h = x;
  const int layers = static_cast<int>(n.W.size());
  for (int l = 0; l < layers; ++l) {
    z = h * n.W[l].transpose();
    z.rowwise() += n.b[l];
    const Activation a = l == layers - 1 ? n.output : n.hidden;
    h = z.unaryExpr([a](double v) { return act(a, v); });
  }
}

// Batch-mean loss, in double: −(1/B) Σ t·log softmax(z) or (1/B) Σ ½‖h − t‖².
double ref_loss(const RefNet& n, const MatD& x, const MatD& t, Loss loss) {
  MatD z, h;
  ref_forward(n, x, z, h);
  double total = 0.0;
  if (loss == Loss::softmax_cross_entropy) {
    for (Eigen::Index r = 0; r < z.rows(); ++r) {
      const double m = z.row(r).maxCoeff();
      const double lse = m + std::log((z.row(r).array() - m).exp().sum());
      for (Eigen::Index k = 0; k < z.cols(); ++k) total -= t(r, k) * (z(r, k) - lse);
    }
  } else if (loss.kind == Loss::Kind::soft_targets) {
    // (1−α) T² Σ p log(p / softmax(z/T)) + α CE(y, softmax(z)) (Hinton, Vinyals & Dean 2015 §2).
    const double temp = loss.temperature, alpha = loss.hard_weight;
    const Eigen::Index k_out = z.cols();
    for (Eigen::Index r = 0; r < z.rows(); ++r) {
      const RowD zt = z.row(r) / temp;
      const double lse_t = std::log(zt.array().exp().sum());
      const double lse = std::log(z.row(r).array().exp().sum());
      for (Eigen::Index k = 0; k < k_out; ++k) {
        const double p = t(r, k);
        if (p > 0) total += (1.0 - alpha) * temp * temp * p * (std::log(p) - (zt(k) - lse_t));
        if (alpha > 0) total -= alpha * t(r, k_out + k) * (z(r, k) - lse);
      }
    }
  } else {
    total = 0.5 * (h - t).squaredNorm();
  }
  return total / static_cast<double>(x.rows());
}

struct RefGradients {
  std::vector<MatD> dW;
  std::vector<RowD> db;
};

// Central differences with step 1e-6 on the double copy. The loss is smooth at this point
// (ReLU kinks are kept ≥ 1e-3 away, see kink_margin), so the truncation error is
// O(eps²·L''') ≈ 1e-12 and the rounding error O(1e-16·L/eps) ≈ 1e-10: the FD values are exact
// to ~1e-9, far below the float32 error of the library gradient that they judge.
RefGradients fd_gradient(const Mlp& net, const Matrix& x, const Matrix& t, Loss loss) {
  constexpr double eps = 1e-6;
  RefNet n = to_double(net);
  const MatD xd = x.cast<double>(), td = t.cast<double>();
  RefGradients g;
  auto central = [&](double& p) {
    const double saved = p;
    p = saved + eps;
    const double up = ref_loss(n, xd, td, loss);
    p = saved - eps;
    const double down = ref_loss(n, xd, td, loss);
    p = saved;
    return (up - down) / (2.0 * eps);
  };
  for (std::size_t l = 0; l < n.W.size(); ++l) {
    MatD dw(n.W[l].rows(), n.W[l].cols());
    for (Eigen::Index i = 0; i < dw.rows(); ++i)
      for (Eigen::Index j = 0; j < dw.cols(); ++j) dw(i, j) = central(n.W[l](i, j));
    RowD db(n.b[l].size());
    for (Eigen::Index i = 0; i < db.size(); ++i) db(i) = central(n.b[l](i));
    g.dW.push_back(std::move(dw));
    g.db.push_back(std::move(db));
  }
  return g;
}

// Tolerance of the comparison. The library works in float32 (unit roundoff 6e-8); its
// gradient entries are short sums (≤ 7 terms per product, 6 rows) of products whose size is
// that of the largest entries, so their absolute error is ~1e-6 of the tensor's largest
// entry (measured: worst |g − fd| / tolerance = 0.013 over all 20 combinations, i.e. errors
// ≲ 5e-7 · max|fd|; see "the tolerance is tight"). An entry passes when
//     |g − fd| ≤ kRelative·|fd| + kAbsolute·max|fd of its tensor|,
// ~75× above the observed float error, yet a 1% change of any entry larger than 0.3% of its
// tensor's largest one fails, and so do a wrong sign, a missing derivative factor, a
// transposed W and a missing 1/B (negative tests below).
constexpr double kRelative = 2e-5;
constexpr double kAbsolute = 2e-5;

struct Comparison {
  bool ok = true;
  double worst = 0.0;       // max over entries of |g − fd| / tolerance (ok iff ≤ 1)
  std::string where;        // the worst entry, for the failure message
};

void compare_tensor(const Eigen::Ref<const Matrix>& got, const MatD& fd, const std::string& name, Comparison& c) {
  const double scale = fd.cwiseAbs().maxCoeff();
  for (Eigen::Index i = 0; i < fd.rows(); ++i)
    for (Eigen::Index j = 0; j < fd.cols(); ++j) {
      const double g = got(i, j), f = fd(i, j);
      const double tolerance = kRelative * std::abs(f) + kAbsolute * scale + 1e-12;
      const double ratio = std::isfinite(g) ? std::abs(g - f) / tolerance : std::numeric_limits<double>::infinity();
      if (ratio > c.worst) {
        c.worst = ratio;
        std::ostringstream s;
        s << name << "(" << i << "," << j << "): got " << g << ", finite differences " << f << " (scale " << scale
          << ")";
        c.where = s.str();
      }
    }
  c.ok = c.worst <= 1.0;
}

Comparison compare(const Gradients& g, const RefGradients& fd) {
  Comparison c;
  REQUIRE(g.dW.size() == fd.dW.size());
  for (std::size_t l = 0; l < fd.dW.size(); ++l) {
    REQUIRE(g.dW[l].rows() == fd.dW[l].rows());
    REQUIRE(g.dW[l].cols() == fd.dW[l].cols());
    REQUIRE(g.db[l].size() == fd.db[l].size());
    compare_tensor(g.dW[l], fd.dW[l], "dW[" + std::to_string(l) + "]", c);
    const Matrix db = g.db[l];
    compare_tensor(db, fd.db[l], "db[" + std::to_string(l) + "]", c);
  }
  return c;
}

// The smallest |z| over the layers that use relu: finite differences of size 1e-6 never
// cross a kink when this is ≥ 1e-3.
double kink_margin(const Mlp& net, const ForwardCache& cache) {
  double margin = std::numeric_limits<double>::infinity();
  for (int l = 0; l < net.num_layers(); ++l)
    if (net.activation(l) == Activation::relu) margin = std::min(margin, static_cast<double>(cache.z(l).cwiseAbs().minCoeff()));
  return margin;
}

struct Case {
  Activation hidden, output;
  Loss loss;
};

std::string describe(const Case& c) {
  return std::string(to_string(c.loss)) + (c.loss.kind == Loss::Kind::soft_targets ? " T=" + std::to_string(c.loss.temperature) + " alpha=" + std::to_string(c.loss.hard_weight) : "") + ", hidden " + std::string(to_string(c.hidden)) + ", output " +
         std::string(to_string(c.output));
}

// Every hidden activation × {cross-entropy and soft targets on linear logits, mse on
// linear/tanh/sigmoid/relu outputs}.
std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (Activation h : {Activation::tanh, Activation::relu, Activation::sigmoid, Activation::linear}) {
    cases.push_back({h, Activation::linear, Loss::softmax_cross_entropy});
    // Distillation's soft-target loss, pure (α = 0) and mixed with hard labels.
    cases.push_back({h, Activation::linear, Loss::soft_targets(3.0f)});
    cases.push_back({h, Activation::linear, Loss::soft_targets(2.5f, 0.3f)});
    for (Activation o : {Activation::linear, Activation::tanh, Activation::sigmoid, Activation::relu})
      cases.push_back({h, o, Loss::mse});
  }
  return cases;
}

// A 5-7-4-3 net (non-square everywhere), a batch of 6 in a cache of capacity 8 whose last two
// rows hold stale activity from an earlier pass, and the finite-difference gradient.
struct Setup {
  Mlp net;
  test::Batch batch;
  test::Pass pass;
  RefGradients fd;
};

Setup make_setup(const Case& c, const std::vector<int>& sizes = {5, 7, 4, 3}) {
  for (std::uint64_t seed = 1; seed < 50; ++seed) {
    Mlp net = test::random_mlp(sizes, c.hidden, c.output, seed);
    test::Batch batch = test::random_batch(net, c.loss, 6, 100 + seed);
    test::Pass pass{ForwardCache(net.shape(), 8), Matrix(6, net.output_size()), 0.0};
    RandomStream stale_rng(seed, Purpose::probe);
    forward(net, test::random_matrix(8, net.input_size(), stale_rng, -3.0f, 3.0f), pass.cache);
    forward(net, batch.x, pass.cache);
    if (kink_margin(net, pass.cache) < 1e-3) continue;
    // For relu outputs keep some outputs active, or the mse gradient would be trivially zero.
    if (c.output == Activation::relu && (pass.cache.logits().array() > 0.0f).count() < 6) continue;
    pass.loss = loss_and_delta(c.loss, c.output, pass.cache.logits(), pass.cache.output(), batch.y, pass.delta);
    RefGradients fd = fd_gradient(net, batch.x, batch.y, c.loss);
    return Setup{std::move(net), std::move(batch), std::move(pass), std::move(fd)};
  }
  FAIL("no seed gives a network whose relu pre-activations stay away from 0");
  throw std::logic_error("unreachable");
}

Gradients library_gradient(const Setup& s) {
  Gradients g = test::nan_gradients(s.net);
  DeltaBuffers buffers(s.net.shape(), 8);
  backprop_gradient(s.net, s.pass.cache, s.pass.delta, buffers, g);
  return g;
}

Gradients registry_backprop(const Setup& s) {
  const auto rule = rule_registry().make("backprop");
  auto state = rule->make_state(s.net, 8, RandomStream(7, Purpose::feedback));
  return test::rule_update(*rule, *state, s.net, s.pass, s.batch.y);
}

}  // namespace

TEST_SUITE("lib/gradient") {

TEST_CASE("the double reference forward agrees with the library forward") {
  for (const Case& c : all_cases()) {
    CAPTURE(describe(c));
    const Setup s = make_setup(c);
    MatD z, h;
    ref_forward(to_double(s.net), s.batch.x.cast<double>(), z, h);
    CHECK((s.pass.cache.logits().cast<double>() - z).cwiseAbs().maxCoeff() < 1e-5 * (1.0 + z.cwiseAbs().maxCoeff()));
    CHECK((s.pass.cache.output().cast<double>() - h).cwiseAbs().maxCoeff() < 1e-5 * (1.0 + h.cwiseAbs().maxCoeff()));
    CHECK(s.pass.loss == doctest::Approx(ref_loss(to_double(s.net), s.batch.x.cast<double>(), s.batch.y.cast<double>(), c.loss)).epsilon(1e-5));
  }
}

TEST_CASE("backprop_gradient equals central finite differences: every activation x every loss, every parameter") {
  for (const Case& c : all_cases()) {
    CAPTURE(describe(c));
    const Setup s = make_setup(c);
    const Gradients g = library_gradient(s);
    REQUIRE(g.all_finite());
    const Comparison cmp = compare(g, s.fd);
    CAPTURE(cmp.where);
    CAPTURE(cmp.worst);
    CHECK(cmp.ok);
    // The gradient is not trivially zero anywhere (that would make the comparison vacuous).
    for (int l = 0; l < s.net.num_layers(); ++l) CHECK(s.fd.dW[l].cwiseAbs().maxCoeff() > 1e-4);
  }
}

TEST_CASE("the backprop rule from the registry equals central finite differences") {
  for (const Case& c : all_cases()) {
    CAPTURE(describe(c));
    const Setup s = make_setup(c);
    const Gradients g = registry_backprop(s);
    REQUIRE(g.all_finite());
    const Comparison cmp = compare(g, s.fd);
    CAPTURE(cmp.where);
    CAPTURE(cmp.worst);
    CHECK(cmp.ok);
    // And it is the very same computation as backprop_gradient.
    const Gradients direct = library_gradient(s);
    for (int l = 0; l < s.net.num_layers(); ++l) {
      CHECK(g.dW[l] == direct.dW[l]);
      CHECK(g.db[l] == direct.db[l]);
    }
  }
}

TEST_CASE("deeper and wider nets: 3-9-8-6-2 and 8-2-5, also against finite differences") {
  for (const auto& sizes : {std::vector<int>{3, 9, 8, 6, 2}, std::vector<int>{8, 2, 5}}) {
    for (const Case& c : {Case{Activation::tanh, Activation::linear, Loss::softmax_cross_entropy},
                          Case{Activation::relu, Activation::sigmoid, Loss::mse}}) {
      CAPTURE(describe(c));
      CAPTURE(sizes.size());
      const Setup s = make_setup(c, sizes);
      const Comparison cmp = compare(library_gradient(s), s.fd);
      CAPTURE(cmp.where);
      CHECK(cmp.ok);
    }
  }
}

TEST_CASE("the tolerance is tight: the observed float error is far below it") {
  // Documents the margin the tolerance comment relies on (worst ratio ≤ 0.1, i.e. ≥ 10× margin).
  double worst = 0.0;
  for (const Case& c : all_cases()) {
    const Setup s = make_setup(c);
    worst = std::max(worst, compare(library_gradient(s), s.fd).worst);
  }
  CAPTURE(worst);   // 0.013 when written (float32, -O3 -march=native)
  CHECK(worst < 0.1);
}

TEST_CASE("negative: the finite-difference check catches a 1% error in a single entry of any layer") {
  for (const Case& c : {Case{Activation::tanh, Activation::linear, Loss::softmax_cross_entropy},
                        Case{Activation::sigmoid, Activation::sigmoid, Loss::mse},
                        Case{Activation::relu, Activation::tanh, Loss::mse}}) {
    CAPTURE(describe(c));
    const Setup s = make_setup(c);
    const Gradients good = library_gradient(s);
    REQUIRE(compare(good, s.fd).ok);
    for (int l = 0; l < s.net.num_layers(); ++l) {
      CAPTURE(l);
      {  // the largest entry of dW_l
        Gradients bad = good;
        Eigen::Index i = 0, j = 0;
        bad.dW[l].cwiseAbs().maxCoeff(&i, &j);
        bad.dW[l](i, j) *= 1.01f;
        const Comparison cmp = compare(bad, s.fd);
        CHECK_FALSE(cmp.ok);
        CHECK(cmp.where.rfind("dW[" + std::to_string(l) + "](" + std::to_string(i) + "," + std::to_string(j) + ")", 0) == 0);
      }
      {  // a mid-sized entry of dW_l (the one closest to 20% of the largest)
        Gradients bad = good;
        const float target = 0.2f * bad.dW[l].cwiseAbs().maxCoeff();
        Eigen::Index k = 0;
        for (Eigen::Index i = 1; i < bad.dW[l].size(); ++i)
          if (std::abs(std::abs(bad.dW[l].data()[i]) - target) < std::abs(std::abs(bad.dW[l].data()[k]) - target)) k = i;
        bad.dW[l].data()[k] *= 1.01f;
        CHECK_FALSE(compare(bad, s.fd).ok);
      }
      {  // the largest entry of db_l
        Gradients bad = good;
        Eigen::Index i = 0;
        bad.db[l].cwiseAbs().maxCoeff(&i);
        bad.db[l](i) *= 1.01f;
        const Comparison cmp = compare(bad, s.fd);
        CHECK_FALSE(cmp.ok);
        CHECK(cmp.where.rfind("db[" + std::to_string(l) + "]", 0) == 0);
      }
    }
  }
}

TEST_CASE("negative: the check catches a wrong sign, a missing 1/B and missing derivative factors") {
  SUBCASE("wrong sign") {
    const Setup s = make_setup({Activation::tanh, Activation::linear, Loss::softmax_cross_entropy});
    Gradients bad = library_gradient(s);
    for (auto& w : bad.dW) w = -w;
    for (auto& b : bad.db) b = -b;
    CHECK_FALSE(compare(bad, s.fd).ok);
  }
  SUBCASE("missing 1/B (a summed rather than mean loss)") {
    const Setup s = make_setup({Activation::tanh, Activation::linear, Loss::mse});
    Gradients bad = library_gradient(s);
    for (auto& w : bad.dW) w *= 6.0f;
    for (auto& b : bad.db) b *= 6.0f;
    CHECK_FALSE(compare(bad, s.fd).ok);
  }
  SUBCASE("missing output derivative: the delta of a sigmoid output computed as if linear") {
    const Setup s = make_setup({Activation::tanh, Activation::sigmoid, Loss::mse});
    Matrix wrong_delta(6, 3);
    loss_and_delta(Loss::mse, Activation::linear, s.pass.cache.logits(), s.pass.cache.output(), s.batch.y, wrong_delta);
    Gradients bad = test::nan_gradients(s.net);
    DeltaBuffers buffers(s.net.shape(), 8);
    backprop_gradient(s.net, s.pass.cache, wrong_delta, buffers, bad);
    const Comparison cmp = compare(bad, s.fd);
    CHECK_FALSE(cmp.ok);
    CHECK(cmp.worst > 10.0);
  }
  SUBCASE("missing hidden derivative: backward through a tanh net as if it were linear") {
    const Setup s = make_setup({Activation::tanh, Activation::linear, Loss::softmax_cross_entropy});
    Mlp as_linear(MlpShape{s.net.shape().sizes, Activation::linear, Activation::linear});
    for (int l = 0; l < s.net.num_layers(); ++l) {
      as_linear.weight(l) = s.net.weight(l);
      as_linear.bias(l) = s.net.bias(l);
    }
    Gradients bad = test::nan_gradients(s.net);
    DeltaBuffers buffers(s.net.shape(), 8);
    backprop_gradient(as_linear, s.pass.cache, s.pass.delta, buffers, bad);
    const Comparison cmp = compare(bad, s.fd);
    CHECK_FALSE(cmp.ok);
    // The output layer's gradient does not involve a hidden derivative and still matches.
    Comparison last;
    compare_tensor(bad.dW[2], s.fd.dW[2], "dW[2]", last);
    CHECK(last.ok);
  }
  SUBCASE("transposed W: a square hidden layer backpropagated through W_1ᵀ instead of W_1") {
    const Case c{Activation::tanh, Activation::linear, Loss::softmax_cross_entropy};
    const Setup s = make_setup(c, {5, 4, 4, 3});
    Mlp transposed = s.net;
    transposed.weight(1) = s.net.weight(1).transpose().eval();
    Gradients bad = test::nan_gradients(s.net);
    DeltaBuffers buffers(s.net.shape(), 8);
    backprop_gradient(transposed, s.pass.cache, s.pass.delta, buffers, bad);
    CHECK_FALSE(compare(bad, s.fd).ok);
    CHECK(compare(library_gradient(s), s.fd).ok);
  }
}

TEST_CASE("layer_gradient golden: dW = deltaᵀ h, db = column sums of delta") {
  Mlp net(MlpShape{{2, 3, 2}, Activation::linear, Activation::linear});
  Matrix x(2, 2), delta(2, 3);
  x << 1.0f, 2.0f, -1.0f, 0.5f;
  delta << 1.0f, 0.0f, -1.0f, 0.5f, 2.0f, 0.0f;
  ForwardCache cache(net.shape(), 2);
  forward(net, x, cache);
  Gradients g = Gradients::like(net);
  layer_gradient(cache, 0, delta, g);
  // dW[j] = Σ_rows delta(r, j) x(r, :): j=0: 1·(1,2) + 0.5·(−1,0.5); j=1: 2·(−1,0.5); j=2: −1·(1,2).
  Matrix expected(3, 2);
  expected << 0.5f, 2.25f, -2.0f, 1.0f, -1.0f, -2.0f;
  CHECK(g.dW[0] == expected);
  RowVector expected_db(3);
  expected_db << 1.5f, 2.0f, -1.0f;
  CHECK(g.db[0] == expected_db);
  // Layer 1 untouched.
  CHECK(g.dW[1].isZero(0.0f));
}

TEST_CASE("Gradients: like() is zero and shaped as the net; set_zero; all_finite") {
  const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 1);
  Gradients g = Gradients::like(net);
  REQUIRE(g.dW.size() == 3);
  REQUIRE(g.db.size() == 3);
  for (int l = 0; l < 3; ++l) {
    CHECK(g.dW[l].rows() == net.weight(l).rows());
    CHECK(g.dW[l].cols() == net.weight(l).cols());
    CHECK(g.db[l].size() == net.bias(l).size());
    CHECK(g.dW[l].isZero(0.0f));
    CHECK(g.db[l].isZero(0.0f));
  }
  CHECK(g.all_finite());
  g.db[2](1) = std::numeric_limits<float>::quiet_NaN();
  CHECK_FALSE(g.all_finite());
  g.set_zero();
  CHECK(g.all_finite());
  g.dW[0](3, 4) = std::numeric_limits<float>::infinity();
  CHECK_FALSE(g.all_finite());
  g.set_zero();
  for (int l = 0; l < 3; ++l) CHECK(g.dW[l].isZero(0.0f));

  const DeltaBuffers buffers(net.shape(), 8);
  REQUIRE(buffers.delta.size() == 3);
  for (int l = 0; l < 3; ++l) {
    CHECK(buffers.delta[l].rows() == 8);
    CHECK(buffers.delta[l].cols() == net.shape().sizes[l + 1]);
  }
}

TEST_CASE("angle_degrees: 0 identical, 180 negated, 90 orthogonal or zero, 60 by hand") {
  RandomStream rng(9, Purpose::probe);
  const Matrix a = test::random_matrix(4, 3, rng);
  CHECK(std::abs(angle_degrees(a, a)) < 1e-3);
  CHECK(angle_degrees(a, -a) == doctest::Approx(180.0).epsilon(1e-6));
  CHECK(angle_degrees(a, 3.0f * a) < 1e-3);   // scale invariant
  Matrix u(2, 2), v(2, 2);
  u << 1.0f, 2.0f, 0.0f, -1.0f;
  v << 2.0f, -1.0f, 5.0f, 0.0f;   // u·v = 2 − 2 + 0 + 0 = 0
  CHECK(angle_degrees(u, v) == doctest::Approx(90.0).epsilon(1e-9));
  const Matrix zero = Matrix::Zero(4, 3);
  CHECK(angle_degrees(a, zero) == 90.0);
  CHECK(angle_degrees(zero, a) == 90.0);
  CHECK(angle_degrees(zero, zero) == 90.0);
  Matrix p(1, 2), q(1, 2);
  p << 1.0f, 0.0f;
  q << 0.5f, std::sqrt(3.0f) / 2.0f;
  CHECK(angle_degrees(p, q) == doctest::Approx(60.0).epsilon(1e-5));
}

}  // TEST_SUITE
