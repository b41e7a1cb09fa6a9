#include "tasks/image_classification.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <mutex>
#include <numeric>

#include "lib/error.hpp"
#include "lib/idx.hpp"
#include "lib/jitter.hpp"
#include "lib/random.hpp"

namespace plast {
namespace {

Dataset load_split(const std::string& images_path, const std::string& labels_path, int* width = nullptr,
                   int* height = nullptr) {
  const IdxArray images = read_idx(images_path, 3);
  if (width) *width = static_cast<int>(images.dims[2]);
  if (height) *height = static_cast<int>(images.dims[1]);
  const IdxArray labels = read_idx(labels_path, 1);
  if (images.dims[0] != labels.dims[0])
    throw Error(labels_path + ": " + std::to_string(labels.dims[0]) + " labels for " +
                std::to_string(images.dims[0]) + " images in " + images_path);
  const Eigen::Index n = images.dims[0], pixels = Eigen::Index{images.dims[1]} * images.dims[2];
  Dataset d;
  d.x.resize(n, pixels);
  for (Eigen::Index i = 0; i < n * pixels; ++i) d.x.data()[i] = static_cast<float>(images.data[static_cast<std::size_t>(i)]) / 255.0f;
  d.y = Matrix::Zero(n, 10);
  for (Eigen::Index i = 0; i < n; ++i) {
    const int label = labels.data[static_cast<std::size_t>(i)];
    if (label > 9) throw Error(labels_path + ": label " + std::to_string(label) + " at index " + std::to_string(i) + " is not a digit class 0-9");
    d.labels.push_back(label);
    d.y(i, label) = 1.0f;
  }
  return d;
}

}  // namespace

ImageData cached_image_data(const std::string& key, const std::function<ImageData()>& load) {
  static std::mutex mutex;
  static std::map<std::string, ImageData> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find(key);
  if (it != cache.end()) return it->second;
  ImageData data = load();
  cache.emplace(key, data);
  return data;
}

ImageData load_image_dataset(const std::string& dir) {
  return cached_image_data("idx:" + dir, [&] {
    ImageData data;
    data.train = std::make_shared<const Dataset>(
        load_split(dir + "/train-images-idx3-ubyte.gz", dir + "/train-labels-idx1-ubyte.gz", &data.width, &data.height));
    int test_width = 0, test_height = 0;
    data.test = std::make_shared<const Dataset>(
        load_split(dir + "/t10k-images-idx3-ubyte.gz", dir + "/t10k-labels-idx1-ubyte.gz", &test_width, &test_height));
    if (test_width != data.width || test_height != data.height)
      throw Error(dir + "/t10k-images-idx3-ubyte.gz: " + std::to_string(test_height) + "x" + std::to_string(test_width) +
                  " images, the training images are " + std::to_string(data.height) + "x" + std::to_string(data.width));
    return data;
  });
}

std::vector<ParamSpec> ImageClassification::params() {
  return {
      {"train_subset", 0, 0, 1e7, "use this many training images, drawn by the seed (0: all)", true},
      {"test_subset", 0, 0, 1e7, "use the first this many test images (0: all)", true},
      {"validation_fraction", 0.1, 0.0, 0.5, "fraction of the training images held out for validation"},
      {"squared_loss", 0, 0, 1, "1: squared error L = 1/2 |h - t|^2 on the one-hot targets instead of softmax cross-entropy", true},
      {"sigmoid_output", 0, 0, 1, "1: sigmoid output units instead of linear ones (needs squared_loss = 1)", true},
      {"jitter", 0, 0, 8, "translate every training image by up to this many pixels per axis, on every minibatch, "
       "black fill (Hinton et al. 2015: 2); validation and test images are never shifted (0: none)", true},
  };
}

ImageClassification::ImageClassification(std::string name, std::string dataset, const ParamValues& p, ImageLoader load)
    : name_(std::move(name)), dataset_(std::move(dataset)), load_(std::move(load)),
      train_subset_(static_cast<long>(p.at("train_subset"))),
      test_subset_(static_cast<long>(p.at("test_subset"))),
      validation_fraction_(p.at("validation_fraction")), squared_loss_(p.at("squared_loss") != 0),
      sigmoid_output_(p.at("sigmoid_output") != 0), jitter_(static_cast<int>(p.at("jitter"))) {
  // Softmax cross-entropy reads the logits and assumes a linear output (lib/loss.hpp).
  if (sigmoid_output_ && !squared_loss_)
    throw Error("task " + name_ + ": sigmoid_output = 1 needs squared_loss = 1 (softmax cross-entropy takes linear outputs)");
}

ImageRows image_rows(const ImageData& data, std::uint64_t seed, std::uint64_t index, long train_subset,
                     long test_subset, double validation_fraction) {
  const Eigen::Index n = data.train->size();
  std::vector<Eigen::Index> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  RandomStream rng(seed, Purpose::split, {index});
  shuffle(order.begin(), order.end(), rng);
  if (train_subset > 0 && train_subset < n) order.resize(static_cast<std::size_t>(train_subset));
  const auto n_val = static_cast<std::size_t>(std::floor(validation_fraction * static_cast<double>(order.size())));
  ImageRows rows;
  rows.validation.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n_val));
  rows.train.assign(order.begin() + static_cast<std::ptrdiff_t>(n_val), order.end());
  std::sort(rows.train.begin(), rows.train.end());   // keep the file's order; training shuffles anyway
  std::sort(rows.validation.begin(), rows.validation.end());
  rows.test.resize(static_cast<std::size_t>(test_subset > 0 ? std::min<Eigen::Index>(test_subset, data.test->size())
                                                            : data.test->size()));
  std::iota(rows.test.begin(), rows.test.end(), Eigen::Index{0});
  return rows;
}

