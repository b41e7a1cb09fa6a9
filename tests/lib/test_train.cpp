// The inner loop's contracts: a training step allocates nothing (nor does a task's batch source),
// results are bitwise deterministic for a seed (and independent of the thread that runs them),
// divergence is a counted outcome, budgets are validated, and a task's BatchSource, Scorer and
// TaskTrainer (lib/task.hpp) are what train() uses.
#include <doctest/doctest.h>
#include <tbb/parallel_for.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <numeric>

#include "lib/error.hpp"
#include "lib/jitter.hpp"
#include "lib/train.hpp"
#include "rules/feedback_alignment.hpp"
#include "rules/registry.hpp"
#include "rules/teacher_signal.hpp"
#include "tasks/distillation.hpp"
#include "tasks/registry.hpp"
#include "tests/support.hpp"

// Counts heap allocations made by the current thread while `g_counting` is set: glibc's
// malloc is interposed here (operator new, Eigen and std containers all end in malloc).
extern "C" void* __libc_malloc(std::size_t);
extern "C" void* __libc_calloc(std::size_t, std::size_t);
extern "C" void* __libc_realloc(void*, std::size_t);
namespace {
thread_local bool g_counting = false;
thread_local long g_allocations = 0;
}  // namespace
extern "C" void* malloc(std::size_t n) {
  if (g_counting) ++g_allocations;
  return __libc_malloc(n);
}
extern "C" void* calloc(std::size_t n, std::size_t size) {
  if (g_counting) ++g_allocations;
  return __libc_calloc(n, size);
}
extern "C" void* realloc(void* p, std::size_t n) {
  if (g_counting) ++g_allocations;
  return __libc_realloc(p, n);
}

using namespace plast;

namespace {

Task small_classification_task(int inputs, int classes, int samples) {
  Task t;
  t.name = "synthetic";
  t.input_size = inputs;
  t.output_size = classes;
  t.loss = Loss::softmax_cross_entropy;
  t.classification = true;
  auto d = std::make_shared<Dataset>();
  RandomStream rng(7, Purpose::data);
  d->x.resize(samples, inputs);
  for (Eigen::Index i = 0; i < d->x.size(); ++i) d->x.data()[i] = rng.normal();
  d->y = Matrix::Zero(samples, classes);
  for (int i = 0; i < samples; ++i) {
    const int label = static_cast<int>(rng.below(static_cast<std::uint64_t>(classes)));
    d->labels.push_back(label);
    d->y(i, label) = 1.0f;
  }
  t.train = d;
  t.validation = std::make_shared<Dataset>();
  t.test = d;
  return t;
}

// What a new task brings (lib/task.hpp), in miniature: inputs doubled at every step, a score
// that reports the size of the data it was given, a refusal, and a training procedure of its own.
struct DoubledInputs final : BatchSource {
  void fill(const Dataset& train, std::span<const Eigen::Index> rows, std::uint64_t, std::uint64_t,
            Eigen::Ref<Matrix> x, Eigen::Ref<Matrix> y) const override {
    copy_rows(train, rows, x, y);
    x *= 2.0f;
  }
};

struct RefusedBatches final : BatchSource {
  void check(const Task& task) const override { throw Error("task " + task.name + ": refused"); }
  void fill(const Dataset&, std::span<const Eigen::Index>, std::uint64_t, std::uint64_t, Eigen::Ref<Matrix>,
            Eigen::Ref<Matrix>) const override {}
};

struct DataSizeScore final : Scorer {
  Evaluation score(const Mlp&, const Task&, const Dataset& data, ForwardCache&) const override {
    return {static_cast<double>(data.size()), 0.5};
  }
};

struct OnePoint final : TaskTrainer {
  TrainResult train(Student&, const LearningRule&, const Task&, const TrainBudget&,
                    const CurveCallback& on_point) const override {
    TrainResult r;
    r.curve.emplace_back();
    r.curve.back().test_loss = -7.0;
    r.steps = 3;
    if (on_point) on_point(r.curve.back());
    return r;
  }
};

}  // namespace

