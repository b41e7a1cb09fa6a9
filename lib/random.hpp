#pragma once
// Counter-based random streams (Philox4x32-10, Salmon et al., "Parallel random numbers:
// as easy as 1, 2, 3", SC 2011). A stream is fully determined by its key
// (study seed, purpose, indices): the same key gives the same numbers on any thread, in
// any order, so results do not depend on how work is scheduled. The uniform and normal
// transforms are our own (std::*_distribution differ between standard libraries).
#include <array>
#include <cstdint>
#include <initializer_list>

namespace plast {

// Why a stream exists. Adding a purpose never changes the numbers of the others.
enum class Purpose : std::uint64_t {
  init_weights = 1,
  feedback = 2,
  shuffle = 3,
  task = 4,
  data = 5,
  perturbation = 6,
  probe = 7,
  split = 8,
  strategy = 9,
  analysis = 10,   // which synapses `plast inspect` records
  augment = 11,    // train-time input jitter (lib/jitter.hpp), keyed by (student seed, step)
  dropout = 12,    // dropout masks (lib/dropout.hpp), keyed by (student seed, step)
};

class RandomStream {
 public:
  // indices: e.g. {generation, member, task index} or {layer}; up to any number.
  RandomStream(std::uint64_t seed, Purpose purpose, std::initializer_list<std::uint64_t> indices = {});

  // A child stream: same seed, this stream's identity extended by more indices.
  RandomStream child(std::initializer_list<std::uint64_t> indices) const;

  std::uint32_t next_u32();
  std::uint64_t next_u64();
  // Uniform in [0, 1) with 24 random bits (exactly representable as float).
  float uniform();
  // Uniform in [0, 1) with 53 random bits.
  double uniform_double();
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal by Box–Muller in double precision (pairs cached).
  float normal();
  // Uniform integer in [0, n) without modulo bias (Lemire's method with rejection).
  std::uint64_t below(std::uint64_t n);

  static std::array<std::uint32_t, 4> philox(std::array<std::uint32_t, 4> counter,
                                             std::array<std::uint32_t, 2> key);

 private:
  RandomStream() = default;
  void refill();

  std::array<std::uint32_t, 2> key_{};
  std::uint64_t stream_ = 0;   // identity from (purpose, indices): counter words 2..3
  std::uint64_t block_ = 0;    // block counter: counter words 0..1
  std::array<std::uint32_t, 4> buffer_{};
  int used_ = 4;
  bool has_spare_normal_ = false;
  double spare_normal_ = 0.0;
};

// Fisher–Yates with a RandomStream.
template <class It>
void shuffle(It first, It last, RandomStream& rng) {
  const auto n = static_cast<std::uint64_t>(last - first);
  for (std::uint64_t i = n; i > 1; --i) {
    const auto j = rng.below(i);
    std::swap(first[i - 1], first[j]);
  }
}

}  // namespace plast
