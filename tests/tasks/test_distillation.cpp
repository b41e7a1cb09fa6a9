// Knowledge distillation (tasks/distillation.hpp, the soft-target loss of lib/loss.hpp, the
// weights file of lib/weights_file.hpp and `plast compare`'s `distill:` and `networks:`):
// the loss's gradient against finite differences, its reductions (T = 1 and one-hot targets is
// cross-entropy; large T is logit matching, Hinton et al. §2.1), a weights file round trip,
// the relabelled task, and one clear line for every bad input. No real teacher is trained.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "lib/error.hpp"
#include "lib/loss.hpp"
#include "lib/weights_file.hpp"
#include "tasks/distillation.hpp"
#include "tests/cli/cli_runner.hpp"
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
  // Soft targets are computed once, on unshifted images: a jittered task cannot be distilled.
  Task jittered = task;
  jittered.jitter = ImageJitter{3, 1, 1, 0.0f};
  const Mlp fits = test::random_mlp({3, 4}, Activation::relu, Activation::linear, 2);
  CHECK(error_of([&] { distill(jittered, fits, {"t.weights", 2.0f, 0.0f}); }) ==
        "distill: task tiny has jitter = 1: the teacher's soft targets are computed once, on the unshifted images "
        "(give the student no jitter)");
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
      "tasks:\n"
      "  - {type: gaussian_clusters, dims: 8, train_size: 200, test_size: 100, name: hard}\n"
      "  - {type: gaussian_clusters, dims: 8, train_size: 200, test_size: 100, name: soft,\n"
      "     distill: {teacher: " + teacher + ", temperature: 3, hard_weight: 0.1}}\n"
      "rule: backprop\n"
      "networks: [{hidden: [4]}, {hidden: [6, 3], activation: relu}]\n"
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
                     "networks: [{hidden: [4]}]\n");
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
  // jitter and distill in one entry: at the jitter, before the teacher is read.
  const std::string both = dir.write("j.yaml",
                                     "tasks:\n"
                                     "  - {type: fashion_mnist, jitter: 2, distill: {teacher: " + missing + ", temperature: 2}}\n"
                                     "networks: [{hidden: [4]}]\n");
  r = test::run_plast({"compare", both, "--no-plots"});
  CHECK(r.exit_code != 0);
  CHECK(r.err == both + ":2:35: tasks[0].jitter = 2: cannot be combined with distill: the teacher's soft targets are "
                        "computed once, on the unshifted images\n");
  r = test::run_plast({"train", "--task", "gaussian_clusters", "--seeds", "2", "--save-weights", dir.path("x.weights")});
  CHECK(r.exit_code != 0);
  CHECK(r.err == "--save-weights " + dir.path("x.weights") + ": needs one rule and one seed (this is 2 runs)\n");
}

}  // TEST_SUITE
