// Fitness shaping (search/fitness_shaping.hpp): golden values of every shaping on small
// vectors worked out by hand, NaN (a diverged candidate) ranking worst in each, and rank_order
// breaking ties by index so that shaping is deterministic.
#include <doctest/doctest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "lib/error.hpp"
#include "search/fitness_shaping.hpp"

using namespace plast;

namespace {

const double kNaN = std::numeric_limits<double>::quiet_NaN();

Eigen::VectorXd vec(std::initializer_list<double> values) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (double x : values) v(i++) = x;
  return v;
}

void check_values(const Eigen::VectorXd& got, std::initializer_list<double> expected) {
  REQUIRE(got.size() == static_cast<Eigen::Index>(expected.size()));
  Eigen::Index i = 0;
  for (double e : expected) {
    CAPTURE(i);
    CHECK(got(i) == doctest::Approx(e).epsilon(1e-12));
    ++i;
  }
}

// Orientation of every shaping: "lower is better" except cma_weights (larger is better).
bool worse(Shaping s, double a, double b) { return s == Shaping::cma_weights ? a < b : a > b; }

}  // namespace

TEST_SUITE("search/shaping") {

TEST_CASE("identity passes fitness through and maps NaN to +inf") {
  check_values(shape_fitness(Shaping::identity, vec({3.0, 1.0, -2.0})), {3.0, 1.0, -2.0});
  const Eigen::VectorXd u = shape_fitness(Shaping::identity, vec({3.0, kNaN, 1.0}));
  CHECK(u(0) == 3.0);
  CHECK(u(1) == std::numeric_limits<double>::infinity());
  CHECK(u(2) == 1.0);
}

TEST_CASE("z_score subtracts the mean and divides by the sample standard deviation") {
  // mean 2, sd = sqrt(((−1)² + 0 + 1²)/(3 − 1)) = 1
  check_values(shape_fitness(Shaping::z_score, vec({1.0, 2.0, 3.0})), {-1.0, 0.0, 1.0});
  // mean 5, sd = sqrt((9 + 1 + 1 + 9)/3) = sqrt(20/3)
  const double sd = std::sqrt(20.0 / 3.0);
  check_values(shape_fitness(Shaping::z_score, vec({8.0, 2.0, 6.0, 4.0})), {3.0 / sd, -3.0 / sd, 1.0 / sd, -1.0 / sd});
  // Constant fitness has no spread: all zero (not NaN).
  check_values(shape_fitness(Shaping::z_score, vec({4.0, 4.0, 4.0})), {0.0, 0.0, 0.0});
  check_values(shape_fitness(Shaping::z_score, vec({7.0})), {0.0});
}

TEST_CASE("z_score: NaN is scored as the worst finite value, then placed one above the largest score") {
  // (1, NaN, 3) → statistics of (1, 3, 3): mean 7/3, sd sqrt(4/3); the NaN entry is then set to
  // max(u) + 1 = 1/√3 + 1.
  check_values(shape_fitness(Shaping::z_score, vec({1.0, kNaN, 3.0})),
               {-2.0 / std::sqrt(3.0), 1.0 / std::sqrt(3.0) + 1.0, 1.0 / std::sqrt(3.0)});
}

TEST_CASE("centered_ranks are rank/(λ−1) − ½ with the best (lowest f) at −½") {
  // ranks of (0.5, −1, 3, 2): 1, 0, 3, 2
  check_values(shape_fitness(Shaping::centered_ranks, vec({0.5, -1.0, 3.0, 2.0})), {-1.0 / 6.0, -0.5, 0.5, 1.0 / 6.0});
  // NaN ranks after every finite value, and among NaN the earlier index first.
  check_values(shape_fitness(Shaping::centered_ranks, vec({kNaN, 1.0, kNaN, 0.0, 5.0})), {0.25, -0.25, 0.5, -0.5, 0.0});
  // Ties keep index order, so equal fitness gets distinct, deterministic ranks.
  check_values(shape_fitness(Shaping::centered_ranks, vec({1.0, 1.0})), {-0.5, 0.5});
  check_values(shape_fitness(Shaping::centered_ranks, vec({9.0})), {0.0});
  // Invariant under any strictly increasing transform of f.
  const Eigen::VectorXd f = vec({0.3, -2.0, 7.0, 1.5, 0.0});
  const Eigen::VectorXd g = (f.array() * 3.0).exp().matrix();
  CHECK(shape_fitness(Shaping::centered_ranks, f) == shape_fitness(Shaping::centered_ranks, g));
}

TEST_CASE("cma_weights are Hansen's normalised log-rank weights on the best half, zero elsewhere") {
  // λ = 4, μ = 2: w_i ∝ ln(2.5) − ln i → (ln 2.5, ln 1.25) / ln(3.125) = (0.80416…, 0.19584…)
  check_values(shape_fitness(Shaping::cma_weights, vec({3.0, 1.0, 4.0, 2.0})),
               {0.0, 0.8041628599327295, 0.0, 0.19583714006727054});
  // λ = 5, μ = 2: w_i ∝ ln 3 − ln i; NaN never gets a positive weight.
  const Eigen::VectorXd u = shape_fitness(Shaping::cma_weights, vec({kNaN, 2.0, kNaN, 1.0, 3.0}));
  check_values(u, {0.0, 0.26957728969081496, 0.0, 0.7304227103091852, 0.0});
  CHECK(u.sum() == doctest::Approx(1.0).epsilon(1e-14));
  // λ = 2: μ = 1, the better candidate takes all the weight.
  check_values(shape_fitness(Shaping::cma_weights, vec({5.0, 4.0})), {0.0, 1.0});
  // λ = 1: ln((λ+1)/2) − ln 1 = 0, so the weights fall back to equal (a bug once gave 0/0 = NaN):
  check_values(shape_fitness(Shaping::cma_weights, vec({5.0})), {1.0});
}

TEST_CASE("NaN ranks worst under every shaping") {
  const Eigen::VectorXd f = vec({2.0, kNaN, -1.0, 1e300, 0.0, -1e300});
  for (const auto& name : shaping_names()) {
    CAPTURE(name);
    const Shaping s = parse_shaping(name);
    const Eigen::VectorXd u = shape_fitness(s, f);
    REQUIRE(u.size() == f.size());
    for (Eigen::Index i = 0; i < u.size(); ++i) {
      CAPTURE(i);
      CHECK_FALSE(std::isnan(u(i)));
      if (i != 1) CHECK_FALSE(worse(s, u(i), u(1)));
    }
    if (s != Shaping::cma_weights) {   // cma_weights give every rank in the worse half 0
      for (Eigen::Index i = 0; i < u.size(); ++i)
        if (i != 1) CHECK(worse(s, u(1), u(i)));
    }
  }
}

TEST_CASE("all-NaN fitness shapes to finite (or +inf for identity) values without crashing") {
  const Eigen::VectorXd f = vec({kNaN, kNaN, kNaN});
  for (const auto& name : shaping_names()) {
    CAPTURE(name);
    const Eigen::VectorXd u = shape_fitness(parse_shaping(name), f);
    for (Eigen::Index i = 0; i < u.size(); ++i) CHECK_FALSE(std::isnan(u(i)));
  }
}

TEST_CASE("rank_order sorts best first, NaN last, ties by index") {
  const std::vector<int> order = rank_order(vec({2.0, 1.0, 2.0, 1.0, kNaN, 0.0, kNaN}));
  CHECK(order == std::vector<int>{5, 1, 3, 0, 2, 4, 6});
  CHECK(rank_order(vec({-0.0, 0.0, -0.0})) == std::vector<int>{0, 1, 2});   // −0 == 0: a tie
  CHECK(rank_order(Eigen::VectorXd(0)).empty());
  // Deterministic: the same input always gives the same order.
  const Eigen::VectorXd f = vec({3.0, 3.0, 1.0, 3.0, kNaN, 1.0});
  CHECK(rank_order(f) == rank_order(f));
  CHECK(rank_order(f) == std::vector<int>{2, 5, 0, 1, 3, 4});
}

TEST_CASE("shaping names parse, and an unknown name is an error listing the known ones") {
  for (const auto& name : shaping_names()) CHECK_NOTHROW(parse_shaping(name));
  CHECK(shaping_names().size() == 4);
  try {
    parse_shaping("centred_ranks");
    FAIL("no error for an unknown shaping");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("centred_ranks") != std::string::npos);
    CHECK(msg.find("centered_ranks") != std::string::npos);
    CHECK(msg.find("cma_weights") != std::string::npos);
  }
}

}  // TEST_SUITE
