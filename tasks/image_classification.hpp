#pragma once
// Image classification: MNIST (LeCun et al. 1998) and Fashion-MNIST (Xiao, Rasul & Vollgraf
// 2017, arXiv:1708.07747) from their IDX files, CIFAR-10 and CIFAR-100 (Krizhevsky 2009) from
// their binary files (tasks/cifar.hpp): one family, given the loader of its files. Pixels are
// scaled to [0, 1] and stored position-major, channel-minor (HWC): feature (y·width + x)·channels
// + c of an image, which for one channel (MNIST) is the plain row-major order. They are then
// standardized with the one mean and standard deviation of all training-split values (all
// channels together). A validation split is carved from the training images (drawn by the
// seed); the test set is untouched.
// The loss is softmax cross-entropy on a linear output unless `squared_loss` (½‖h − t‖² on the
// one-hot targets) and `sigmoid_output` ask for the sigmoid/squared-error networks of the
// older literature (Lansdell, Prakash & Kording 2020's 784-50-20-10 MNIST network).
// `jitter: s` translates every training image by up to s pixels per axis on every minibatch
// (the task's minibatches are lib/jitter.hpp's JitteredBatches, a pixel's channels moving
// together; Hinton, Vinyals & Dean 2015 §3 jittered their MNIST teacher's inputs by up to two
// pixels); validation and test images are never shifted.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

// A dataset's images ([0,1] pixels, HWC) and one-hot labels, shared read-only.
struct ImageData {
  std::shared_ptr<const Dataset> train, test;
  int width = 0, height = 0;   // of every image
  int channels = 1;            // values per pixel: feature (y·width + x)·channels + c
  int classes = 10;            // the one-hot width: the task's output size
};

// Reads a dataset's folder (<data dir>/<dataset>) into ImageData; throws plast::Error naming
// the file when one is missing or wrong.
using ImageLoader = std::function<ImageData(const std::string& dir)>;

// The IDX loader of MNIST and Fashion-MNIST: <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz
// (lib/idx.hpp), one channel, 10 classes; cached per folder.
ImageData load_image_dataset(const std::string& dir);

// The cached data of `key`, loaded by `load` the first time (a load that throws is not
// cached). One lock for all keys: a dataset is read once, however many threads ask for it.
ImageData cached_image_data(const std::string& key, const std::function<ImageData()>& load);

class ImageClassification final : public TaskFamily {
 public:
  // `dataset` is the folder name under the data directory ("mnist", "fashion-mnist",
  // "cifar-10-batches-bin"), read by `load`.
  ImageClassification(std::string name, std::string dataset, const ParamValues& params,
                      ImageLoader load = load_image_dataset);
  std::string name() const override { return name_; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  bool shares_test_set() const override { return true; }   // the benchmark's test images

  static std::vector<ParamSpec> params();

 private:
  std::string name_, dataset_;
  ImageLoader load_;
  long train_subset_, test_subset_;
  double validation_fraction_;
  bool squared_loss_, sigmoid_output_;   // defaults: softmax cross-entropy on a linear output
  int jitter_;                           // max shift in pixels; 0: none
};

// Which images a task instance uses, keyed by (seed, Purpose::split, {index}): a shuffle of
// the training images, cut to train_subset (0: all), whose first validation_fraction become
// the validation split (both kept in file order), and the first test_subset test images (0: all).
// Image classification and the autoencoder draw the same rows for the same key.
struct ImageRows {
  std::vector<Eigen::Index> train, validation, test;
};
ImageRows image_rows(const ImageData& data, std::uint64_t seed, std::uint64_t index, long train_subset,
                     long test_subset, double validation_fraction);

}  // namespace plast
