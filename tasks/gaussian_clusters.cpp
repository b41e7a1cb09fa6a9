#include "tasks/gaussian_clusters.hpp"

#include "lib/random_matrix.hpp"

namespace plast {
namespace {

std::uint64_t split_index(Split s) { return s == Split::meta_train ? 0 : 1; }

}  // namespace

std::vector<ParamSpec> GaussianClusters::params() {
  return {
      {"classes", 5, 2, 1000, "number of classes (cluster centers) per task", true},
      {"dims", 32, 1, 100000, "input dimension", true},
      {"train_size", 250, 1, 1e8, "training samples, classes in turn (250 at batch 1: 250 online steps)", true},
      {"test_size", 500, 1, 1e8, "test samples, classes in turn", true},
      {"center_std", 0.45, 0.0, 1000.0, "cluster centers ~ N(0, center_std² I)"},
      {"noise", 0.9, 0.0, 1000.0, "standard deviation of the isotropic Gaussian noise around a center (defaults: inputs of about unit variance, nearest class mean ≈ 90%)"},
  };
}

GaussianClusters::GaussianClusters(const ParamValues& p)
    : classes_(static_cast<int>(p.at("classes"))), dims_(static_cast<int>(p.at("dims"))),
      train_size_(static_cast<long>(p.at("train_size"))), test_size_(static_cast<long>(p.at("test_size"))),
      center_std_(static_cast<float>(p.at("center_std"))), noise_(static_cast<float>(p.at("noise"))) {}

Task GaussianClusters::sample(std::uint64_t seed, std::uint64_t index, Split split) const {
  const std::uint64_t part = split_index(split);
  RandomStream rng(seed, Purpose::task, {index, part});
  const Matrix centers = normal_matrix(classes_, dims_, rng) * center_std_;

  Task t;
  t.name = "gaussian_clusters";
  t.input_size = dims_;
  t.output_size = classes_;
  t.loss = Loss::softmax_cross_entropy;
  t.output_activation = Activation::linear;
  t.classification = true;
  t.default_hidden = {64, 32};
  t.default_activation = Activation::relu;
  auto make = [&](long n, std::uint64_t which) {
    RandomStream data_rng(seed, Purpose::data, {index, part, which});
    auto d = std::make_shared<Dataset>();
    d->x = normal_matrix(n, dims_, data_rng) * noise_;
    d->y = Matrix::Zero(n, classes_);
    d->labels.resize(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) {
      const int k = static_cast<int>(i % classes_);
      d->labels[static_cast<std::size_t>(i)] = k;
      d->x.row(i) += centers.row(k);
      d->y(i, k) = 1.0f;
    }
    return d;
  };
  t.train = make(train_size_, 0);
  t.validation = std::make_shared<Dataset>();
  t.test = make(test_size_, 1);
  return t;
}

}  // namespace plast