TEST_SUITE("lib/train") {
  TEST_CASE("the malloc counter sees allocations (so the next test can fail)") {
    g_counting = true;
    g_allocations = 0;
    Matrix m(64, 784);
    m.setZero();
    auto* v = new std::vector<int>(100);
    g_counting = false;
    delete v;
    CHECK(g_allocations >= 2);
  }

  TEST_CASE("a training step allocates nothing, for every rule and optimizer, at the roofline shapes") {
    const Task task = small_classification_task(784, 10, 128);
    StudentSpec spec;
    spec.hidden = {256, 256};
    // Every rule at its defaults, and the variants whose options switch to other code paths.
    std::vector<std::pair<std::string, ParamValues>> rules;
    for (const auto& entry : rule_registry().entries()) rules.push_back({entry.name, {}});
    rules.push_back({"learned_feedback", {{"topology", 1}}});
    rules.push_back({"learned_feedback", {{"normalize", 1}}});
    rules.push_back({"synthetic_gradients", {{"conditional", 1}}});
    rules.push_back({"synthetic_gradients", {{"fresh", 0}, {"normalized", 0}}});
    rules.push_back({"weight_perturbation", {{"antithetic", 1}}});
    rules.push_back({"learned_optimizer", {{"mlp_dir[0]", 0.5}, {"mlp_mag[3]", -0.2}, {"base", 0}}});   // MLP active
    rules.push_back({"teacher_signal", {{"model", 1}}});   // the forward model's moments and solve
    for (const auto& [name, params] : rules) {
      for (const std::string opt : {"sgd", "momentum", "adam"}) {
        CAPTURE(name);
        CAPTURE(params.size());
        CAPTURE(opt);
        const auto rule = rule_registry().make(name, params);
        OptimizerSpec o;
        o.type = opt;
        o.weight_decay = 1e-4;
        Student s = make_student(task, spec, *rule, o, 64, 3);
        StepWorkspace ws(s.net, 64);
        const Matrix x = task.train->x.topRows(64), y = task.train->y.topRows(64);
        train_step(s, *rule, task, x, y, ws, 0);  // warm-up (first touch)
        g_allocations = 0;
        g_counting = true;
        for (int step = 1; step <= 5; ++step) train_step(s, *rule, task, x, y, ws, static_cast<std::uint64_t>(step));
        g_counting = false;
        CHECK(g_allocations == 0);
      }
    }
  }

  TEST_CASE("a training step allocates nothing with a searched teacher (rules/teacher_signal.hpp: linear map, MLP and forward model on)") {
    const Task task = small_classification_task(784, 10, 128);
    for (const bool forward_model : {false, true})
    for (const std::string opt : {"sgd", "adam"}) {
      CAPTURE(forward_model);
      CAPTURE(opt);
      // Hidden layers of two widths: the forward model keeps moments of each size.
      StudentSpec spec;
      spec.hidden = {256, 128};
      const MlpShape shape{{784, 256, 128, 10}, Activation::tanh, Activation::linear};
      TeacherSignalOptions o;
      o.hidden = 8;
      o.forward_model = forward_model;
      Eigen::VectorXd theta = Eigen::VectorXd::Constant(TeacherSignal::dimension(shape, o), 0.1);
      const TeacherSignal rule(shape, o, theta);
      OptimizerSpec os;
      os.type = opt;
      Student s = make_student(task, spec, rule, os, 64, 3);
      StepWorkspace ws(s.net, 64);
      const Matrix x = task.train->x.topRows(64), y = task.train->y.topRows(64);
      train_step(s, rule, task, x, y, ws, 0);
      g_allocations = 0;
      g_counting = true;
      for (int step = 1; step <= 5; ++step) train_step(s, rule, task, x, y, ws, static_cast<std::uint64_t>(step));
      g_counting = false;
      CHECK(g_allocations == 0);
    }
  }

  TEST_CASE("jittering a minibatch (train()'s keyed stream and the in-place shifts) allocates nothing") {
    Matrix x = Matrix::Constant(64, 784, 0.5f);
    const ImageJitter jitter{28, 28, 2, -0.4f};
    { RandomStream warm(3, Purpose::augment, {0}); jitter_rows(x, jitter, warm); }
    g_allocations = 0;
    g_counting = true;
    for (std::uint64_t step = 1; step <= 5; ++step) {
      RandomStream rng(3, Purpose::augment, {step});
      jitter_rows(x, jitter, rng);
    }
    g_counting = false;
    CHECK(g_allocations == 0);
    CHECK(x.minCoeff() == -0.4f);   // the shifts ran
  }

  TEST_CASE("filling a minibatch through a task's BatchSource (jitter, consistent teaching) allocates nothing") {
    const Task jittered = test::tiny_image_task(2);
    const Mlp teacher = test::random_mlp({16, 8, 3}, Activation::relu, Activation::linear, 4);
    const Task consistent = distill(jittered, teacher, {"t.weights", 2.0f, 0.1f});
    REQUIRE(shifted_targets(consistent));
    std::vector<Eigen::Index> rows(32);
    std::iota(rows.begin(), rows.end(), Eigen::Index{10});
    for (const Task* task : {&jittered, &consistent}) {
      Matrix x(32, 16), y(32, task->train->y.cols());
      fill_batch(*task, rows, 3, 0, x, y);
      g_allocations = 0;
      g_counting = true;
      for (std::uint64_t step = 1; step <= 5; ++step) fill_batch(*task, rows, 3, step, x, y);
      g_counting = false;
      CHECK(g_allocations == 0);
    }
  }

  TEST_CASE("train() makes minibatches, scores and trains through what the task provides (lib/task.hpp)") {
    Task plain = small_classification_task(6, 3, 128);
    plain.validation = std::make_shared<Dataset>(select_rows(*plain.train, {0, 1, 2, 3, 4}));
    StudentSpec spec;
    spec.hidden = {8};
    TrainBudget budget;
    budget.epochs = 2;
    budget.batch = 16;
    const auto rule = rule_registry().make("backprop");
    auto run = [&](const Task& task) {
      Student s = make_student(task, spec, *rule, OptimizerSpec{}, budget.batch, 5);
      const TrainResult r = train(s, *rule, task, budget);
      return std::make_pair(s.net, r);
    };
    // A BatchSource: doubling the inputs at every step trains exactly as doubled data does.
    Task doubled_data = plain;
    auto doubled = std::make_shared<Dataset>(*plain.train);
    doubled->x *= 2.0f;
    doubled_data.train = doubled;
    Task doubled_batches = plain;
    doubled_batches.batches = std::make_shared<DoubledInputs>();
    const Mlp by_source = run(doubled_batches).first;
    CHECK(test::same_net(by_source, run(doubled_data).first));
    CHECK_FALSE(test::same_net(by_source, run(plain).first));
    // A Scorer scores every split: the first point's training loss (on the first rows), then
    // validation and test at every point.
    Task scored = plain;
    scored.scorer = std::make_shared<DataSizeScore>();
    const TrainResult r = run(scored).second;
    REQUIRE(r.curve.size() == 3);
    CHECK(r.curve.front().train_loss == 128.0);
    for (const CurvePoint& p : r.curve) {
      CHECK(p.validation_loss == 5.0);
      CHECK(p.validation_accuracy == 0.5);
      CHECK(p.test_loss == 128.0);
    }
    // A source that does not fit the task is refused before the first step.
    Task refused = plain;
    refused.batches = std::make_shared<RefusedBatches>();
    CHECK(test::error_message([&] { run(refused); }) == "task synthetic: refused");
    // A TaskTrainer takes the whole run (the task needs no training set).
    Task own = plain;
    own.train = nullptr;
    own.trainer = std::make_shared<OnePoint>();
    int points = 0;
    Student s = make_student(plain, spec, *rule, OptimizerSpec{}, budget.batch, 5);
    const TrainResult o = train(s, *rule, own, budget, [&](const CurvePoint&) { ++points; });
    CHECK(o.curve.size() == 1);
    CHECK(o.last().test_loss == -7.0);
    CHECK(o.steps == 3);
    CHECK(points == 1);
  }

  TEST_CASE("training is bitwise deterministic for a seed, on any thread, and differs between seeds") {
    const Task task = small_classification_task(20, 4, 512);
    StudentSpec spec;
    spec.hidden = {16, 8};
    TrainBudget budget;
    budget.epochs = 2;
    budget.batch = 32;
    for (const auto& entry : rule_registry().entries()) {
      CAPTURE(entry.name);
      const auto rule = rule_registry().make(entry.name);
      auto run = [&](std::uint64_t seed) {
        Student s = make_student(task, spec, *rule, OptimizerSpec{}, budget.batch, seed);
        train(s, *rule, task, budget);
        return s.net;
      };
      // The same seed on four threads at once and on this thread.
      std::vector<Mlp> nets(4);
      tbb::parallel_for(0, 4, [&](int i) { nets[static_cast<std::size_t>(i)] = run(11); });
      const Mlp here = run(11);
      for (const auto& net : nets)
        for (int l = 0; l < here.num_layers(); ++l) {
          CHECK((net.weight(l).array() == here.weight(l).array()).all());
          CHECK((net.bias(l).array() == here.bias(l).array()).all());
        }
      const Mlp other = run(12);
      CHECK_FALSE((other.weight(0).array() == here.weight(0).array()).all());
    }
  }

  TEST_CASE("a diverging student is a counted outcome, not a crash") {
    const Task task = small_classification_task(20, 4, 256);
    StudentSpec spec;
    spec.hidden = {16};
    spec.activation = Activation::relu;
    OptimizerSpec o;
    o.type = "sgd";
    o.lr = 1e30;
    const auto rule = rule_registry().make("backprop");
    Student s = make_student(task, spec, *rule, o, 32, 1);
    TrainBudget budget;
    budget.epochs = 3;
    budget.batch = 32;
    const TrainResult r = train(s, *rule, task, budget);
    CHECK(r.outcome == Outcome::diverged);
    CHECK(r.steps < 3 * (256 / 32));
  }

  TEST_CASE("the curve has a point before training, one per epoch, and the loss falls") {
    const Task task = small_classification_task(20, 4, 512);
    StudentSpec spec;
    spec.hidden = {32};
    const auto rule = rule_registry().make("backprop");
    Student s = make_student(task, spec, *rule, OptimizerSpec{}, 32, 1);
    TrainBudget budget;
    budget.epochs = 5;
    budget.batch = 32;
    const TrainResult r = train(s, *rule, task, budget);
    REQUIRE(r.curve.size() == 6);
    CHECK(r.curve[0].step == 0);
    CHECK(r.curve[5].step == 5 * 16);
    CHECK(r.curve[5].epoch == doctest::Approx(5.0));
    CHECK(r.curve[5].train_loss < r.curve[0].train_loss);
    CHECK(r.curve[0].alignment_deg.size() == 1);
    CHECK(r.curve[5].alignment_deg[0] == doctest::Approx(0.0).epsilon(1e-6));
    CHECK(r.train_samples_per_s > 0.0);
  }

  TEST_CASE("telemetry: rules without feedback matrices or gradient estimates report none, only alignment") {
    const Task task = small_classification_task(20, 4, 256);
    StudentSpec spec;
    spec.hidden = {16, 8};
    TrainBudget budget;
    budget.epochs = 1;
    budget.batch = 32;
    for (const std::string name : {"backprop", "direct_feedback_alignment"}) {
      CAPTURE(name);
      const auto rule = rule_registry().make(name);
      Student s = make_student(task, spec, *rule, OptimizerSpec{}, budget.batch, 1);
      const TrainResult r = train(s, *rule, task, budget);
      for (const auto& p : r.curve) {
        CHECK(p.alignment_deg.size() == 2);
        CHECK(p.feedback_angle_deg.empty());
        CHECK(p.norm_ratio.empty());
        CHECK(p.snr.empty());
      }
      if (name == "backprop") CHECK(r.last().alignment_deg[1] == doctest::Approx(0.0).epsilon(1e-6));
    }
    // With telemetry off, nothing is measured.
    const auto fa = rule_registry().make("feedback_alignment");
    Student s = make_student(task, spec, *fa, OptimizerSpec{}, budget.batch, 1);
    budget.alignment = false;
    const TrainResult r = train(s, *fa, task, budget);
    CHECK(r.last().alignment_deg.empty());
    CHECK(r.last().feedback_angle_deg.empty());
  }

  TEST_CASE("telemetry: FA with B_l = W_lᵀ has feedback angle 0 and norm ratio 1, and its update is backprop's") {
    const Task task = small_classification_task(20, 4, 256);
    StudentSpec spec;
    spec.hidden = {16, 8};
    const auto fa = rule_registry().make("feedback_alignment");
    Student s = make_student(task, spec, *fa, OptimizerSpec{}, 32, 2);
    const Matrix x = task.train->x.topRows(32), y = task.train->y.topRows(32);
    // A random B first: a direction of its own (~90°), and its own norm.
    const Telemetry random = probe_telemetry(s.net, *fa, *s.rule_state, task, x, y);
    REQUIRE(random.feedback_angle_deg.size() == 2);
    REQUIRE(random.norm_ratio.size() == 2);
    CHECK(random.snr.empty());
    for (double a : random.feedback_angle_deg) {
      CHECK(a > 70.0);
      CHECK(a < 110.0);
    }
    for (int l = 1; l < s.net.num_layers(); ++l) FeedbackAlignment::feedback(*s.rule_state, l) = s.net.weight(l).transpose();
    const Telemetry same = probe_telemetry(s.net, *fa, *s.rule_state, task, x, y);
    for (std::size_t k = 0; k < 2; ++k) {
      CAPTURE(k);
      CHECK(same.feedback_angle_deg[k] < 0.05);
      CHECK(same.norm_ratio[k] == doctest::Approx(1.0).epsilon(1e-6));
      CHECK(same.alignment_deg[k] < 0.05);
    }
    // Twice the matrix: the same direction, twice the norm.
    for (int l = 1; l < s.net.num_layers(); ++l) FeedbackAlignment::feedback(*s.rule_state, l) *= 2.0f;
    const Telemetry twice = probe_telemetry(s.net, *fa, *s.rule_state, task, x, y);
    for (std::size_t k = 0; k < 2; ++k) CHECK(twice.norm_ratio[k] == doctest::Approx(2.0).epsilon(1e-6));
    // A zero B has no direction: the angle is undefined (NaN), the ratio 0.
    for (int l = 1; l < s.net.num_layers(); ++l) FeedbackAlignment::feedback(*s.rule_state, l).setZero();
    const Telemetry zero = probe_telemetry(s.net, *fa, *s.rule_state, task, x, y);
    CHECK(std::isnan(zero.feedback_angle_deg[0]));
    CHECK(zero.norm_ratio[0] == 0.0);
  }

  TEST_CASE("telemetry on a linear teacher: FA's feedback angle starts near 90 degrees and falls, Kolen-Pollack's goes to 0") {
    // Lillicrap et al. 2016, Fig. 2a: 30-20-10 linear student, small initial weights.
    const Task task = task_registry().make("linear_teacher", {{"train_size", 8000}})->sample(1, 0, Split::meta_train);
    StudentSpec spec;
    spec.hidden = {20};
    spec.activation = Activation::linear;
    spec.init_gain = 0.03f;
    OptimizerSpec sgd;
    sgd.type = "sgd";
    sgd.lr = 0.005;
    TrainBudget budget;
    budget.epochs = 2;
    budget.batch = 32;
    budget.eval_every = 50;
    auto run = [&](const std::string& name, const ParamValues& params) {
      const auto rule = rule_registry().make(name, params);
      Student s = make_student(task, spec, *rule, sgd, budget.batch, 3);
      return train(s, *rule, task, budget);
    };
    const TrainResult fa = run("feedback_alignment", {});
    const TrainResult kp = run("kolen_pollack", {{"decay", 1.0}});
    for (const TrainResult* r : {&fa, &kp}) {
      REQUIRE(r->curve.front().feedback_angle_deg.size() == 1);
      REQUIRE(r->last().feedback_angle_deg.size() == 1);
      CHECK(r->curve.front().feedback_angle_deg[0] > 80.0);
      CHECK(r->curve.front().feedback_angle_deg[0] < 100.0);
    }
    const double fa_end = fa.last().feedback_angle_deg[0], kp_end = kp.last().feedback_angle_deg[0];
    CAPTURE(fa_end);
    CAPTURE(kp_end);
    CHECK(fa_end < 60.0);
    CHECK(kp_end < 10.0);
    CHECK(kp_end < fa_end);
    // The update follows: FA's hidden-layer update aligns with the gradient as W aligns with B.
    CHECK(fa.last().alignment_deg[0] < fa.curve.front().alignment_deg[0]);
    CHECK(fa.last().test_loss < 0.5 * fa.curve.front().test_loss);
  }

  TEST_CASE("budgets are validated with one clear message") {
    TrainBudget b;
    b.epochs = 0;
    CHECK_THROWS_WITH_AS(b.validate(), "epochs = 0: must be >= 1", InvalidValue);
    b = TrainBudget{};
    b.batch = -3;
    CHECK_THROWS_WITH_AS(b.validate(), "batch = -3: must be >= 1", InvalidValue);
    const Task task = small_classification_task(5, 2, 10);
    StudentSpec spec;
    spec.hidden = {4};
    const auto rule = rule_registry().make("backprop");
    Student s = make_student(task, spec, *rule, OptimizerSpec{}, 64, 1);
    TrainBudget big;
    big.batch = 64;
    CHECK_THROWS_WITH_AS(train(s, *rule, task, big), "batch = 64: larger than the training set (10 samples)", Error);
  }
}