Task ImageClassification::sample(std::uint64_t seed, std::uint64_t index, Split) const {
  const ImageData raw = load_(data_dir() + "/" + dataset_);
  const ImageRows rows = image_rows(raw, seed, index, train_subset_, test_subset_, validation_fraction_);
  auto train = std::make_shared<Dataset>(select_rows(*raw.train, rows.train));
  auto validation = std::make_shared<Dataset>(select_rows(*raw.train, rows.validation));
  auto test = std::make_shared<Dataset>(select_rows(*raw.test, rows.test));

  // Standardize with statistics of the training split only.
  const double mean = train->x.cast<double>().mean();
  const double var = (train->x.cast<double>().array() - mean).square().mean();
  const float m = static_cast<float>(mean), inv_sd = static_cast<float>(1.0 / std::sqrt(var + 1e-12));
  for (Dataset* d : {train.get(), validation.get(), test.get()}) d->x = (d->x.array() - m) * inv_sd;

  Task t;
  t.name = name_;
  t.input_size = static_cast<int>(train->x.cols());
  t.image = {raw.height, raw.width, raw.channels};
  t.output_size = raw.classes;
  t.loss = squared_loss_ ? Loss::mse : Loss::softmax_cross_entropy;
  t.output_activation = sigmoid_output_ ? Activation::sigmoid : Activation::linear;
  t.classification = true;
  t.default_hidden = {256, 256};
  t.default_activation = Activation::tanh;
  t.train = std::move(train);
  t.validation = std::move(validation);
  t.test = std::move(test);
  if (jitter_ > 0) {
    if (jitter_ >= std::min(raw.width, raw.height))
      throw InvalidValue("jitter", jitter_, "must be < " + std::to_string(std::min(raw.width, raw.height)) +
                                                ", the size of the " + dataset_ + " images");
    // A pixel shifted in from outside the frame is black: raw 0, standardized as above.
    t.batches =
        std::make_shared<JitteredBatches>(ImageJitter{raw.width, raw.height, jitter_, (0.0f - m) * inv_sd, raw.channels});
  }
  return t;
}

}  // namespace plast
