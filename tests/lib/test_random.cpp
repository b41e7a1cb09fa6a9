// Counter-based random streams (lib/random.hpp): Philox4x32-10 against the Random123
// known-answer vectors, determinism by key (not by thread or order), independence of
// purposes, indices and child streams, and the distributions of the transforms.
#include <doctest/doctest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <set>
#include <thread>
#include <vector>

#include "lib/random.hpp"

using plast::Purpose;
using plast::RandomStream;

namespace {

using Block = std::array<std::uint32_t, 4>;

std::vector<std::uint32_t> draw_u32(RandomStream rng, int n) {
  std::vector<std::uint32_t> out;
  for (int i = 0; i < n; ++i) out.push_back(rng.next_u32());
  return out;
}

// Pearson's chi-square statistic of `counts` against equal expected counts.
double chi_square(const std::vector<long>& counts) {
  const double total = std::accumulate(counts.begin(), counts.end(), 0.0);
  const double expected = total / static_cast<double>(counts.size());
  double chi2 = 0.0;
  for (long c : counts) chi2 += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
  return chi2;
}

// Everything a stream produces through its public interface, mixed: two streams that agree
// here agree in every transform.
std::vector<double> mixed_draws(RandomStream rng) {
  std::vector<double> out;
  for (int i = 0; i < 50; ++i) {
    out.push_back(rng.next_u32());
    out.push_back(static_cast<double>(rng.next_u64()));
    out.push_back(rng.uniform());
    out.push_back(rng.uniform_double());
    out.push_back(rng.normal());
    out.push_back(static_cast<double>(rng.below(1000)));
  }
  return out;
}

}  // namespace

