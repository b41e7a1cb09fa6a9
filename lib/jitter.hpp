#pragma once
// Train-time input jitter for image tasks: every image of a training
// minibatch is translated by its own random (dx, dy), each uniform in {−s, …, s}, and the pixels
// that move in from outside the frame take the background value. Hinton, Vinyals & Dean 2015
// §3 trained their distillation teacher (784-1200-1200-10, MNIST) with dropout and with "the
// input images ... jittered by up to two pixels in any direction"; without regularization a
// teacher fits its training images so closely that its soft targets on them say little more
// than the labels (studies/README.md, distillation section).
//
// An image task with `jitter: s` gives its training minibatches as JitteredBatches
// (Task::batches, set by tasks/image_classification.cpp): each minibatch the training loop gathers
// is shifted in place, drawing from the keyed stream (student seed, Purpose::augment, {step}), so
// the shifts depend on neither the thread count nor the schedule. Validation and test images are
// never shifted, and no learning rule needs to know. A task may also give a target for every
// shift of every training image (consistent teaching, tasks/distillation.hpp): its batch source
// looks up each sample's target by the shift it was given (shift_index).
#include "lib/random.hpp"
#include "lib/task.hpp"
#include "lib/tensor.hpp"

namespace plast {

struct ImageJitter {
  int width = 0;       // pixels per image row; an input row is height × width pixels, row-major
  int height = 0;
  int max_shift = 0;   // s, in pixels per axis; 0: no jitter
  float fill = 0.0f;   // the value of a pixel shifted in from outside: a black pixel, in the
                       // task's standardized units (image tasks standardize their inputs)
  int channels = 1;    // values per pixel, interleaved (HWC): feature (y·width + x)·channels + c;
                       // a shift moves all of a pixel's channels together
  bool active() const { return max_shift > 0; }
  // The number of inputs of one image: width × height × channels.
  Eigen::Index features() const { return Eigen::Index{width} * height * channels; }
};

// Moves one image by (dx, dy) in place: out(r, c) = in(r − dy, c − dx), and `fill` where
// (r − dy, c − dx) lies outside the image (dx > 0 moves it right, dy > 0 down). An image of
// `channels` interleaved values per pixel moves each pixel's values together (every one of them
// `fill` where the pixel comes from outside).
void shift_image(float* pixels, int width, int height, int dx, int dy, float fill, int channels = 1);

// The number of distinct shifts, (2s + 1)², and the index of (dx, dy) among them:
// (dy + s)(2s + 1) + (dx + s), so index 0 is (−s, −s), the next is (−s + 1, −s), and (0, 0) is
// the middle one. Requires |dx|, |dy| <= s.
inline int shift_count(int max_shift) { return (2 * max_shift + 1) * (2 * max_shift + 1); }
inline int shift_index(int dx, int dy, int max_shift) {
  return (dy + max_shift) * (2 * max_shift + 1) + (dx + max_shift);
}

// Shifts every row of x by its own (dx, dy): for row 0, 1, … in order, dx then dy, each
// rng.below(2s + 1) − s. Allocates nothing. x must have jitter.features() columns. When `shifts`
// is given (x.rows() entries), shifts[r] = shift_index(dx, dy, s) of row r; the draws are the
// same either way.
void jitter_rows(Eigen::Ref<Matrix> x, const ImageJitter& jitter, RandomStream& rng, int* shifts = nullptr);

// One image of jitter_rows: draws dx, then dy, shifts `pixels` (jitter.features()) in place and
// returns shift_index(dx, dy, s). Requires an active jitter. Allocates nothing.
int jitter_image(float* pixels, const ImageJitter& jitter, RandomStream& rng);

// The minibatches of an image task with `jitter: s` (Task::batches): the training rows, each
// shifted by its own draw (jitter_rows) from (seed, Purpose::augment, {step}); the targets as
// they are. Subclassed by sources that also give each shift its own target.
class JitteredBatches : public BatchSource {
 public:
  explicit JitteredBatches(const ImageJitter& jitter) : jitter_(jitter) {}
  const ImageJitter& jitter() const { return jitter_; }
  void fill(const Dataset& train, std::span<const Eigen::Index> rows, std::uint64_t seed, std::uint64_t step,
            Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) const override;

 private:
  ImageJitter jitter_;
};

// The jitter of a task whose batches are JitteredBatches (or a subclass), nullptr for any other
// task: what an adaptor over image tasks reads (distillation, for consistent teaching).
const ImageJitter* image_jitter(const Task& task);

}  // namespace plast
