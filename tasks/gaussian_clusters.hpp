#pragma once
// Few-sample classification of Gaussian clusters, the online-learning task family on which the
// random-feedback term pool is searched (rules/term_pool.hpp; Shervani-Tabar & Rosenbaum,
// Nature Communications 14:1805, 2023, meta-learn their pool on 5-way episodes of EMNIST
// characters learned online, one sample per step, and score by cross-entropy on a query set;
// this family is the synthetic stand-in the issue asks for, needing no data files).
//
// Each task draws, from its key, `classes` centers c_k ~ N(0, center_std² I) in `dims`
// dimensions; a sample of class k is x = c_k + noise·ε, ε ~ N(0, I); targets are one-hot and
// the loss is softmax cross-entropy (as the paper's). The training set holds `train_size`
// samples with classes in turn (balanced; the training loop shuffles the order), so the
// default 250 samples at batch 1 and one epoch are 250 online steps, 50 per class as in the
// paper's episodes. The test set (`test_size`, balanced) comes from the same clusters.
// Meta-train and meta-test tasks use disjoint keys (the split is part of every stream).
//
// Default student: 32-64-32-5 with ReLU hidden units. The paper used softplus with β = 10
// (g'(z) = 1 − e^{−βy} in the authors' code), which lib/activation does not have; ReLU is its
// β → ∞ limit.
#include "lib/params.hpp"
#include "lib/task.hpp"

namespace plast {

class GaussianClusters final : public TaskFamily {
 public:
  explicit GaussianClusters(const ParamValues& params);
  std::string name() const override { return "gaussian_clusters"; }
  Task sample(std::uint64_t seed, std::uint64_t index, Split split) const override;
  static std::vector<ParamSpec> params();

 private:
  int classes_, dims_;
  long train_size_, test_size_;
  float center_std_, noise_;
};

}  // namespace plast
