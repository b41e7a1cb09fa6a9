#pragma once
// Autoencoding images: the student reconstructs its input (target = input), squared loss. The
// default student is the MNIST autoencoder of Lansdell, Prakash & Kording, "Learning to solve
// the credit assignment problem", ICLR 2020 (section 5, Figure 4): 784-200-2-200-784.
//
// Data: the IDX image sets of tasks/image_classification (load_image_dataset, shared read-only),
// pixels in [0, 1] as they are: no standardization, since the images are also the targets
// (a ReLU or sigmoid output can reach them). A validation split is carved from the training
// images by the seed; test_subset keeps the first test images; labels are dropped.
//
// Activations, from the authors' code (github.com/benlansdell/synthfeedback, models/npmodels.py,
// the AENPModel5* autoencoders): tanh hidden layers, a linear 2-unit bottleneck, and ReLU output
// units. plast's MLP has one hidden activation for every hidden layer, so the default here
// is tanh for all three hidden layers, bottleneck included: the 2-D code is squashed into
// (−1, 1)² rather than left linear (a deviation; a student may choose any activation, but one
// for all hidden layers). The output is ReLU as theirs (`output: 1` sigmoid, `output: 2` linear).
//
// Units of the loss. plast's mse is L = (1/B) Σ_n ½‖h_n − x_n‖² (lib/loss.hpp), so a reported
// test loss L is half the summed squared error per image: SSE/image = 2L. The paper's numbers
// (NP 515, BP 610, FA 759) are in the authors' units: tf.reduce_sum((y − x)²)/2 over one test
// batch of 32 images (configs/np_optimized.json, batch_size 32), i.e. ½ SSE summed over 32
// images = 32 L. Their 515 / 610 / 759 are thus SSE/image 32.2 / 38.1 / 47.4, or L = 16.1 /
// 19.1 / 23.7 in plast's units. (Not SSE per image: an all-zero output already scores ≈ 100
// SSE per MNIST digit.)
#include <string>

#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

class Autoencoder final : public TaskFamily {
 public:
  explicit Autoencoder(const ParamValues& params);
  std::string name() const override { return "autoencoder"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  bool shares_test_set() const override { return true; }   // the benchmark's test images

  static std::vector<ParamSpec> params();
  // The folder under the data directory of a `dataset` code: 0 "mnist", 1 "fashion-mnist".
  static std::string dataset_folder(int code);

 private:
  int dataset_, output_;
  long train_subset_, test_subset_;
  double validation_fraction_;
};

}  // namespace plast
