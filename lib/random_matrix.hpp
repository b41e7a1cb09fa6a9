#pragma once
// Random matrices from a RandomStream, filled in storage order (so the numbers depend only on
// the stream and the shape), and the Glorot range every initializer here is expressed in.
#include "lib/random.hpp"
#include "lib/tensor.hpp"

namespace plast {

// Entries ~ U(lo, hi).
Matrix uniform_matrix(Eigen::Index rows, Eigen::Index cols, RandomStream& rng, float lo, float hi);
// Entries ~ N(0, 1).
Matrix normal_matrix(Eigen::Index rows, Eigen::Index cols, RandomStream& rng);
// Glorot & Bengio 2010: U(±√(6/(fan_in+fan_out))) keeps activity and gradient variance
// across a layer.
float glorot_limit(Eigen::Index fan_in, Eigen::Index fan_out);

}  // namespace plast
