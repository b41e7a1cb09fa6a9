#include "lib/random.hpp"

#include <cmath>
#include <numbers>

namespace plast {
namespace {

// SplitMix64 finalizer: mixes (purpose, indices) into a 64-bit stream identity.
std::uint64_t mix64(std::uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::uint64_t extend(std::uint64_t identity, std::initializer_list<std::uint64_t> indices) {
  for (auto i : indices) identity = mix64(identity ^ mix64(i + 0x632BE59BD9B4E019ull));
  return identity;
}

}  // namespace

RandomStream::RandomStream(std::uint64_t seed, Purpose purpose,
                           std::initializer_list<std::uint64_t> indices) {
  key_ = {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)};
  stream_ = extend(mix64(static_cast<std::uint64_t>(purpose)), indices);
}

RandomStream RandomStream::child(std::initializer_list<std::uint64_t> indices) const {
  RandomStream c;
  c.key_ = key_;
  c.stream_ = extend(mix64(stream_ ^ 0xA0761D6478BD642Full), indices);
  return c;
}

std::array<std::uint32_t, 4> RandomStream::philox(std::array<std::uint32_t, 4> ctr,
                                                  std::array<std::uint32_t, 2> key) {
  constexpr std::uint32_t kM0 = 0xD2511F53u, kM1 = 0xCD9E8D57u;
  constexpr std::uint32_t kW0 = 0x9E3779B9u, kW1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    const std::uint64_t p0 = static_cast<std::uint64_t>(kM0) * ctr[0];
    const std::uint64_t p1 = static_cast<std::uint64_t>(kM1) * ctr[2];
    ctr = {static_cast<std::uint32_t>(p1 >> 32) ^ ctr[1] ^ key[0], static_cast<std::uint32_t>(p1),
           static_cast<std::uint32_t>(p0 >> 32) ^ ctr[3] ^ key[1], static_cast<std::uint32_t>(p0)};
    key[0] += kW0;
    key[1] += kW1;
  }
  return ctr;
}

void RandomStream::refill() {
  buffer_ = philox({static_cast<std::uint32_t>(block_), static_cast<std::uint32_t>(block_ >> 32),
                    static_cast<std::uint32_t>(stream_), static_cast<std::uint32_t>(stream_ >> 32)},
                   key_);
  ++block_;
  used_ = 0;
}

std::uint32_t RandomStream::next_u32() {
  if (used_ == 4) refill();
  return buffer_[used_++];
}

std::uint64_t RandomStream::next_u64() {
  const std::uint64_t hi = next_u32();
  return (hi << 32) | next_u32();
}

float RandomStream::uniform() { return static_cast<float>(next_u32() >> 8) * 0x1.0p-24f; }

double RandomStream::uniform_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

float RandomStream::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return static_cast<float>(spare_normal_);
  }
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const double u1 = 1.0 - uniform_double();
  const double u2 = uniform_double();
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double angle = 2.0 * std::numbers::pi * u2;
  spare_normal_ = r * std::sin(angle);
  has_spare_normal_ = true;
  return static_cast<float>(r * std::cos(angle));
}

std::uint64_t RandomStream::below(std::uint64_t n) {
  // Lemire, "Fast random integer generation in an interval" (2019), 64-bit variant.
  __extension__ typedef unsigned __int128 u128;  // GCC and Clang on 64-bit targets
  u128 m = static_cast<u128>(next_u64()) * n;
  auto low = static_cast<std::uint64_t>(m);
  if (low < n) {
    const std::uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<u128>(next_u64()) * n;
      low = static_cast<std::uint64_t>(m);
    }
  }
  return static_cast<std::uint64_t>(m >> 64);
}

}  // namespace plast
