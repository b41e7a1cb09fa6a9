// Train-time input jitter (lib/jitter.hpp): a shift moves an image by (dx, dy)
// with the fill value shifted in (golden values on tiny images), jitter 0 is the identity, the
// draws are uniform on {−s, …, s}² and keyed, and train() shifts only the minibatch copies:
// the task's training, validation and test sets are untouched, evaluation sees unshifted images,
// and a run is bitwise the same for a seed on any thread.
#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <array>
#include <vector>

#include "lib/jitter.hpp"
#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

// The 4×4 image 1 … 16, row-major.
Matrix counting_image() {
  Matrix m(1, 16);
  for (int i = 0; i < 16; ++i) m(0, i) = static_cast<float>(i + 1);
  return m;
}

Matrix shifted(Matrix image, int width, int height, int dx, int dy, float fill) {
  shift_image(image.row(0).data(), width, height, dx, dy, fill);
  return image;
}

Matrix row_of(std::initializer_list<float> values) {
  Matrix m(1, static_cast<Eigen::Index>(values.size()));
  Eigen::Index i = 0;
  for (float v : values) m(0, i++) = v;
  return m;
}

}  // namespace

TEST_SUITE("lib/jitter") {
  TEST_CASE("a shift moves a 4x4 image by (dx, dy) and fills what comes in from outside (golden values)") {
    const Matrix p = counting_image();
    const float f = -0.5f;
    CHECK(shifted(p, 4, 4, 0, 0, f) == p);
    // Right by one: out(r, c) = in(r, c − 1).
    CHECK(shifted(p, 4, 4, 1, 0, 0.0f) == row_of({0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11, 0, 13, 14, 15}));
    // Left by one, down by two.
    CHECK(shifted(p, 4, 4, -1, 2, f) == row_of({f, f, f, f, f, f, f, f, 2, 3, 4, f, 6, 7, 8, f}));
    // Right by two, up by one.
    CHECK(shifted(p, 4, 4, 2, -1, 0.0f) == row_of({0, 0, 5, 6, 0, 0, 9, 10, 0, 0, 13, 14, 0, 0, 0, 0}));
    // Up-left by three: only the bottom-right pixel stays in the frame, at the top left.
    CHECK(shifted(p, 4, 4, -3, -3, f) == row_of({16, f, f, f, f, f, f, f, f, f, f, f, f, f, f, f}));
    // Out of the frame entirely.
    CHECK(shifted(p, 4, 4, 4, 0, f) == Matrix::Constant(1, 16, f));
    CHECK(shifted(p, 4, 4, 0, -4, f) == Matrix::Constant(1, 16, f));
    // Width and height are not swapped: a 3-wide, 2-high image [1 2 3; 4 5 6] moved down-right.
    CHECK(shifted(row_of({1, 2, 3, 4, 5, 6}), 3, 2, 1, 1, f) == row_of({f, f, f, f, 1, 2}));
    CHECK(shifted(row_of({1, 2, 3, 4, 5, 6}), 3, 2, -2, 0, f) == row_of({3, f, f, 6, f, f}));
  }

  TEST_CASE("an image of interleaved channels (HWC) moves each pixel's channels together (golden values)") {
    const float f = -0.5f;
    // A 3-wide, 2-high image of 2 channels: pixel (y, x) holds 10·(y·3 + x + 1) + c.
    const Matrix p = row_of({10, 11, 20, 21, 30, 31, 40, 41, 50, 51, 60, 61});
    CHECK(shifted(p, 3, 2, 0, 0, f) == p);
    // Right by one: every channel of the left column comes from outside.
    Matrix m = p;
    shift_image(m.row(0).data(), 3, 2, 1, 0, f, 2);
    CHECK(m == row_of({f, f, 10, 11, 20, 21, f, f, 40, 41, 50, 51}));
    // Left by two and down by one: only pixel (0, 2) stays in the frame, at (1, 0).
    m = p;
    shift_image(m.row(0).data(), 3, 2, -2, 1, f, 2);
    CHECK(m == row_of({f, f, f, f, f, f, 30, 31, f, f, f, f}));
    // One channel is the plain shift, and jitter_image draws the same (dx, dy) whatever the channels.
    m = p;
    shift_image(m.row(0).data(), 6, 2, 1, 0, f, 1);
    CHECK(m == shifted(p, 6, 2, 1, 0, f));
    const ImageJitter gray{6, 2, 1, f}, colour{3, 2, 1, f, 2};
    CHECK(gray.features() == 12);
    CHECK(colour.features() == 12);
    RandomStream a(3, Purpose::augment, {1}), b(3, Purpose::augment, {1});
    Matrix g = p, c = p;
    for (int k = 0; k < 20; ++k) CHECK(jitter_image(g.row(0).data(), gray, a) == jitter_image(c.row(0).data(), colour, b));
  }

  TEST_CASE("jitter 0 is the identity and draws nothing") {
    RandomStream data(4, Purpose::data);
    Matrix x = test::random_matrix(8, 16, data);
    const Matrix before = x;
    RandomStream rng(4, Purpose::augment, {0}), fresh(4, Purpose::augment, {0});
    jitter_rows(x, ImageJitter{4, 4, 0, -0.5f}, rng);
    CHECK(x == before);
    CHECK(rng.next_u64() == fresh.next_u64());   // the stream did not move
  }

  TEST_CASE("each row gets its own shift, dx then dy = below(2s + 1) − s, uniform over {−s, …, s}²") {
    const ImageJitter j{4, 4, 2, -0.5f};
    RandomStream data(6, Purpose::data);
    Matrix x = test::random_matrix(2000, 16, data);
    const Matrix original = x;
    RandomStream rng(1, Purpose::augment, {7});
    jitter_rows(x, j, rng);
    RandomStream replay(1, Purpose::augment, {7});
    std::array<std::array<int, 5>, 5> counts{};
    int moved = 0;
    for (Eigen::Index r = 0; r < x.rows(); ++r) {
      const int dx = static_cast<int>(replay.below(5)) - 2;
      const int dy = static_cast<int>(replay.below(5)) - 2;
      ++counts[static_cast<std::size_t>(dx + 2)][static_cast<std::size_t>(dy + 2)];
      Matrix expected = original.row(r);
      shift_image(expected.data(), 4, 4, dx, dy, j.fill);
      CHECK(x.row(r) == expected);
      moved += x.row(r) != original.row(r);
    }
    // 25 cells, 80 expected in each: every shift occurs, none far from its share (±5 sd ≈ ±44).
    for (const auto& row : counts)
      for (int c : row) {
        CHECK(c > 36);
        CHECK(c < 124);
      }
    CHECK(moved == 2000 - counts[2][2]);   // only (0, 0) leaves an image as it was
    // Asked for the shifts, the same draws move the images the same way and report each row's
    // shift_index (dy + s)(2s + 1) + (dx + s).
    Matrix again = original;
    std::vector<int> shifts(2000, -1);
    RandomStream rng2(1, Purpose::augment, {7}), replay2(1, Purpose::augment, {7});
    jitter_rows(again, j, rng2, shifts.data());
    CHECK(again == x);
    for (std::size_t r = 0; r < shifts.size(); ++r) {
      const int dx = static_cast<int>(replay2.below(5)) - 2;
      const int dy = static_cast<int>(replay2.below(5)) - 2;
      CHECK(shifts[r] == (dy + 2) * 5 + (dx + 2));
    }
    CHECK(shift_count(2) == 25);
  }

  TEST_CASE("train(): training, validation and test sets untouched; evaluation on unshifted images") {
    const Task task = test::tiny_image_task();
    const Dataset train = *task.train, validation = *task.validation, test = *task.test;
    const test::TinyRun run = test::train_tiny(task, 3);
    CHECK(task.train->x == train.x);
    CHECK(task.train->y == train.y);
    CHECK(task.validation->x == validation.x);
    CHECK(task.test->x == test.x);
    // The reported test and validation numbers are those of the trained net on the unshifted sets.
    ForwardCache cache(run.net.shape(), 1000);
    const Evaluation t = evaluate(run.net, task, test, cache);
    const Evaluation v = evaluate(run.net, task, validation, cache);
    CHECK(run.result.last().test_loss == t.loss);
    CHECK(run.result.last().test_accuracy == t.accuracy);
    CHECK(run.result.last().validation_loss == v.loss);
  }

  TEST_CASE("train(): jitter changes what is learned; jitter 0, or images of the fill value alone, change nothing") {
    const Task jittered = test::tiny_image_task(1);
    Task plain = jittered;
    plain.batches = nullptr;
    Task zero = jittered;
    zero.batches = std::make_shared<JitteredBatches>(ImageJitter{4, 4, 0, -0.5f});
    const test::TinyRun a = test::train_tiny(jittered, 3), b = test::train_tiny(plain, 3), c = test::train_tiny(zero, 3);
    CHECK_FALSE(test::same_net(a.net, b.net));
    CHECK(test::same_net(b.net, c.net));
    // Images that are the fill value everywhere look the same however they are shifted.
    auto flat = [](Task t) {
      auto d = std::make_shared<Dataset>(*t.train);
      d->x.setConstant(image_jitter(t)->fill);
      t.train = d;
      return t;
    };
    Task flat_plain = flat(jittered);
    flat_plain.batches = nullptr;
    CHECK(test::same_net(test::train_tiny(flat(jittered), 3).net, test::train_tiny(flat_plain, 3).net));
    // ... but not when the fill differs from the image.
    Task other_fill = flat(jittered);
    other_fill.batches = std::make_shared<JitteredBatches>(ImageJitter{4, 4, 1, 0.25f});
    CHECK_FALSE(test::same_net(test::train_tiny(other_fill, 3).net, test::train_tiny(flat_plain, 3).net));
  }

  TEST_CASE("train(): jittered runs are bitwise the same for a seed on any thread, and differ between seeds") {
    const Task task = test::tiny_image_task(2);
    std::vector<Mlp> nets(4);
    tbb::parallel_for(0, 4, [&](int i) { nets[static_cast<std::size_t>(i)] = test::train_tiny(task, 11).net; });
    const test::TinyRun here = test::train_tiny(task, 11);
    for (const auto& net : nets) CHECK(test::same_net(net, here.net));
    CHECK_FALSE(test::same_net(test::train_tiny(task, 12).net, here.net));
  }
}  // TEST_SUITE
