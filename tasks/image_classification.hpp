#pragma once
// Image classification on IDX datasets: MNIST (LeCun et al. 1998) and Fashion-MNIST
// (Xiao, Rasul & Vollgraf 2017, arXiv:1708.07747). Pixels are scaled to [0, 1] and then
// standardized with the mean and standard deviation of the training split. A validation
// split is carved from the training images (drawn by the seed); the test set is untouched.
// The loss is softmax cross-entropy on a linear output unless `squared_loss` (½‖h − t‖² on the
// one-hot targets) and `sigmoid_output` ask for the sigmoid/squared-error networks of the
// older literature (Lansdell, Prakash & Kording 2020's 784-50-20-10 MNIST network).
// `jitter: s` translates every training image by up to s pixels per axis on every minibatch
// (the task's minibatches are lib/jitter.hpp's JitteredBatches; Hinton, Vinyals & Dean 2015 §3
// jittered their MNIST teacher's inputs by up to two pixels); validation and test images are
// never shifted.
#include <cstdint>
#include <string>
#include <vector>

#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

class ImageClassification final : public TaskFamily {
 public:
  // `dataset` is the folder name under the data directory ("mnist", "fashion-mnist").
  ImageClassification(std::string name, std::string dataset, const ParamValues& params);
  std::string name() const override { return name_; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  bool shares_test_set() const override { return true; }   // the benchmark's test images

  static std::vector<ParamSpec> params();

 private:
  std::string name_, dataset_;
  long train_subset_, test_subset_;
  double validation_fraction_;
  bool squared_loss_, sigmoid_output_;   // defaults: softmax cross-entropy on a linear output
  int jitter_;                           // max shift in pixels; 0: none
};

// Loads <dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz as [0,1] pixels and one-hot
// labels; cached per folder, shared read-only.
struct ImageData {
  std::shared_ptr<const Dataset> train, test;
  int width = 0, height = 0;   // of every image (the IDX file's dimensions)
};
ImageData load_image_dataset(const std::string& dir);

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
