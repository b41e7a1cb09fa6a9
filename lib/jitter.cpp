#include "lib/jitter.hpp"

#include <cassert>

namespace plast {

void shift_image(float* pixels, int width, int height, int dx, int dy, float fill, int channels) {
  if (dx == 0 && dy == 0) return;
  // C interleaved channels: the same shift of an image C times as wide by C·dx columns (value
  // x·C + c comes from (x − dx)·C + c, inside the row exactly when x − dx is).
  width *= channels;
  dx *= channels;
  // In place: walk against the shift (rows bottom-up when moving down, columns right-to-left
  // when moving right), so every source pixel is read before it is overwritten. When dy ≠ 0
  // the source lies in a row not yet visited; when dy = 0, in a column not yet visited.
  for (int i = 0; i < height; ++i) {
    const int r = dy > 0 ? height - 1 - i : i;
    const int sr = r - dy;
    float* row = pixels + static_cast<std::ptrdiff_t>(r) * width;
    for (int j = 0; j < width; ++j) {
      const int c = dx > 0 ? width - 1 - j : j;
      const int sc = c - dx;
      row[c] = (sr >= 0 && sr < height && sc >= 0 && sc < width)
                   ? pixels[static_cast<std::ptrdiff_t>(sr) * width + sc]
                   : fill;
    }
  }
}

int jitter_image(float* pixels, const ImageJitter& jitter, RandomStream& rng) {
  const auto span = static_cast<std::uint64_t>(2 * jitter.max_shift + 1);
  const int dx = static_cast<int>(rng.below(span)) - jitter.max_shift;
  const int dy = static_cast<int>(rng.below(span)) - jitter.max_shift;
  shift_image(pixels, jitter.width, jitter.height, dx, dy, jitter.fill, jitter.channels);
  return shift_index(dx, dy, jitter.max_shift);
}

void jitter_rows(Eigen::Ref<Matrix> x, const ImageJitter& jitter, RandomStream& rng, int* shifts) {
  if (!jitter.active()) return;
  assert(x.cols() == jitter.features());
  for (Eigen::Index r = 0; r < x.rows(); ++r) {
    const int shift = jitter_image(x.row(r).data(), jitter, rng);
    if (shifts) shifts[r] = shift;
  }
}

void JitteredBatches::fill(const Dataset& train, std::span<const Eigen::Index> rows, std::uint64_t seed,
                           std::uint64_t step, Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) const {
  copy_rows(train, rows, x, y);
  RandomStream rng(seed, Purpose::augment, {step});
  jitter_rows(x, jitter_, rng);
}

const ImageJitter* image_jitter(const Task& task) {
  const auto* jittered = dynamic_cast<const JitteredBatches*>(task.batches.get());
  return jittered ? &jittered->jitter() : nullptr;
}

}  // namespace plast
