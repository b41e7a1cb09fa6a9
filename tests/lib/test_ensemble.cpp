// lib/ensemble: the merged network's logits are the mean of its members' logits (members of
// different widths and depth 1 to 3), its parameter count, and every refused member set.
#include <doctest/doctest.h>

#include <vector>

#include "lib/ensemble.hpp"
#include "lib/error.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

Matrix logits(const Mlp& net, const Matrix& x) {
  ForwardCache cache(net.shape(), static_cast<int>(x.rows()));
  forward(net, x, cache);
  return cache.logits();
}

}  // namespace

TEST_SUITE("lib/ensemble") {
  TEST_CASE("the ensemble's logits are the mean of its members' logits, for any depth and widths") {
    const std::vector<std::vector<std::vector<int>>> cases = {
        {{6, 5, 3}, {6, 2, 3}},                                 // one hidden layer
        {{6, 5, 4, 3}, {6, 7, 2, 3}, {6, 3, 3, 3}},             // two: the second is block-diagonal
        {{6, 4, 4, 4, 3}, {6, 2, 5, 3, 3}},                     // three
    };
    for (Activation act : {Activation::relu, Activation::tanh}) {
      for (const auto& sizes : cases) {
        CAPTURE(sizes.size());
        std::vector<Mlp> members;
        std::uint64_t seed = 1;
        for (const auto& s : sizes) members.push_back(test::random_mlp(s, act, Activation::linear, seed++));
        const Mlp merged = logit_ensemble(members);
        RandomStream rng(42, Purpose::init_weights);
        const Matrix x = test::random_matrix(9, 6, rng);
        Matrix want = Matrix::Zero(9, 3);
        for (const Mlp& m : members) want += logits(m, x);
        want /= static_cast<float>(members.size());
        CHECK(test::relative_difference(logits(merged, x), want) < 1e-6);
        long p = 0;
        for (const Mlp& m : members) p += m.num_parameters();
        CHECK(ensemble_parameters(members) == p);
        CHECK(merged.shape().hidden == act);
      }
    }
    // One member: the same network, bit for bit (1/K = 1).
    const Mlp one = test::random_mlp({4, 3, 2}, Activation::relu, Activation::linear, 9);
    CHECK(test::same_net(logit_ensemble({one}), one));
  }

  TEST_CASE("members that cannot be averaged are refused with one line") {
    const Mlp a = test::random_mlp({6, 5, 3}, Activation::relu, Activation::linear, 1);
    CHECK(test::error_message([] { logit_ensemble({}); }) == "ensemble: no members");
    CHECK(test::error_message([&] { logit_ensemble({a, test::random_mlp({6, 5, 4, 3}, Activation::relu, Activation::linear, 2)}); }) ==
          "ensemble: member 2 is 6-5-4-3 relu: member 1 is 6-5-3 relu");
    CHECK(test::error_message([&] { logit_ensemble({a, test::random_mlp({6, 5, 2}, Activation::relu, Activation::linear, 2)}); }) ==
          "ensemble: member 2 is 6-5-2 relu: member 1 is 6-5-3 relu");
    CHECK(test::error_message([&] { logit_ensemble({a, test::random_mlp({6, 5, 3}, Activation::tanh, Activation::linear, 2)}); }) ==
          "ensemble: member 2 is 6-5-3 tanh: member 1 is 6-5-3 relu");
    CHECK(test::error_message([&] { logit_ensemble({test::random_mlp({6, 5, 3}, Activation::relu, Activation::sigmoid, 2)}); }) ==
          "ensemble: member 1 is 6-5-3 relu (output sigmoid): an ensemble averages logits, so outputs must be linear");
  }
}
