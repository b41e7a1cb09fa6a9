#include "tasks/pca.hpp"

#include <Eigen/Eigenvalues>
#include <Eigen/QR>
#include <cmath>
#include <utility>

#include "lib/mlp.hpp"
#include "lib/random_matrix.hpp"

namespace plast {

std::vector<ParamSpec> PcaTask::params() {
  return {
      {"inputs", 10, 2, 10000, "input dimension", true},
      {"steps", 1000, 1, 1e8, "training samples, one per step (batch 1)", true},
      {"decay", 0.6, 0.0, 0.99, "eigenvalues λ_i = s·decay^(i−1), s ~ U(0.5, 1.5)"},
      {"mean_scale", 0.3, 0.0, 10.0, "input mean μ ~ N(0, mean_scale² I)"},
  };
}

PcaTask::PcaTask(const ParamValues& p)
    : inputs_(static_cast<int>(p.at("inputs"))), steps_(static_cast<long>(p.at("steps"))),
      decay_(p.at("decay")), mean_scale_(p.at("mean_scale")) {}

double pca_loss(const Eigen::Ref<const Eigen::VectorXd>& w, const Eigen::Ref<const Eigen::VectorXd>& pc) {
  const double norm = w.norm();
  if (!std::isfinite(norm)) return std::numeric_limits<double>::infinity();
  const double cosine = norm > 0 ? std::abs(w.dot(pc)) / norm : 0.0;
  return 1.0 - cosine + (norm - 1.0) * (norm - 1.0);
}

namespace {

// The score of a PCA task is the neuron's weights against PC1, pca_loss(w, pc), whatever the data:
// Hebbian rules ignore the output error, so the outputs' loss says nothing of what was learned.
class PcaScore final : public Scorer {
 public:
  explicit PcaScore(Eigen::VectorXd pc) : pc_(std::move(pc)) {}
  Evaluation score(const Mlp& net, const Task& /*task*/, const Dataset& /*data*/, ForwardCache& /*cache*/) const override {
    const Eigen::VectorXd w = net.weight(0).row(0).transpose().cast<double>();
    Evaluation e;
    e.loss = pca_loss(w, pc_);
    return e;
  }

 private:
  Eigen::VectorXd pc_;
};

}  // namespace

Task PcaTask::sample(std::uint64_t seed, std::uint64_t index, Split split) const {
  const std::uint64_t part = split == Split::meta_train ? 0 : 1;
  RandomStream rng(seed, Purpose::task, {index, part});
  const int n = inputs_;
  // Random rotation: QR of a Gaussian matrix, signs fixed so Q is Haar-distributed.
  const Eigen::MatrixXd g = normal_matrix(n, n, rng).cast<double>();
  Eigen::HouseholderQR<Eigen::MatrixXd> qr(g);
  Eigen::MatrixXd q = qr.householderQ();
  for (int j = 0; j < n; ++j)
    if (qr.matrixQR()(j, j) < 0) q.col(j) *= -1.0;
  const double scale = 0.5 + rng.uniform_double();
  Eigen::VectorXd eig(n);
  for (int i = 0; i < n; ++i) eig(i) = scale * std::pow(decay_, i);
  Eigen::VectorXd mean(n);
  for (int i = 0; i < n; ++i) mean(i) = mean_scale_ * rng.normal();

  // Target: top eigenvector of the second moment E[xxᵀ] = Q Λ Qᵀ + μμᵀ.
  const Eigen::MatrixXd moment = q * eig.asDiagonal() * q.transpose() + mean * mean.transpose();
  Eigen::SelfAdjointEigenSolver<Eigen::MatrixXd> solver(moment);
  const Eigen::VectorXd pc = solver.eigenvectors().col(n - 1);

  auto make = [&](long samples, std::uint64_t which) {
    RandomStream data_rng(seed, Purpose::data, {index, part, which});
    const Eigen::MatrixXd z = normal_matrix(samples, n, data_rng).cast<double>();
    const Eigen::MatrixXd x = (z * eig.cwiseSqrt().asDiagonal() * q.transpose()).rowwise() + mean.transpose();
    auto d = std::make_shared<Dataset>();
    d->x = x.cast<float>();
    d->y = Matrix::Zero(samples, 1);
    return d;
  };
  Task t;
  t.name = "pca";
  t.input_size = n;
  t.output_size = 1;
  t.loss = Loss::mse;   // not used for scoring: Hebbian rules ignore the output error
  t.output_activation = Activation::linear;
  t.classification = false;
  t.default_hidden = {};
  t.default_activation = Activation::linear;
  t.train = make(steps_, 0);
  t.validation = std::make_shared<Dataset>();
  t.test = make(1, 1);
  t.scorer = std::make_shared<PcaScore>(pc);
  return t;
}

}  // namespace plast
