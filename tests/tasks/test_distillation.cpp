// Knowledge distillation (tasks/distillation.hpp, the soft-target loss of lib/loss.hpp, the
// weights file of lib/weights_file.hpp and `plast compare`'s `distill:` and `networks:`):
// the loss's gradient against finite differences, its reductions (T = 1 and one-hot targets is
// cross-entropy; large T is logit matching, Hinton et al. §2.1), a weights file round trip,
// the relabelled task, consistent teaching (jitter with distill: every shift of every training
// image labelled by the teacher, each sample given the target of its own shift), and one clear
// line for every bad input. No real teacher is trained.
#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>

#include "lib/error.hpp"
#include "lib/idx.hpp"
#include "lib/jitter.hpp"
#include "lib/loss.hpp"
#include "lib/weights_file.hpp"
#include "tasks/distillation.hpp"
#include "tests/cli/cli_runner.hpp"
#include "tests/cli/compare_rows.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

// Logits of a 5-row, 4-class batch and soft targets [p | one-hot].
struct SoftBatch {
  Matrix z, target;
};

SoftBatch soft_batch(bool with_hard, std::uint64_t seed = 3) {
  RandomStream rng(seed, Purpose::data);
  SoftBatch b;
  b.z = test::random_matrix(5, 4, rng, -3.0f, 3.0f);
  Matrix p = test::random_matrix(5, 4, rng, -2.0f, 2.0f).array().exp();
  for (int r = 0; r < 5; ++r) p.row(r) /= p.row(r).sum();
  b.target.resize(5, with_hard ? 8 : 4);
  b.target.leftCols(4) = p;
  if (with_hard) b.target.rightCols(4) = test::one_hot({0, 3, 1, 2, 3}, 4);
  return b;
}

double delta_and_loss(const Loss& loss, const Matrix& z, const Matrix& t, Matrix& delta) {
  delta.resize(z.rows(), z.cols());
  return loss_and_delta(loss, Activation::linear, z, z, t, delta);
}

