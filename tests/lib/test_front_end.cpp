// The front end (lib/front_end.hpp): every layer's backward pass against central finite
// differences of the library's own forward pass, the invariants that tie the feedback rules to
// backprop on convolutions (FA with kernels = W, sign symmetry with equal magnitudes), shapes,
// and the one-line refusals of bad shapes and of rules that cannot train image layers.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "lib/config.hpp"
#include "lib/config_sections.hpp"
#include "lib/front_end.hpp"
#include "lib/gradient.hpp"
#include "lib/loss.hpp"
#include "lib/train.hpp"
#include "rules/feedback_alignment.hpp"
#include "rules/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

LayerSpec conv(int filters, int kernel, int stride = 1, int padding = 0) {
  LayerSpec l;
  l.kind = LayerKind::conv2d;
  l.filters = filters;
  l.kernel = kernel;
  l.stride = stride;
  l.padding = padding;
  l.activation = Activation::tanh;   // smooth: finite differences see no kinks
  return l;
}
LayerSpec pool(LayerKind kind, int kernel, int stride = 0) {
  LayerSpec l;
  l.kind = kind;
  l.kernel = kernel;
  l.stride = stride;
  return l;
}
LayerSpec norm() {
  LayerSpec l;
  l.kind = LayerKind::layer_norm;
  return l;
}
LayerSpec concat(std::vector<std::vector<LayerSpec>> branches) {
  LayerSpec l;
  l.kind = LayerKind::concat;
  l.branches = std::move(branches);
  return l;
}

// A student with the front end `layers` on `image`, a tanh hidden layer of 5 and 3 softmax outputs.
Mlp student(const Volume& image, const std::vector<LayerSpec>& layers, std::uint64_t seed) {
  MlpShape shape;
  shape.front = std::make_shared<const FrontEnd>(image, layers);
  shape.sizes = {shape.front->output().size(), 5, 3};
  shape.hidden = Activation::tanh;
  shape.output = Activation::linear;
  Mlp net(shape);
  RandomStream rng(seed, Purpose::init_weights);
  net.init_glorot(rng, 1.5f);
  return net;
}

struct Batch {
  Matrix x, y;
};
Batch batch(const Volume& image, int rows, std::uint64_t seed) {
  RandomStream rng(seed, Purpose::data);
  Batch b{test::random_matrix(rows, image.size(), rng), Matrix::Zero(rows, 3)};
  for (int r = 0; r < rows; ++r) b.y(r, r % 3) = 1.0f;
  return b;
}

double loss_of(const Mlp& net, const Batch& b) {
  ForwardCache cache(net.shape(), static_cast<int>(b.x.rows()));
  forward(net, b.x, cache);
  return loss_value(Loss::softmax_cross_entropy, cache.logits(), cache.output(), b.y);
}

// Largest ‖analytic − numeric‖ / ‖numeric‖ over the parameter blocks (every convolution's weights
// and biases, every dense weight), the numeric derivative a central difference of step 3e-3 in
// float weights. Blockwise norms, because a step may move a max-pool window's maximum to
// another entry, which spoils that one entry's difference and nothing else.
double worst_front_error(const Volume& image, const std::vector<LayerSpec>& layers) {
  Mlp net = student(image, layers, 11);
  const Batch b = batch(image, 5, 12);
  const auto pass = test::run_forward(net, Loss::softmax_cross_entropy, b.x, b.y);
  const Gradients g = test::exact_gradient(net, pass);
  double worst = 0.0;
  const float h = 3e-3f;
  auto check = [&](float* w, const float* analytic, Eigen::Index size) {
    double diff = 0.0, norm = 0.0;
    for (Eigen::Index i = 0; i < size; ++i) {
      const float keep = w[i];
      w[i] = keep + h;
      const double up = loss_of(net, b);
      w[i] = keep - h;
      const double down = loss_of(net, b);
      w[i] = keep;
      const double numeric = (up - down) / (2.0 * h);
      diff += (analytic[i] - numeric) * (analytic[i] - numeric);
      norm += numeric * numeric;
    }
    worst = std::max(worst, std::sqrt(diff / norm));
  };
  auto& front = net.front_weights();
  for (std::size_t k = 0; k < front.weight.size(); ++k) {
    check(front.weight[k].data(), g.front.weight[k].data(), front.weight[k].size());
    check(front.bias[k].data(), g.front.bias[k].data(), front.bias[k].size());
  }
  for (int l = 0; l < net.num_layers(); ++l) check(net.weight(l).data(), g.dW[l].data(), net.weight(l).size());
  return worst;
}