TEST_SUITE("lib/random") {

// Known-answer tests from Random123 (Salmon et al., SC 2011), kat_vectors, philox4x32 R=10.
TEST_CASE("philox4x32-10 matches the Random123 known-answer vectors") {
  CHECK(RandomStream::philox({0, 0, 0, 0}, {0, 0}) == Block{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(RandomStream::philox({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff}, {0xffffffff, 0xffffffff}) ==
        Block{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(RandomStream::philox({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}, {0xa4093822, 0x299f31d0}) ==
        Block{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
}

TEST_CASE("philox is a function of counter and key: each word of either changes the output") {
  const Block base = RandomStream::philox({1, 2, 3, 4}, {5, 6});
  CHECK(RandomStream::philox({1, 2, 3, 4}, {5, 6}) == base);
  for (int w = 0; w < 4; ++w) {
    Block ctr{1, 2, 3, 4};
    ctr[static_cast<std::size_t>(w)] ^= 1u;
    CHECK(RandomStream::philox(ctr, {5, 6}) != base);
  }
  CHECK(RandomStream::philox({1, 2, 3, 4}, {4, 6}) != base);
  CHECK(RandomStream::philox({1, 2, 3, 4}, {5, 7}) != base);
}

// Golden numbers of the stream layout (seed -> key, purpose and indices -> counter words).
// Studies are reproducible only while these hold: change them only on a deliberate,
// announced change of the stream format.
TEST_CASE("golden values: the stream layout does not change silently") {
  RandomStream r(42, Purpose::init_weights, {1, 2});
  CHECK(draw_u32(r, 4) == std::vector<std::uint32_t>{0xa8e76ae3, 0x0c81397e, 0x67545e25, 0xcb30e2ba});
  RandomStream c = RandomStream(42, Purpose::shuffle).child({7});
  CHECK(draw_u32(c, 4) == std::vector<std::uint32_t>{0x2e495324, 0xd165d26c, 0x3d67284a, 0x6f237835});
  RandomStream u(1, Purpose::data);
  CHECK(u.uniform() == 0.654495597f);
  CHECK(u.uniform() == 0.869755447f);
  RandomStream n(1, Purpose::data);
  CHECK(n.normal() == doctest::Approx(-1.35720503).epsilon(1e-6));
  CHECK(n.normal() == doctest::Approx(-0.532442033).epsilon(1e-6));
}

TEST_CASE("the same key gives the same sequence, in every transform") {
  RandomStream a(7, Purpose::task, {3, 1, 4});
  RandomStream b(7, Purpose::task, {3, 1, 4});
  CHECK(draw_u32(a, 1000) == draw_u32(b, 1000));
  CHECK(mixed_draws(a) == mixed_draws(b));
  // A copy continues exactly where the original is.
  for (int i = 0; i < 13; ++i) a.next_u32();
  a.normal();  // leaves a cached spare normal behind
  RandomStream copy = a;
  CHECK(mixed_draws(copy) == mixed_draws(a));
}

TEST_CASE("seed, purpose, indices and their order each give a different sequence") {
  const auto base = draw_u32(RandomStream(7, Purpose::task, {1, 2}), 8);
  CHECK(draw_u32(RandomStream(8, Purpose::task, {1, 2}), 8) != base);
  CHECK(draw_u32(RandomStream(7ull | (1ull << 32), Purpose::task, {1, 2}), 8) != base);  // high word of the seed
  CHECK(draw_u32(RandomStream(7, Purpose::data, {1, 2}), 8) != base);
  CHECK(draw_u32(RandomStream(7, Purpose::task, {1, 3}), 8) != base);
  CHECK(draw_u32(RandomStream(7, Purpose::task, {2, 1}), 8) != base);
  CHECK(draw_u32(RandomStream(7, Purpose::task, {1, 2, 0}), 8) != base);
  CHECK(draw_u32(RandomStream(7, Purpose::task, {1}), 8) != base);
  CHECK(draw_u32(RandomStream(7, Purpose::task), 8) != draw_u32(RandomStream(7, Purpose::task, {0}), 8));

  // Every purpose and many indices: no two streams start alike.
  std::set<std::vector<std::uint32_t>> starts;
  int streams = 0;
  for (auto p : {Purpose::init_weights, Purpose::feedback, Purpose::shuffle, Purpose::task, Purpose::data,
                 Purpose::perturbation, Purpose::probe, Purpose::split})
    for (std::uint64_t i = 0; i < 64; ++i) {
      starts.insert(draw_u32(RandomStream(1, p, {i}), 4));
      ++streams;
    }
  CHECK(starts.size() == static_cast<std::size_t>(streams));
}

TEST_CASE("child streams differ from their parent and from each other, and do not depend on its position") {
  const RandomStream parent(11, Purpose::feedback, {5});
  const auto p = draw_u32(parent, 16);
  CHECK(draw_u32(parent.child({}), 16) != p);
  CHECK(draw_u32(parent.child({0}), 16) != p);
  CHECK(draw_u32(parent.child({1}), 16) != p);
  CHECK(draw_u32(parent.child({1}), 16) != draw_u32(parent.child({2}), 16));
  CHECK(draw_u32(parent.child({1, 2}), 16) != draw_u32(parent.child({2, 1}), 16));
  CHECK(draw_u32(parent.child({1}).child({2}), 16) != draw_u32(parent.child({1}), 16));
  // A child is named by its key alone: drawing from the parent first changes nothing.
  RandomStream used = parent;
  for (int i = 0; i < 101; ++i) used.next_u32();
  CHECK(draw_u32(used.child({3}), 16) == draw_u32(parent.child({3}), 16));
  // A child of another seed differs.
  CHECK(draw_u32(RandomStream(12, Purpose::feedback, {5}).child({3}), 16) != draw_u32(parent.child({3}), 16));
}

TEST_CASE("streams give the same numbers on many threads as on one, in any order") {
  constexpr int kStreams = 64, kDraws = 2000;
  auto fill = [](std::uint64_t i) {
    RandomStream rng(2024, Purpose::data, {i});
    std::vector<double> v;
    for (int k = 0; k < kDraws; ++k) v.push_back(k % 3 == 0 ? rng.normal() : k % 3 == 1 ? rng.uniform() : rng.next_u32());
    return v;
  };
  std::vector<std::vector<double>> serial(kStreams), threaded(kStreams);
  for (int i = 0; i < kStreams; ++i) serial[static_cast<std::size_t>(i)] = fill(static_cast<std::uint64_t>(i));
  {
    constexpr int kThreads = 8;
    std::vector<std::thread> pool;
    for (int t = 0; t < kThreads; ++t)
      pool.emplace_back([&, t] {
        // Each thread takes every kThreads-th stream, from the last to the first.
        for (int i = kStreams - 1 - t; i >= 0; i -= kThreads)
          threaded[static_cast<std::size_t>(i)] = fill(static_cast<std::uint64_t>(i));
      });
    for (auto& th : pool) th.join();
  }
  CHECK(serial == threaded);

  // One stream handed on: copies of it used on other threads continue it exactly.
  RandomStream shared(5, Purpose::perturbation);
  for (int i = 0; i < 7; ++i) shared.next_u32();
  const auto expected = mixed_draws(shared);
  std::vector<std::vector<double>> got(4);
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < got.size(); ++t) pool.emplace_back([&, t] { got[t] = mixed_draws(shared); });
  for (auto& th : pool) th.join();
  for (const auto& g : got) CHECK(g == expected);
}

TEST_CASE("uniform() lies in [0, 1) on a 2^-24 grid with mean 1/2 and variance 1/12") {
  RandomStream rng(3, Purpose::probe);
  constexpr int n = 1'000'000;
  double sum = 0.0, sum_sq = 0.0;
  bool in_range = true, on_grid = true;
  for (int i = 0; i < n; ++i) {
    const float u = rng.uniform();
    in_range = in_range && u >= 0.0f && u < 1.0f;
    const float scaled = u * 16777216.0f;
    on_grid = on_grid && scaled == std::floor(scaled);
    sum += u;
    sum_sq += static_cast<double>(u) * u;
  }
  CHECK(in_range);
  CHECK(on_grid);
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  CHECK(std::abs(mean - 0.5) < 0.005);
  CHECK(std::abs(var - 1.0 / 12.0) < 0.001);

  // Ten equal bins: chi-square with 9 degrees of freedom (27.9 is its 0.999 quantile).
  std::vector<long> bins(10, 0);
  for (int i = 0; i < 100'000; ++i) ++bins[static_cast<std::size_t>(rng.uniform() * 10.0f)];
  CHECK(chi_square(bins) < 27.9);
}

TEST_CASE("uniform_double() and uniform(lo, hi) stay in their intervals") {
  RandomStream rng(4, Purpose::probe);
  double sum = 0.0;
  bool ok = true;
  for (int i = 0; i < 200'000; ++i) {
    const double d = rng.uniform_double();
    ok = ok && d >= 0.0 && d < 1.0;
    sum += d;
    const float x = rng.uniform(-2.0f, 3.0f);
    ok = ok && x >= -2.0f && x < 3.0f;
  }
  CHECK(ok);
  CHECK(std::abs(sum / 200'000 - 0.5) < 0.005);
}

TEST_CASE("normal() has mean 0, variance 1 and Gaussian tails") {
  RandomStream rng(5, Purpose::probe);
  constexpr int n = 1'000'000;
  double sum = 0.0, sum_sq = 0.0, sum_4 = 0.0;
  long beyond_1 = 0, beyond_2 = 0, beyond_3 = 0;
  bool finite = true;
  for (int i = 0; i < n; ++i) {
    const double x = rng.normal();
    finite = finite && std::isfinite(x);
    sum += x;
    sum_sq += x * x;
    sum_4 += x * x * x * x;
    beyond_1 += std::abs(x) > 1.0;
    beyond_2 += std::abs(x) > 2.0;
    beyond_3 += std::abs(x) > 3.0;
  }
  CHECK(finite);
  const double mean = sum / n, var = sum_sq / n - mean * mean;
  CHECK(std::abs(mean) < 0.005);
  CHECK(std::abs(var - 1.0) < 0.01);
  CHECK(std::abs(sum_4 / n - 3.0) < 0.05);  // kurtosis of the normal
  // P(|x| > k) = 0.3173, 0.0455, 0.0027; standard errors about 4.7e-4, 2.1e-4, 5.2e-5.
  CHECK(std::abs(static_cast<double>(beyond_1) / n - 0.31731) < 0.003);
  CHECK(std::abs(static_cast<double>(beyond_2) / n - 0.04550) < 0.0015);
  CHECK(std::abs(static_cast<double>(beyond_3) / n - 0.00270) < 0.0003);
}

TEST_CASE("below(n) stays in [0, n) and is uniform") {
  RandomStream rng(6, Purpose::probe);
  for (int i = 0; i < 1000; ++i) CHECK_EQ(rng.below(1), 0u);

  // n = 7: chi-square with 6 degrees of freedom (22.46 is its 0.999 quantile).
  std::vector<long> counts(7, 0);
  bool in_range = true;
  for (int i = 0; i < 70'000; ++i) {
    const auto k = rng.below(7);
    in_range = in_range && k < 7;
    if (k < 7) ++counts[k];
  }
  CHECK(in_range);
  CHECK(chi_square(counts) < 22.46);

  // Large n, where rejection matters most: n just above 2^63 rejects almost half the draws.
  for (std::uint64_t n : {std::uint64_t{3}, std::uint64_t{1000}, (std::uint64_t{1} << 63) + 1,
                          ~std::uint64_t{0}, std::uint64_t{0xFFFFFFFF}}) {
    bool ok = true;
    for (int i = 0; i < 2000; ++i) ok = ok && rng.below(n) < n;
    CHECK_MESSAGE(ok, "n = " << n);
  }
  // With n = 2^63 + 1 the upper half [2^62, 2^63] must be hit as often as the lower half.
  long upper = 0;
  for (int i = 0; i < 10'000; ++i) upper += rng.below((std::uint64_t{1} << 63) + 1) >= (std::uint64_t{1} << 62);
  CHECK(std::abs(static_cast<double>(upper) / 10'000 - 0.5) < 0.03);
}

TEST_CASE("shuffle is a deterministic, uniform permutation") {
  std::vector<int> v(100), w(100);
  std::iota(v.begin(), v.end(), 0);
  std::iota(w.begin(), w.end(), 0);
  RandomStream a(9, Purpose::shuffle), b(9, Purpose::shuffle);
  plast::shuffle(v.begin(), v.end(), a);
  plast::shuffle(w.begin(), w.end(), b);
  CHECK(v == w);  // same key, same order
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int> identity(100);
  std::iota(identity.begin(), identity.end(), 0);
  CHECK(sorted == identity);  // a permutation
  CHECK(v != identity);

  std::vector<int> other(100);
  std::iota(other.begin(), other.end(), 0);
  RandomStream c(10, Purpose::shuffle);
  plast::shuffle(other.begin(), other.end(), c);
  CHECK(other != v);  // another key, another order

  // Empty and one-element ranges are left alone.
  std::vector<int> empty, one{42};
  RandomStream d(1, Purpose::shuffle);
  plast::shuffle(empty.begin(), empty.end(), d);
  plast::shuffle(one.begin(), one.end(), d);
  CHECK(empty.empty());
  CHECK(one == std::vector<int>{42});

  // All 6 orders of 3 elements equally often: chi-square with 5 degrees of freedom
  // (20.5 is its 0.999 quantile).
  RandomStream e(2, Purpose::shuffle);
  std::vector<long> orders(6, 0);
  for (int i = 0; i < 60'000; ++i) {
    std::array<int, 3> x{0, 1, 2};
    plast::shuffle(x.begin(), x.end(), e);
    int rank = 0;
    std::array<int, 3> y{0, 1, 2};
    while (y != x) {
      std::next_permutation(y.begin(), y.end());
      ++rank;
    }
    ++orders[static_cast<std::size_t>(rank)];
  }
  CHECK(chi_square(orders) < 20.5);
}

}  // TEST_SUITE
