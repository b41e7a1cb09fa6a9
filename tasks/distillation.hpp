#pragma once
// Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the knowledge in a neural
// network"; Ba & Caruana 2014, "Do deep nets really need to be deep?"): a classification task
// relabelled by a trained teacher network. Every split's targets become the teacher's softened
// outputs p = softmax(z_teacher / T) (computed once, when the task is built), followed by the
// one-hot labels when the hard-label weight α > 0; the class labels stay, so accuracy is still
// measured against the truth. The student's loss is Loss::soft_targets(T, α) (lib/loss.hpp:
// (1−α) T² KL(p ‖ softmax(z/T)) + α CE(y, softmax(z)), Hinton et al. §2).
//
// This is an adaptor over any classification task rather than a task family of its own: the
// teacher must see the very inputs the student sees (same rows, same standardization), which
// only the sampled task instance has, and a family's parameters are numbers while the teacher
// is a file. `plast compare` applies it to a task entry with `distill: {teacher: FILE,
// temperature: T, hard_weight: α}`; the teacher is written by `plast train --save-weights FILE`.
// The test targets are relabelled too, so the test loss is the distillation loss against the
// teacher on unseen images (never trained on); the test accuracy uses the true labels.
//
// Consistent teaching (Beyer et al. 2022, "Knowledge distillation: A good teacher is patient and
// consistent", function matching; Ba & Caruana 2014's larger transfer set): when the task jitters
// its training images (`jitter: s`, lib/jitter.hpp), the student's target for a shifted image is
// the teacher's softened output on that same shifted image, not on the unshifted one. The
// teacher's outputs for every training image at every shift (dx, dy) ∈ {−s, …, s}² are computed
// once, when the task is built ((2s + 1)² teacher passes over the training set; 54,000 × 9 × 10
// floats, 19 MB, for Fashion-MNIST at s = 1), into the table of the task's ConsistentTeaching
// batches, which look up each sample's row by the shift it drew, so no step runs the teacher. With jitter 0 nothing of this
// exists and the task is exactly that of the unjittered path. The hard-label half (α > 0) and
// the validation and test targets (unshifted images) are as without jitter.
#include <memory>
#include <string>
#include <utility>

#include "lib/jitter.hpp"
#include "lib/mlp.hpp"
#include "lib/task.hpp"

namespace plast {

struct DistillationSpec {
  std::string teacher;        // weights file (lib/weights_file.hpp)
  float temperature = 4.0f;   // T > 0
  float hard_weight = 0.0f;   // α in [0, 1]
};

// The teacher of a weights file, read once per path and shared read-only between threads.
// Throws plast::Error with the path ("PATH: file not found (write it with ...)").
std::shared_ptr<const Mlp> load_teacher(const std::string& path);

// `task` with its targets replaced as described above. Throws plast::Error when the task is not
// a softmax cross-entropy classification task or the teacher's input/output sizes do not match
// it ("teacher PATH is 784-30-10: task fashion_mnist has 784 inputs and 10 classes"), or when
// the task's jitter geometry does not cover its inputs. A jittered task gets ConsistentTeaching
// batches (above).
Task distill(const Task& task, const Mlp& teacher, const DistillationSpec& spec);

// The minibatches of a distilled jittered task (Task::batches): each training row shifted as
// JitteredBatches shifts it (the same draws), its target the row of `shifted_targets` for that
// image and that shift, i·shift_count(s) + shift_index(dx, dy, s). check() refuses a table that
// is not shift_count(s) rows per training image, as wide as the targets, or a jitter of 0.
class ConsistentTeaching final : public JitteredBatches {
 public:
  ConsistentTeaching(const ImageJitter& jitter, std::shared_ptr<const Matrix> shifted_targets)
      : JitteredBatches(jitter), shifted_targets_(std::move(shifted_targets)) {}
  const Matrix& shifted_targets() const { return *shifted_targets_; }
  void check(const Task& task) const override;
  void fill(const Dataset& train, std::span<const Eigen::Index> rows, std::uint64_t seed, std::uint64_t step,
            Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) const override;

 private:
  std::shared_ptr<const Matrix> shifted_targets_;
};

// The target table of a task with ConsistentTeaching batches, nullptr for any other task.
const Matrix* shifted_targets(const Task& task);

// softmax(teacher(x) / T) for every row of x, computed in chunks.
Matrix soft_targets(const Mlp& teacher, const Eigen::Ref<const Matrix>& x, float temperature);

// softmax(teacher(x_i shifted by (dx, dy)) / T) for every row i of x and every shift of `jitter`
// (shift_image with its fill), at row i·shift_count(s) + shift_index(dx, dy, s): the layout of
// ConsistentTeaching's table. Each row is soft_targets() of the shifted image alone (up to float
// rounding: the teacher runs on a chunk of images at a time).
Matrix shifted_soft_targets(const Mlp& teacher, const Eigen::Ref<const Matrix>& x, const ImageJitter& jitter,
                            float temperature);

}  // namespace plast