const Volume kImage{6, 6, 2};

}  // namespace

TEST_SUITE("lib/front_end") {
  TEST_CASE("backprop through every layer type equals central finite differences") {
    // Each stack ends in a convolution, so the error of every other layer is checked through
    // the weights below and above it. The negative test below shows a 1% error is caught.
    const std::vector<std::pair<const char*, std::vector<LayerSpec>>> stacks = {
        {"conv2d stride 1 padding 1, then stride 2", {conv(3, 3, 1, 1), conv(2, 3, 2, 0)}},
        {"max_pool", {conv(3, 3, 1, 1), pool(LayerKind::max_pool, 2), conv(2, 2)}},
        {"avg_pool with overlapping windows", {conv(3, 3, 1, 1), pool(LayerKind::avg_pool, 2, 1), conv(2, 2)}},
        {"layer_norm", {conv(3, 3, 1, 1), norm(), conv(2, 2)}},
        {"concat of a conv, a 1x1 conv and the identity",
         {conv(2, 1), concat({{conv(3, 3, 1, 1)}, {conv(2, 1)}, {}}), conv(2, 3, 2)}},
        {"max_pool on the image", {pool(LayerKind::max_pool, 2), conv(2, 3)}},
    };
    for (const auto& [name, layers] : stacks) {
      const std::string stack = name;
      CAPTURE(stack);
      CHECK(worst_front_error(kImage, layers) < 1e-2);
    }
  }

  TEST_CASE("negative: a 1% error in one convolution weight's gradient is caught") {
    const std::vector<LayerSpec> layers = {conv(3, 3, 1, 1), pool(LayerKind::max_pool, 2), conv(2, 2)};
    Mlp net = student(kImage, layers, 11);
    const Batch b = batch(kImage, 5, 12);
    const auto pass = test::run_forward(net, Loss::softmax_cross_entropy, b.x, b.y);
    Gradients g = test::exact_gradient(net, pass);
    Eigen::Index at = 0;
    Eigen::Map<const Eigen::VectorXf>(g.front.weight[0].data(), g.front.weight[0].size()).cwiseAbs().maxCoeff(&at);
    const float analytic = g.front.weight[0].data()[at] * 1.01f;
    float& w = net.front_weights().weight[0].data()[at];
    const float keep = w;
    w = keep + 1e-2f;
    const double up = loss_of(net, b);
    w = keep - 1e-2f;
    const double down = loss_of(net, b);
    const double numeric = (up - down) / 2e-2;
    CHECK(std::abs(analytic - numeric) / std::abs(numeric) > 5e-3);
  }

  TEST_CASE("shapes: output volumes, parameter counts, flops") {
    const FrontEnd f({28, 28, 1}, {conv(32, 5, 1, 2), pool(LayerKind::max_pool, 2), conv(64, 5, 1, 2),
                                   pool(LayerKind::max_pool, 2)});
    CHECK(f.output() == Volume{7, 7, 64});
    CHECK(f.num_convs() == 2);
    CHECK(f.conv_cols(1) == 5 * 5 * 32);
    CHECK(f.forward_flops(1) == doctest::Approx(2.0 * (28 * 28 * 32 * 25 + 14 * 14 * 64 * 800)));
    const FrontEnd g({8, 8, 3}, {concat({{conv(4, 3, 1, 1)}, {conv(2, 1)}, {}})});
    CHECK(g.output() == Volume{8, 8, 9});
  }

  TEST_CASE("FA whose kernels and B_0 are the forward weights equals backprop on a convnet") {
    const std::vector<LayerSpec> layers = {conv(3, 3, 1, 1), pool(LayerKind::max_pool, 2), norm(), conv(2, 2)};
    const Mlp net = student(kImage, layers, 21);
    const Batch b = batch(kImage, 5, 22);
    const auto pass = test::run_forward(net, Loss::softmax_cross_entropy, b.x, b.y);
    const FeedbackAlignment fa(1.0f);
    auto state = fa.make_state(net, 5, RandomStream(23, Purpose::feedback));
    for (int l = 0; l < net.num_layers(); ++l) FeedbackAlignment::feedback(*state, l) = net.weight(l).transpose();
    FeedbackAlignment::front_feedback(*state) = net.front_weights().weight;
    const Gradients g = test::rule_update(fa, *state, net, pass, b.y);
    const Gradients bp = test::exact_gradient(net, pass);
    for (std::size_t k = 0; k < bp.front.weight.size(); ++k) {
      CAPTURE(k);
      CHECK((g.front.weight[k] - bp.front.weight[k]).norm() <= 1e-5 * bp.front.weight[k].norm());
      CHECK((g.front.bias[k] - bp.front.bias[k]).norm() <= 1e-5 * bp.front.bias[k].norm() + 1e-12);
    }
    // ... and random kernels are not backprop.
    auto random = fa.make_state(net, 5, RandomStream(23, Purpose::feedback));
    const Gradients r = test::rule_update(fa, *random, net, pass, b.y);
    CHECK(angle_degrees(r.front.weight[0], bp.front.weight[0]) > 10.0);
  }

  TEST_CASE("sign symmetry with equal magnitudes equals backprop on a convnet") {
    const std::vector<LayerSpec> layers = {conv(3, 3, 1, 1), pool(LayerKind::avg_pool, 2), conv(2, 2)};
    Mlp net = student(kImage, layers, 31);
    // |w| = 0.3 everywhere, so scale·mean|W|·sign(W) = W in every layer and kernel.
    auto equalize = [](Matrix& w) { w = 0.3f * w.cwiseSign(); };
    for (int l = 0; l < net.num_layers(); ++l) equalize(net.weight(l));
    for (auto& w : net.front_weights().weight) equalize(w);
    const Batch b = batch(kImage, 5, 32);
    const auto pass = test::run_forward(net, Loss::softmax_cross_entropy, b.x, b.y);
    const auto usf = rule_registry().make("usf");
    auto state = usf->make_state(net, 5, RandomStream(33, Purpose::feedback));
    const Gradients g = test::rule_update(*usf, *state, net, pass, b.y);
    const Gradients bp = test::exact_gradient(net, pass);
    for (std::size_t k = 0; k < bp.front.weight.size(); ++k) {
      CAPTURE(k);
      CHECK((g.front.weight[k] - bp.front.weight[k]).norm() <= 1e-5 * bp.front.weight[k].norm());
    }
    for (int l = 0; l < net.num_layers(); ++l) CHECK((g.dW[l] - bp.dW[l]).norm() <= 1e-5 * bp.dW[l].norm());
  }

  TEST_CASE("every rule that trains image layers gives finite, non-zero convolution updates") {
    const std::vector<LayerSpec> layers = {conv(3, 3, 1, 1), pool(LayerKind::max_pool, 2), conv(2, 2)};
    const Mlp net = student(kImage, layers, 41);
    const Batch b = batch(kImage, 5, 42);
    const auto pass = test::run_forward(net, Loss::softmax_cross_entropy, b.x, b.y);
    int trained = 0;
    for (const auto& name : rule_registry().names()) {
      const auto rule = rule_registry().make(name);
      if (!rule->trains_front_end()) continue;
      CAPTURE(name);
      ++trained;
      auto state = rule->make_state(net, 5, RandomStream(43, Purpose::feedback));
      const Gradients g = test::rule_update(*rule, *state, net, pass, b.y);
      REQUIRE(g.all_finite());
      for (const auto& w : g.front.weight) CHECK(test::max_abs(w) > 1e-6);
    }
    CHECK(trained >= 7);   // backprop, FA, DFA, usf, brsf, frsf, kolen_pollack (and learned feedback)
  }

  TEST_CASE("bad shapes are refused with one line naming the layer and the shapes") {
    auto build = [](Volume v, std::vector<LayerSpec> layers) {
      return test::error_message([&] { FrontEnd f(v, layers); });
    };
    LayerSpec big = conv(4, 7);
    big.where = "s.yaml:3:7: student.layers[0]";
    CHECK(build({6, 6, 2}, {big}) ==
          "s.yaml:3:7: student.layers[0]: conv2d (layer 1): kernel 7x7 is larger than its input 6x6x2 with padding 0");
    CHECK(build({6, 6, 2}, {conv(4, 3), pool(LayerKind::max_pool, 5)}) ==
          "max_pool (layer 2): window 5x5 is larger than its input 4x4x4");
    CHECK(build({6, 6, 2}, {concat({{conv(2, 3)}, {conv(2, 1)}})}) ==
          "concat (layer 1): branches do not concatenate: their outputs are 4x4x2, 6x6x2 (heights and widths must be equal)");
    CHECK(build({6, 6, 2}, {conv(2, 3, 0)}) == "conv2d (layer 1): stride = 0: must be >= 1");
  }

  TEST_CASE("student.layers in YAML: image layers, flatten, dense; errors at file:line:col") {
    auto student_of = [](const std::string& yaml) {
      const ConfigNode root = ConfigNode::load_string(yaml, "s.yaml");
      return read_student(root.at("student"), StudentSpec{}).spec;
    };
    const StudentSpec s = student_of(
        "student:\n  activation: tanh\n  layers:\n    - {type: conv2d, filters: 4, kernel: 3, padding: 1}\n"
        "    - {type: max_pool, kernel: 2}\n    - {type: concat, branches: [[{type: conv2d, filters: 2, kernel: 1}], []]}\n"
        "    - flatten\n    - {type: dense, units: 7}\n");
    REQUIRE(s.layers.size() == 3);
    CHECK(s.layers[0].activation == Activation::tanh);   // the student's units unless the layer says otherwise
    CHECK(s.layers[1].stride == 2);                        // a pool's stride defaults to its window
    CHECK(s.layers[2].branches.size() == 2);
    CHECK(s.hidden == std::vector<int>{7});
    CHECK(FrontEnd({6, 6, 1}, s.layers).output() == Volume{3, 3, 6});

    auto error = [&](const std::string& yaml) { return test::error_message([&] { student_of(yaml); }); };
    CHECK(error("student:\n  layers:\n    - {type: conv2d, filters: 4, kernel: 3, stride: 0}\n") ==
          "s.yaml:3:53: student.layers[0].stride = 0: must be in [1, 10000]");
    CHECK(error("student:\n  layers:\n    - {type: dense, units: 4}\n    - {type: max_pool, kernel: 2}\n") ==
          "s.yaml:4:14: student.layers[1].type = max_pool: image layers come before flatten and the dense layers");
    CHECK(error("student:\n  layers:\n    - {type: conv3d}\n") ==
          "s.yaml:3:14: student.layers[0].type = conv3d: unknown layer (known: conv2d, max_pool, avg_pool, layer_norm, "
          "concat, flatten, dense)");
    CHECK(error("student:\n  hidden: [5]\n  layers: [flatten]\n") ==
          "s.yaml:2:11: student.hidden: give either hidden or layers (whose dense entries are the hidden layers)");
  }

  TEST_CASE("make_student: a shape that does not fit and a rule that cannot train image layers, each one line") {
    Task task = test::fixed_regression_task(36, 3, {5}, 8);
    task.image = {6, 6, 1};
    const ConfigNode root = ConfigNode::load_string(
        "student:\n  layers:\n    - {type: conv2d, filters: 4, kernel: 9}\n", "s.yaml");
    const StudentSpec big = read_student(root.at("student"), StudentSpec{}).spec;
    const auto bp = rule_registry().make("backprop");
    CHECK(test::error_message([&] { make_student(task, big, *bp, OptimizerSpec{}, 4, 1); }) ==
          "s.yaml:3:7: student.layers[0]: conv2d (layer 1): kernel 9x9 is larger than its input 6x6x1 with padding 0");
    StudentSpec ok;
    ok.layers = {conv(2, 3)};
    ok.hidden = {5};
    ok.layers[0].where = "s.yaml:3:7: student.layers[0]";
    const auto np = rule_registry().make("node_perturbation");
    CHECK(test::error_message([&] { make_student(task, ok, *np, OptimizerSpec{}, 4, 1); }) ==
          "s.yaml:3:7: student.layers[0]: rule node_perturbation cannot train a conv2d layer (it trains dense layers "
          "only; backprop, feedback_alignment, direct_feedback_alignment, usf/brsf/frsf, kolen_pollack and "
          "learned_feedback train image layers)");
    Task vector_task = test::fixed_regression_task(36, 3, {5}, 8);
    CHECK(test::error_message([&] { make_student(vector_task, ok, *bp, OptimizerSpec{}, 4, 1); }).find(
              "has no image inputs for image layers") != std::string::npos);
    const Student s = make_student(task, ok, *bp, OptimizerSpec{}, 4, 1);
    CHECK(s.net.front_end() != nullptr);
    CHECK(s.net.input_size() == 36);
    CHECK(s.net.num_parameters() == 2 * 9 + 2 + (4 * 4 * 2) * 5 + 5 + 5 * 3 + 3);
  }
}
