#include "lib/dropout.hpp"

namespace plast {

void draw_dropout_masks(ForwardCache& cache, float p, RandomStream& rng) {
  const float keep = 1.0f / (1.0f - p);
  for (int k = 1; cache.has_dropout() && k <= static_cast<int>(cache.num_masks()); ++k) {
    Matrix& m = cache.mask(k);
    for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform() < p ? 0.0f : keep;
  }
}

}  // namespace plast