Task tiny_classification() {
  Task t;
  t.name = "tiny";
  t.input_size = 3;
  t.output_size = 4;
  t.loss = Loss::softmax_cross_entropy;
  t.classification = true;
  RandomStream rng(5, Purpose::data);
  auto d = std::make_shared<Dataset>();
  d->x = test::random_matrix(7, 3, rng);
  d->labels = {0, 1, 2, 3, 0, 1, 2};
  d->y = test::one_hot(d->labels, 4);
  t.train = d;
  t.validation = std::make_shared<Dataset>();
  t.test = d;
  return t;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_SUITE("tasks/distillation") {

TEST_CASE("soft-target loss: dL/dz equals central finite differences (T = 4, and T = 2 mixed with hard labels)") {
  for (const auto& [loss, hard] : {std::pair{Loss::soft_targets(4.0f), false}, std::pair{Loss::soft_targets(2.0f, 0.25f), true}}) {
    CAPTURE(loss.temperature);
    const SoftBatch b = soft_batch(hard);
    Matrix delta;
    const double value = delta_and_loss(loss, b.z, b.target, delta);
    CHECK(value == doctest::Approx(loss_value(loss, b.z, b.z, b.target)).epsilon(1e-6));
    for (int r = 0; r < 5; ++r)
      for (int k = 0; k < 4; ++k) {
        constexpr float eps = 1e-2f;
        Matrix up = b.z, down = b.z;
        up(r, k) += eps;
        down(r, k) -= eps;
        const double fd = (loss_value(loss, up, up, b.target) - loss_value(loss, down, down, b.target)) / (2.0 * eps);
        CHECK(delta(r, k) == doctest::Approx(fd).epsilon(2e-3).scale(1e-3));
      }
  }
}

TEST_CASE("soft-target loss at T = 1 on one-hot targets is exactly softmax cross-entropy, value and delta") {
  const SoftBatch b = soft_batch(false);
  const Matrix onehot = test::one_hot({2, 0, 3, 3, 1}, 4);
  Matrix d_soft, d_ce;
  const double soft = delta_and_loss(Loss::soft_targets(1.0f), b.z, onehot, d_soft);
  const double ce = delta_and_loss(Loss::softmax_cross_entropy, b.z, onehot, d_ce);
  CHECK(soft == doctest::Approx(ce).epsilon(1e-6));
  CHECK((d_soft - d_ce).cwiseAbs().maxCoeff() < 1e-6f);
  // And α = 1 is cross-entropy on the hard half, whatever the soft half says.
  Matrix both(5, 8);
  both.leftCols(4) = b.target;
  both.rightCols(4) = onehot;
  Matrix d_hard;
  CHECK(delta_and_loss(Loss::soft_targets(7.0f, 1.0f), b.z, both, d_hard) == doctest::Approx(ce).epsilon(1e-6));
  CHECK((d_hard - d_ce).cwiseAbs().maxCoeff() < 1e-6f);
}

TEST_CASE("the T² scaling: at high temperature the gradient is logit matching, (z − v)/K per row (Hinton et al. eq. 4)") {
  // Zero-mean student logits z and teacher logits v: T (softmax(z/T) − softmax(v/T)) → (z − v)/K.
  RandomStream rng(9, Purpose::data);
  Matrix z = test::random_matrix(3, 5, rng, -1.0f, 1.0f), v = test::random_matrix(3, 5, rng, -1.0f, 1.0f);
  for (int r = 0; r < 3; ++r) {
    z.row(r).array() -= z.row(r).mean();
    v.row(r).array() -= v.row(r).mean();
  }
  constexpr float T = 1000.0f;
  Matrix p = (v / T).array().exp();
  for (int r = 0; r < 3; ++r) p.row(r) /= p.row(r).sum();
  Matrix delta;
  delta_and_loss(Loss::soft_targets(T), z, p, delta);
  const Matrix expected = (z - v) / 5.0f / 3.0f;   // and the batch mean's 1/B
  CHECK((delta - expected).cwiseAbs().maxCoeff() < 2e-3f * expected.cwiseAbs().maxCoeff());
}

TEST_CASE("soft-target loss: bad temperature, weight or target shape is one clear error") {
  CHECK(error_of([] { Loss::soft_targets(0.0f); }) == "temperature = 0: must be > 0");
  CHECK(error_of([] { Loss::soft_targets(2.0f, 1.5f); }) == "hard_weight = 1.5: must be in [0, 1]");
  const SoftBatch b = soft_batch(false);
  Matrix delta;
  CHECK(error_of([&] { delta_and_loss(Loss::soft_targets(2.0f, 0.5f), b.z, b.target, delta); }) ==
        "soft_targets loss: target rows have 4 columns, 8 expected for 4 outputs ([soft | one-hot])");
}

TEST_CASE("weights file: save and load give the same network, bit for bit") {
  const test::ScratchDir dir;
  const Mlp net = test::random_mlp({6, 5, 4, 3}, Activation::relu, Activation::linear, 11);
  save_weights(net, dir.path("sub/net.weights"));
  const Mlp back = load_weights(dir.path("sub/net.weights"));
  CHECK(back.shape().str() == net.shape().str());
  for (int l = 0; l < net.num_layers(); ++l) {
    CHECK(back.weight(l) == net.weight(l));
    CHECK(back.bias(l) == net.bias(l));
  }
}

TEST_CASE("weights file: missing, foreign, truncated or malformed files give one line naming the file") {
  const test::ScratchDir dir;
  const std::string missing = dir.path("none.weights");
  CHECK(error_of([&] { load_weights(missing); }) ==
        missing + ": file not found (write it with `plast train ... --save-weights " + missing + "`)");
  const std::string foreign = dir.write("foreign.weights", "hello\n");
  CHECK(error_of([&] { load_weights(foreign); }) == foreign + ": not a plast weights file (its first line is not 'plast-mlp 1')");
  const std::string bad_size = dir.write("size.weights", "plast-mlp 1\nsizes 3 x 2 hidden relu output linear\n");
  CHECK(error_of([&] { load_weights(bad_size); }) == bad_size + ": line 2: layer size 'x' is not a positive integer");
  const std::string bad_act = dir.write("act.weights", "plast-mlp 1\nsizes 3 2 hidden relux output linear\n");
  CHECK(error_of([&] { load_weights(bad_act); }) ==
        bad_act + ": line 2: unknown activation 'relux' (known: tanh, relu, sigmoid, linear)");
  // A real file cut short.
  const Mlp net = test::random_mlp({3, 2}, Activation::tanh, Activation::linear, 1);
  const std::string whole = dir.path("whole.weights");
  save_weights(net, whole);
  std::string text = test::read_whole_file(whole);
  text.resize(text.size() - 4);
  const std::string cut = dir.write("cut.weights", text);
  CHECK(error_of([&] { load_weights(cut); }) == cut + ": holds 28 bytes of weights, the sizes on line 2 need 32 (truncated)");
}

TEST_CASE("distill: every split's targets are the teacher's softened outputs, labels and inputs unchanged") {
  const Task task = tiny_classification();
  const Mlp teacher = test::random_mlp({3, 6, 4}, Activation::relu, Activation::linear, 2);
  const Task soft = distill(task, teacher, {"teacher.weights", 3.0f, 0.0f});
  CHECK(soft.loss == Loss::soft_targets(3.0f));
  CHECK(soft.train->labels == task.train->labels);
  CHECK(soft.train->x == task.train->x);
  REQUIRE(soft.train->y.cols() == 4);
  ForwardCache cache(teacher.shape(), 7);
  forward(teacher, task.train->x, cache);
  for (int r = 0; r < 7; ++r) {
    Eigen::RowVectorXd e = (cache.logits().row(r).cast<double>() / 3.0).array().exp();
    e /= e.sum();
    CHECK((soft.train->y.row(r).cast<double>() - e).cwiseAbs().maxCoeff() < 1e-6);
  }
  const Task mixed = distill(task, teacher, {"teacher.weights", 3.0f, 0.2f});
  REQUIRE(mixed.test->y.cols() == 8);
  CHECK(mixed.test->y.leftCols(4) == soft.test->y);
  CHECK(mixed.test->y.rightCols(4) == task.test->y);
}

TEST_CASE("distill: a teacher of the wrong shape or a task that is not classification is one clear error") {
  const Task task = tiny_classification();
  const Mlp wide = test::random_mlp({5, 4}, Activation::relu, Activation::linear, 2);
  CHECK(error_of([&] { distill(task, wide, {"t.weights", 2.0f, 0.0f}); }) ==
        "distill: teacher t.weights is 5-4 relu: task tiny has 3 inputs and 4 classes");
  Task regression = task;
  regression.classification = false;
  regression.loss = Loss::mse;
  const Mlp teacher = test::random_mlp({3, 4}, Activation::relu, Activation::linear, 2);
  CHECK(error_of([&] { distill(regression, teacher, {"t.weights", 2.0f, 0.0f}); }) ==
        "distill: task tiny is not a softmax cross-entropy classification task");
  // A jittered task whose image geometry does not cover its inputs.
  Task jittered = task;
  jittered.batches = std::make_shared<JitteredBatches>(ImageJitter{4, 4, 1, 0.0f});
  const Mlp fits = test::random_mlp({3, 4}, Activation::relu, Activation::linear, 2);
  CHECK(error_of([&] { distill(jittered, fits, {"t.weights", 2.0f, 0.0f}); }) ==
        "distill: task tiny jitters 4x4 images: it has 3 inputs");
}

TEST_CASE("consistent teaching: the looked-up target is the teacher's softened output on the shifted image (golden, 3x1 image)") {
  // Teacher 3-2 linear, bias 0: z_0 = x_0 + x_1, z_1 = 2 x_2. Image [1 2 3], fill −1, s = 1, T = 2:
  //   (0, 0): [1 2 3]    z = (3, 6),   p_1 = σ((6 − 3)/2)  = σ(1.5)
  //   dx = 1: [−1 1 2]   z = (0, 4),   p_1 = σ(2)
  //   dx = −1: [2 3 −1]  z = (5, −2),  p_1 = σ(−3.5)
  //   dy ≠ 0: the one-row image leaves the frame, [−1 −1 −1], z = (−2, −2), p_1 = 1/2.
  Mlp teacher(MlpShape{{3, 2}, Activation::linear, Activation::linear});
  teacher.weight(0) << 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 2.0f;
  teacher.bias(0).setZero();
  Matrix x(1, 3);
  x << 1.0f, 2.0f, 3.0f;
  const ImageJitter jitter{3, 1, 1, -1.0f};
  const Matrix p = shifted_soft_targets(teacher, x, jitter, 2.0f);
  REQUIRE(p.rows() == 9);
  REQUIRE(p.cols() == 2);
  auto sigma = [](double d) { return 1.0 / (1.0 + std::exp(-d)); };
  auto p1 = [&](int dx, int dy) { return static_cast<double>(p(shift_index(dx, dy, 1), 1)); };
  CHECK(shift_index(-1, -1, 1) == 0);
  CHECK(shift_index(0, 0, 1) == 4);
  CHECK(shift_index(1, 1, 1) == 8);
  CHECK(p1(0, 0) == doctest::Approx(sigma(1.5)).epsilon(1e-6));
  CHECK(p1(1, 0) == doctest::Approx(sigma(2.0)).epsilon(1e-6));
  CHECK(p1(-1, 0) == doctest::Approx(sigma(-3.5)).epsilon(1e-6));
  for (int dx = -1; dx <= 1; ++dx)
    for (int dy : {-1, 1}) CHECK(p1(dx, dy) == doctest::Approx(0.5).epsilon(1e-6));
  for (int r = 0; r < 9; ++r) CHECK(p(r, 0) + p(r, 1) == doctest::Approx(1.0).epsilon(1e-6));
  // Jitter 0 is one shift: the unshifted image's soft targets.
  CHECK(shifted_soft_targets(teacher, x, ImageJitter{3, 1, 0, -1.0f}, 2.0f) == soft_targets(teacher, x, 2.0f));
  // Images whose geometry does not match the inputs.
  CHECK(error_of([&] { shifted_soft_targets(teacher, x, ImageJitter{2, 2, 1, -1.0f}, 2.0f); }) ==
        "distill: the jitter's images are 2x2 pixels, the inputs have 3 columns");
}

TEST_CASE("distill with jitter: a target for every shift of every training image; splits as without jitter") {
  const Task task = test::tiny_image_task(1);
  const Mlp teacher = test::random_mlp({16, 8, 3}, Activation::relu, Activation::linear, 4);
  Task plain_task = task;
  plain_task.batches = nullptr;
  for (const float alpha : {0.0f, 0.3f}) {
    CAPTURE(alpha);
    const Task soft = distill(task, teacher, {"t.weights", 2.0f, alpha});
    const Task plain = distill(plain_task, teacher, {"t.weights", 2.0f, alpha});
    CHECK_FALSE(shifted_targets(plain));
    // train, validation and test targets are those of the unshifted images, as without jitter.
    CHECK(soft.train->y == plain.train->y);
    CHECK(soft.validation->y == plain.validation->y);
    CHECK(soft.test->y == plain.test->y);
    REQUIRE(shifted_targets(soft));
    const Matrix& table = *shifted_targets(soft);
    REQUIRE(table.rows() == 96 * 9);
    REQUIRE(table.cols() == soft.train->y.cols());
    for (Eigen::Index i = 0; i < 96; ++i)
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          Matrix image = task.train->x.row(i);
          shift_image(image.data(), 4, 4, dx, dy, image_jitter(task)->fill);
          const Matrix expected = soft_targets(teacher, image, 2.0f);
          const auto row = table.row(i * 9 + shift_index(dx, dy, 1));
          CHECK((row.leftCols(3) - expected).cwiseAbs().maxCoeff() < 1e-6f);
          if (alpha > 0.0f) CHECK(row.rightCols(3) == task.train->y.row(i));
          if (dx == 0 && dy == 0) CHECK(row == soft.train->y.row(i));
        }
  }
}

TEST_CASE("jitter 0 with distill is bit for bit the path without jitter: no table, the same targets and the same student") {
  Task zero = test::tiny_image_task(0);
  const Mlp teacher = test::random_mlp({16, 8, 3}, Activation::relu, Activation::linear, 4);
  const Task soft = distill(zero, teacher, {"t.weights", 3.0f, 0.0f});
  CHECK_FALSE(shifted_targets(soft));
  // The old path by hand: every split relabelled once by soft_targets, no jitter at all.
  Task by_hand = zero;
  by_hand.batches = nullptr;
  by_hand.loss = Loss::soft_targets(3.0f);
  auto relabel = [&](const std::shared_ptr<const Dataset>& d) {
    auto out = std::make_shared<Dataset>(*d);
    out->y = soft_targets(teacher, d->x, 3.0f);
    return out;
  };
  by_hand.train = relabel(zero.train);
  by_hand.validation = relabel(zero.validation);
  by_hand.test = relabel(zero.test);
  CHECK(soft.train->y == by_hand.train->y);
  CHECK(soft.test->y == by_hand.test->y);
  const test::TinyRun a = test::train_tiny(soft, 7), b = test::train_tiny(by_hand, 7);
  CHECK(test::same_net(a.net, b.net));
  CHECK(a.result.last().test_loss == b.result.last().test_loss);
}

TEST_CASE("train(): each jittered sample gets the teacher's target for the shift it was given (one step by hand)") {
  const Task task = test::tiny_image_task(1);
  const Mlp teacher = test::random_mlp({16, 8, 3}, Activation::relu, Activation::linear, 4);
  const Task soft = distill(task, teacher, {"t.weights", 2.0f, 0.0f});
  const std::uint64_t seed = 5;
  const test::TinyRun run = test::train_tiny(soft, seed, 1, 96, 1);   // one step, the whole set
  // The step by hand: train()'s order and shifts (keyed by seed and step), and the teacher run on
  // the shifted batch itself.
  std::vector<Eigen::Index> order(96);
  std::iota(order.begin(), order.end(), Eigen::Index{0});
  RandomStream shuffle_rng(seed, Purpose::shuffle, {0});
  shuffle(order.begin(), order.end(), shuffle_rng);
  Matrix x(96, 16);
  for (int r = 0; r < 96; ++r) x.row(r) = soft.train->x.row(order[static_cast<std::size_t>(r)]);
  RandomStream jitter_rng(seed, Purpose::augment, {0});
  jitter_rows(x, *image_jitter(soft), jitter_rng);
  const Matrix y = soft_targets(teacher, x, 2.0f);
  const auto rule = rule_registry().make("backprop");
  StudentSpec spec;
  spec.hidden = {8};
  spec.activation = Activation::relu;
  OptimizerSpec opt;
  opt.type = "sgd";
  opt.lr = 0.1;
  Student by_hand = make_student(soft, spec, *rule, opt, 96, seed);
  StepWorkspace ws(by_hand.net, 96);
  by_hand.optimizer->set_lr_factor(schedule_factor(by_hand.lr_schedule, 0, 1));
  train_step(by_hand, *rule, soft, x, y, ws, 0);
  const Mlp start = make_student(soft, spec, *rule, opt, 96, seed).net;
  for (int l = 0; l < 2; ++l) {
    CAPTURE(l);
    // The same up to float rounding of the teacher's pass (the table was computed image-set-wise).
    CHECK(test::relative_difference(run.net.weight(l) - start.weight(l), by_hand.net.weight(l) - start.weight(l)) < 1e-5);
    CHECK(test::relative_difference(run.net.bias(l) - start.bias(l), by_hand.net.bias(l) - start.bias(l)) < 1e-5);
  }
  // Targets of the unshifted images (what the refused old combination would have given) differ.
  Task unshifted = soft;
  unshifted.batches = task.batches;   // jittered as before, the targets of the unshifted images
  const test::TinyRun old = test::train_tiny(unshifted, seed, 1, 96, 1);
  CHECK(test::relative_difference(old.net.weight(0) - start.weight(0), by_hand.net.weight(0) - start.weight(0)) > 1e-3);
}

TEST_CASE("consistent teaching is bitwise the same for a seed on any thread, and differs between seeds") {
  const Task task = test::tiny_image_task(2);
  const Mlp teacher = test::random_mlp({16, 8, 3}, Activation::relu, Activation::linear, 4);
  const Task soft = distill(task, teacher, {"t.weights", 4.0f, 0.1f});
  std::vector<Mlp> nets(4);
  tbb::parallel_for(0, 4, [&](int i) { nets[static_cast<std::size_t>(i)] = test::train_tiny(soft, 11).net; });
  const test::TinyRun here = test::train_tiny(soft, 11);
  for (const auto& net : nets) CHECK(test::same_net(net, here.net));
  CHECK_FALSE(test::same_net(test::train_tiny(soft, 12).net, here.net));
}

TEST_CASE("train(): a shift table of the wrong size, or without jitter, is one clear error") {
  const Task task = test::tiny_image_task(1);
  const Mlp teacher = test::random_mlp({16, 8, 3}, Activation::relu, Activation::linear, 4);
  Task soft = distill(task, teacher, {"t.weights", 2.0f, 0.0f});
  const ImageJitter jitter = *image_jitter(soft);
  auto with_table = [&](const ImageJitter& j, Matrix table) {
    Task t = soft;
    t.batches = std::make_shared<ConsistentTeaching>(j, std::make_shared<const Matrix>(std::move(table)));
    return t;
  };
  const Task short_table = with_table(jitter, shifted_targets(soft)->topRows(95));
  CHECK(error_of([&] { test::train_tiny(short_table, 1); }) ==
        "task tiny-images distilled: shifted_targets is 95x3, 864x3 expected (a target for each of the 9 shifts of "
        "every training image)");
  const Task wide = with_table(jitter, Matrix::Zero(864, 6));
  CHECK(error_of([&] { test::train_tiny(wide, 1); }) ==
        "task tiny-images distilled: shifted_targets is 864x6, 864x3 expected (a target for each of the 9 shifts of "
        "every training image)");
  const Task no_jitter = with_table(ImageJitter{}, *shifted_targets(soft));
  CHECK(error_of([&] { test::train_tiny(no_jitter, 1); }) ==
        "task tiny-images distilled: shifted_targets is 864x3, but the task has no jitter");
}

TEST_CASE("plast train --save-weights, then plast compare with distill and networks: rows with params, the size plot data, 1 or 2 threads alike") {
  const test::ScratchDir dir;
  const std::string teacher = dir.path("teacher.weights");
  const auto t = test::run_plast({"train", "--task", "gaussian_clusters", "--task-param", "dims=8", "--task-param",
                                  "train_size=200", "--task-param", "test_size=100", "--hidden", "16", "--epochs", "2",
                                  "--batch", "20", "--save-weights", teacher, "--csv", dir.path("c.csv"), "--quiet"});
  REQUIRE_MESSAGE(t.exit_code == 0, t.err);
  CHECK(load_weights(teacher).shape().str() == "8-16-5 relu");
  const std::string config = dir.write("d.yaml",
      "kind: compare\n"
      "tasks:\n"
      "  - {type: gaussian_clusters, dims: 8, train_size: 200, test_size: 100, name: hard}\n"
      "  - {type: gaussian_clusters, dims: 8, train_size: 200, test_size: 100, name: soft,\n"
      "     distill: {teacher: " + teacher + ", temperature: 3, hard_weight: 0.1}}\n"
      "rule: backprop\n"
      "students: [{hidden: [4]}, {hidden: [6, 3], activation: relu}]\n"
      "optimizer: {type: sgd, lr: 0.1}\n"
      "training: {epochs: 2, batch: 20}\n"
      "seeds: [1, 2]\n");
  const auto r = test::run_plast({"compare", config, "--out", dir.path("out"), "--json", "--quiet", "--no-plots", "--threads", "2"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto j = nlohmann::json::parse(r.out);   // --quiet: the JSON object alone
  const std::vector<std::string> labels = j["tasks"];
  CHECK(labels == std::vector<std::string>{"hard h4", "hard h6x3", "soft h4", "soft h6x3"});
  std::map<std::string, double> params;
  for (const auto& row : j["rows"])
    if (row["metric"] == "params") params[row["task"]] = row["mean"];
  CHECK(params["hard h4"] == (8 + 1) * 4 + (4 + 1) * 5);
  CHECK(params["soft h6x3"] == (8 + 1) * 6 + (6 + 1) * 3 + (3 + 1) * 5);
  const std::string csv = test::read_whole_file(dir.path("out/accuracy-vs-params.csv"));
  // Deterministic: one thread gives the same numbers (timing aside).
  const auto one = test::run_plast({"compare", config, "--out", dir.path("one"), "--json", "--quiet", "--no-plots", "--threads", "1"});
  REQUIRE_MESSAGE(one.exit_code == 0, one.err);
  const auto j1 = nlohmann::json::parse(one.out);
  REQUIRE(j1["rows"].size() == j["rows"].size());
  for (std::size_t i = 0; i < j["rows"].size(); ++i)
    if (j["rows"][i]["metric"] != "train_samples_per_s") CHECK(j1["rows"][i] == j["rows"][i]);
  CAPTURE(csv);
  CHECK(csv.rfind("network,params,hard:test_accuracy:mean,hard:test_accuracy:sd,soft:test_accuracy:mean,soft:test_accuracy:sd\nh4,61,", 0) == 0);
}

TEST_CASE("plast compare: a missing or mis-shaped teacher and --save-weights over several runs are one line each") {
  const test::ScratchDir dir;
  auto config = [&](const std::string& teacher) {
    return dir.write("c.yaml",
                     "tasks:\n"
                     "  - {type: gaussian_clusters, dims: 8, train_size: 40, test_size: 20,\n"
                     "     distill: {teacher: " + teacher + ", temperature: 2}}\n"
                     "students: [{hidden: [4]}]\n"
                     "kind: compare\n");
  };
  const std::string missing = dir.path("none.weights");
  auto r = test::run_plast({"compare", config(missing), "--no-plots"});
  CHECK(r.exit_code != 0);
  CHECK(r.err == dir.path("c.yaml") + ":3:25: tasks[0].distill.teacher = " + missing +
                     ": file not found (write it with `plast train ... --save-weights " + missing + "`)\n");
  const std::string wrong = dir.path("wrong.weights");
  save_weights(test::random_mlp({9, 5}, Activation::relu, Activation::linear, 1), wrong);
  r = test::run_plast({"compare", config(wrong), "--no-plots"});
  CHECK(r.exit_code != 0);
  CHECK(r.err == dir.path("c.yaml") + ":3:15: tasks[0].distill: distill: teacher " + wrong +
                     " is 9-5 relu: task gaussian_clusters has 8 inputs and 5 classes\n");
  // jitter and distill in one entry (consistent teaching): a bad jitter at its value, before the
  // teacher is read; a good one leaves the teacher's own error.
  auto both = [&](const std::string& jitter) {
    return dir.write("j.yaml", "tasks:\n"
                               "  - {type: fashion_mnist, jitter: " + jitter + ", distill: {teacher: " + missing +
                               ", temperature: 2}}\n"
                               "students: [{hidden: [4]}]\n"
                               "kind: compare\n");
  };
  r = test::run_plast({"compare", both("-1"), "--no-plots"});
  CHECK(r.exit_code != 0);
  CHECK(r.err == dir.path("j.yaml") + ":2:35: tasks[0].jitter = -1: must be in [0, 8]\n");
  r = test::run_plast({"compare", both("1.5"), "--no-plots"});
  CHECK(r.exit_code != 0);
  CHECK(r.err == dir.path("j.yaml") + ":2:35: tasks[0].jitter = 1.5: must be an integer\n");
  r = test::run_plast({"compare", both("2"), "--no-plots"});
  CHECK(r.exit_code != 0);
  CHECK(r.err == dir.path("j.yaml") + ":2:57: tasks[0].distill.teacher = " + missing +
                     ": file not found (write it with `plast train ... --save-weights " + missing + "`)\n");
  r = test::run_plast({"train", "--task", "gaussian_clusters", "--seeds", "2", "--save-weights", dir.path("x.weights")});
  CHECK(r.exit_code != 0);
  CHECK(r.err == "--save-weights " + dir.path("x.weights") + ": needs one rule and one seed (this is 2 runs)\n");
}

TEST_CASE("plast compare with jitter and distill on Fashion-MNIST: runs, 1 or 2 threads alike, and differs from unshifted targets") {
  const test::ScratchDir dir;
  const std::string teacher = dir.path("teacher.weights");
  save_weights(test::random_mlp({784, 32, 10}, Activation::relu, Activation::linear, 3), teacher);
  const std::string config = dir.write("c.yaml",
      "kind: compare\n"
      "tasks:\n"
      "  - {type: fashion_mnist, train_subset: 300, test_subset: 100, jitter: 1, name: consistent,\n"
      "     distill: {teacher: " + teacher + ", temperature: 2, hard_weight: 0.2}}\n"
      "  - {type: fashion_mnist, train_subset: 300, test_subset: 100, name: clean,\n"
      "     distill: {teacher: " + teacher + ", temperature: 2, hard_weight: 0.2}}\n"
      "rule: backprop\n"
      "student: {hidden: [8], activation: relu}\n"
      "training: {epochs: 2, batch: 20}\n"
      "seeds: [1, 2]\n");
  auto rows_of = [&](const std::string& threads) { return test::compare_rows(config, dir.path("out" + threads), threads); };
  const auto one = rows_of("1"), two = rows_of("2");
  CHECK(one == two);
  REQUIRE(one.count("consistent test_loss"));
  REQUIRE(one.count("clean test_loss"));
  CHECK(one.at("consistent test_loss")["mean"] != one.at("clean test_loss")["mean"]);
}

}  // TEST_SUITE
