#include "lib/random_matrix.hpp"

#include <cmath>

namespace plast {

Matrix uniform_matrix(Eigen::Index rows, Eigen::Index cols, RandomStream& rng, float lo, float hi) {
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.uniform(lo, hi);
  return m;
}

Matrix normal_matrix(Eigen::Index rows, Eigen::Index cols, RandomStream& rng) {
  Matrix m(rows, cols);
  for (Eigen::Index i = 0; i < m.size(); ++i) m.data()[i] = rng.normal();
  return m;
}

float glorot_limit(Eigen::Index fan_in, Eigen::Index fan_out) {
  return std::sqrt(6.0f / static_cast<float>(fan_in + fan_out));
}

}  // namespace plast
