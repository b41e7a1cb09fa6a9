#include "tasks/autoencoder.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "lib/error.hpp"
#include "lib/idx.hpp"
#include "lib/random.hpp"
#include "tasks/image_classification.hpp"

namespace plast {
namespace {

// The images of `rows` as both input and target, without labels.
Dataset reconstruction_set(const Dataset& images, const std::vector<Eigen::Index>& rows) {
  Dataset d;
  d.x.resize(static_cast<Eigen::Index>(rows.size()), images.x.cols());
  for (std::size_t i = 0; i < rows.size(); ++i) d.x.row(static_cast<Eigen::Index>(i)) = images.x.row(rows[i]);
  d.y = d.x;
  return d;
}

}  // namespace

std::vector<ParamSpec> Autoencoder::params() {
  return {
      {"dataset", 0, 0, 1, "0: mnist, 1: fashion_mnist (the IDX folders of scripts/get-data)", true},
      {"train_subset", 0, 0, 1e7, "use this many training images, drawn by the seed (0: all)", true},
      {"test_subset", 0, 0, 1e7, "use the first this many test images (0: all)", true},
      {"validation_fraction", 0.1, 0.0, 0.5, "fraction of the training images held out for validation"},
      {"output", 0, 0, 2, "output units: 0 ReLU (Lansdell et al. 2020's code), 1 sigmoid, 2 linear", true},
  };
}

std::string Autoencoder::dataset_folder(int code) { return code == 1 ? "fashion-mnist" : "mnist"; }

Autoencoder::Autoencoder(const ParamValues& p)
    : dataset_(static_cast<int>(p.at("dataset"))), output_(static_cast<int>(p.at("output"))),
      train_subset_(static_cast<long>(p.at("train_subset"))),
      test_subset_(static_cast<long>(p.at("test_subset"))),
      validation_fraction_(p.at("validation_fraction")) {}

Task Autoencoder::sample(std::uint64_t seed, std::uint64_t index, Split) const {
  const ImageData raw = load_image_dataset(data_dir() + "/" + dataset_folder(dataset_));
  // The same rows as image classification's for the same key.
  const ImageRows rows = image_rows(raw, seed, index, train_subset_, test_subset_, validation_fraction_);

  Task t;
  t.name = "autoencoder";
  t.input_size = static_cast<int>(raw.train->x.cols());
  t.output_size = t.input_size;
  t.loss = Loss::mse;
  t.output_activation = output_ == 1 ? Activation::sigmoid : output_ == 2 ? Activation::linear : Activation::relu;
  t.classification = false;
  t.default_hidden = {200, 2, 200};
  t.default_activation = Activation::tanh;
  t.train = std::make_shared<Dataset>(reconstruction_set(*raw.train, rows.train));
  t.validation = std::make_shared<Dataset>(reconstruction_set(*raw.train, rows.validation));
  t.test = std::make_shared<Dataset>(reconstruction_set(*raw.test, rows.test));
  return t;
}

}  // namespace plast
