#include "tasks/subspace_teacher.hpp"

#include <Eigen/QR>
#include <string>

#include "lib/error.hpp"
#include "lib/random_matrix.hpp"
#include "tasks/teachers.hpp"

namespace plast {

std::vector<ParamSpec> SubspaceTeacher::params() {
  return {
      {"inputs", 10, 1, 100000, "input dimension", true},
      {"outputs", 2, 1, 100000, "output dimension", true},
      {"teacher_width", 20, 1, 100000, "width of each hidden tanh layer of the teacher (and of the default student)", true},
      {"teacher_depth", 1, 1, 16, "number of hidden tanh layers of the teacher", true},
      {"gain", 1.5, 0.0, 100.0, "base teacher θ_0: weights ~ gain·Glorot-uniform, biases 0"},
      {"directions", 8, 1, 1e7, "k: teachers differ only along k orthonormal directions U of weight space (k <= parameters)", true},
      {"scale", 1.0, 0.0, 1000.0, "teacher θ = θ_0 + U c with c ~ N(0, scale² I_k)"},
      {"noise", 0.0, 0.0, 100.0, "standard deviation of Gaussian noise on training targets"},
      {"train_size", 10000, 1, 1e8, "training samples", true},
      {"test_size", 2000, 1, 1e8, "test samples", true},
  };
}

SubspaceTeacher::SubspaceTeacher(const ParamValues& p)
    : inputs_(static_cast<int>(p.at("inputs"))), outputs_(static_cast<int>(p.at("outputs"))),
      teacher_width_(static_cast<int>(p.at("teacher_width"))), teacher_depth_(static_cast<int>(p.at("teacher_depth"))),
      directions_(static_cast<int>(p.at("directions"))), gain_(static_cast<float>(p.at("gain"))),
      scale_(static_cast<float>(p.at("scale"))), noise_(static_cast<float>(p.at("noise"))),
      train_size_(static_cast<long>(p.at("train_size"))), test_size_(static_cast<long>(p.at("test_size"))) {
  const long n = num_teacher_parameters();
  if (directions_ > n)
    throw InvalidValue("directions", directions_,
                       "must be <= " + std::to_string(n) + ", the number of teacher parameters (" +
                           teacher_shape().str() + ")");
}

MlpShape SubspaceTeacher::teacher_shape() const {
  MlpShape shape;
  shape.sizes.push_back(inputs_);
  for (int l = 0; l < teacher_depth_; ++l) shape.sizes.push_back(teacher_width_);
  shape.sizes.push_back(outputs_);
  shape.hidden = Activation::tanh;
  shape.output = Activation::linear;
  return shape;
}

long SubspaceTeacher::num_teacher_parameters() const {
  const MlpShape s = teacher_shape();
  long n = 0;
  for (int l = 0; l < s.num_layers(); ++l) n += static_cast<long>(s.sizes[l + 1]) * (s.sizes[l] + 1);
  return n;
}

Eigen::VectorXd SubspaceTeacher::flatten(const Mlp& net) {
  Eigen::VectorXd theta(net.num_parameters());
  Eigen::Index at = 0;
  for (int l = 0; l < net.num_layers(); ++l) {
    const Matrix& w = net.weight(l);   // row-major storage: data() is W_l row by row
    for (Eigen::Index i = 0; i < w.size(); ++i) theta(at++) = w.data()[i];
    const RowVector& b = net.bias(l);
    for (Eigen::Index i = 0; i < b.size(); ++i) theta(at++) = b(i);
  }
  return theta;
}

void SubspaceTeacher::unflatten(const Eigen::Ref<const Eigen::VectorXd>& theta, Mlp& net) {
  if (theta.size() != net.num_parameters())
    throw Error("unflatten: " + std::to_string(theta.size()) + " values for the " +
                std::to_string(net.num_parameters()) + " parameters of " + net.shape().str());
  Eigen::Index at = 0;
  for (int l = 0; l < net.num_layers(); ++l) {
    Matrix& w = net.weight(l);
    for (Eigen::Index i = 0; i < w.size(); ++i) w.data()[i] = static_cast<float>(theta(at++));
    RowVector& b = net.bias(l);
    for (Eigen::Index i = 0; i < b.size(); ++i) b(i) = static_cast<float>(theta(at++));
  }
}

std::shared_ptr<const SubspaceTeacher::Subspace> SubspaceTeacher::subspace(std::uint64_t seed) const {
  std::lock_guard<std::mutex> lock(cache_mutex_);
  if (cached_ && cached_seed_ == seed) return cached_;
  // Drawn from the seed alone (no task index, no split): shared by every task of the family.
  const RandomStream shared(seed, Purpose::task);
  auto s = std::make_shared<Subspace>();
  Mlp base(teacher_shape());
  RandomStream base_rng = shared.child({0});
  base.init_glorot(base_rng, gain_);
  s->base = flatten(base);
  RandomStream basis_rng = shared.child({1});
  const Eigen::Index n = s->base.size();
  const Eigen::MatrixXd g = normal_matrix(n, directions_, basis_rng).cast<double>();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  s->basis = qr.householderQ() * Eigen::MatrixXd::Identity(n, directions_);
  // Sign convention R_jj > 0, so U is a deterministic function of g (and Haar-distributed).
  for (int j = 0; j < directions_; ++j)
    if (qr.matrixQR()(j, j) < 0) s->basis.col(j) *= -1.0;
  cached_seed_ = seed;
  cached_ = s;
  return s;
}

Eigen::VectorXd SubspaceTeacher::coordinates(std::uint64_t seed, std::uint64_t index, Split split) const {
  RandomStream rng(seed, Purpose::task, {index, split == Split::meta_train ? 0u : 1u});
  Eigen::VectorXd c(directions_);
  for (int j = 0; j < directions_; ++j) c(j) = static_cast<double>(scale_) * rng.normal();
  return c;
}

Mlp SubspaceTeacher::teacher(std::uint64_t seed, std::uint64_t index, Split split) const {
  const auto s = subspace(seed);
  Mlp net(teacher_shape());
  unflatten(s->base + s->basis * coordinates(seed, index, split), net);
  return net;
}

Task SubspaceTeacher::sample(std::uint64_t seed, std::uint64_t index, Split split) const {
  std::vector<int> hidden(static_cast<std::size_t>(teacher_depth_), teacher_width_);
  return teacher_task("subspace_teacher", teacher(seed, index, split), seed, index, split, train_size_, test_size_,
                      noise_, std::move(hidden), Activation::tanh);
}

}  // namespace plast
