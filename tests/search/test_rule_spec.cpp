// The study's `rule:` section: every rule space round-trips through YAML (load → save → load
// gives the same spec and the same θ layout), and every bad spec is one file:line:col line.
#include <doctest/doctest.h>

#include <string>

#include "lib/error.hpp"
#include "lib/gradient.hpp"
#include "lib/random_matrix.hpp"
#include "search/rule_spec.hpp"

using namespace plast;

namespace {

RuleSpec load(const std::string& yaml) { return read_rule_spec(ConfigNode::load_string(yaml, "r.yaml")); }

std::string error_of(const std::string& yaml) {
  try {
    load(yaml);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const MlpShape kPolicy{{4, 32, 16, 2}, Activation::tanh, Activation::tanh};

}  // namespace

TEST_SUITE("search/rule_spec") {
  TEST_CASE("every kind of rule space round-trips through YAML") {
    const std::vector<std::string> specs = {
        // the full Taylor space with an L1 penalty
        "type: polynomial_hebbian\nterms: all\neach: {init: 0, lower: -2, upper: 2}\nl1: 0.003\n",
        // a term mask with one term overridden and an option searched
        "type: taylor\nmodulator: 2\nnormalize: 1\nterms: [pre*post, post^2*w, pre*m]\n"
        "each: {init: 0.1, lower: -1, upper: 1}\nsearch:\n  pre*m: {init: 0.5, lower: 0, upper: 3}\n"
        "  feedback_scale: {init: 1, lower: 0.1, upper: 4}\n",
        // named parameters only
        "type: feedback_alignment\nsearch: {scale: {init: 1, lower: 0, upper: 10}}\n",
        // an array space at every sharing level
        "type: abcd\nsharing: global\nnormalize: 0\neach: {init: 0, lower: -1, upper: 1}\n",
        "type: abcd\nsharing: layer\neach: {init: 0.25, lower: -1, upper: 1}\n",
        "type: abcd\nsharing: neuron\neach: {init: 0, lower: -1, upper: 1}\nl1: 1e-4\n",
        "type: abcd\nsharing: synapse\nnormalize: 1\neach: {init: 0, lower: -10, upper: 10}\n",
        // searched feedback weights
        "type: feedback_alignment\nsearch_feedback: true\neach: {init: 0, lower: -1, upper: 1}\n",
        "type: direct_feedback_alignment\nsearch_feedback: true\neach: {init: 0.01, lower: -1, upper: 1}\nl1: 0.001\n",
    };
    for (const auto& yaml : specs) {
      CAPTURE(yaml);
      const RuleSpec first = load(yaml);
      const std::string saved = rule_spec_yaml(first);
      CAPTURE(saved);
      const RuleSpec again = load(saved);
      CHECK(again == first);
      CHECK(rule_spec_yaml(again) == saved);
      // The same rule space: the same coordinates and the same rule for the same θ.
      const auto a = make_rule_space(first, kPolicy), b = make_rule_space(again, kPolicy);
      CHECK(a->names() == b->names());
      const Eigen::VectorXd init = first.init(a->dimension());
      CHECK(init == again.init(b->dimension()));
      CHECK(a->parameters(init) == b->parameters(init));
      CHECK(a->make(init)->name() == b->make(init)->name());
    }
  }

  TEST_CASE("θ's layout: `all` in declared order, a list as written, `search` extras after") {
    const RuleSpec all = load("type: polynomial_hebbian\nterms: all\neach: {init: 0, lower: -2, upper: 2}\n");
    REQUIRE(all.searched.size() == 27);
    CHECK(all.searched.front().name == "1");
    CHECK(all.fixed.count("normalize") == 0);   // options are not terms
    const RuleSpec mask = load("type: taylor\nterms: [post^2*w, pre*post]\neach: {init: 0, lower: -1, upper: 1}\n"
                               "search: {modulator: {init: 1, lower: 0, upper: 3}}\n");
    REQUIRE(mask.searched.size() == 3);
    CHECK(mask.searched[0].name == "post^2*w");
    CHECK(mask.searched[2].name == "modulator");
    CHECK(mask.l1 == 0.0);
    const RuleSpec synapse = load("type: abcd\nsharing: synapse\neach: {init: 0, lower: -1, upper: 1}\n");
    CHECK(make_rule_space(synapse, kPolicy)->dimension() == 4 * (4 * 32 + 32 * 16 + 16 * 2));
  }

  TEST_CASE("searched feedback: θ = vec(W_lᵀ) makes feedback alignment backprop") {
    const RuleSpec spec = load("type: feedback_alignment\nsearch_feedback: true\neach: {init: 0, lower: -5, upper: 5}\n");
    const MlpShape shape{{5, 4, 3, 2}, Activation::tanh, Activation::linear};
    const auto space = make_rule_space(spec, shape);
    CHECK(space->dimension() == 4 * 3 + 3 * 2);   // B_1 (4×3) and B_2 (3×2)
    CHECK(space->names().front() == "B[l1][i0][j0]");
    Mlp net(shape);
    RandomStream init(7, Purpose::init_weights);
    net.init_glorot(init);
    Eigen::VectorXd theta(space->dimension());
    Eigen::Index k = 0;
    for (int l = 1; l < 3; ++l) {
      const Matrix bt = net.weight(l).transpose();
      for (int i = 0; i < bt.rows(); ++i)
        for (int j = 0; j < bt.cols(); ++j) theta(k++) = bt(i, j);
    }
    const auto rule = space->make(theta);
    ForwardCache cache(shape, 6);
    RandomStream data(3, Purpose::data);
    const Matrix x = normal_matrix(6, 5, data);
    forward(net, x, cache);
    const Matrix delta = normal_matrix(6, 2, data) / 6.0f;
    Gradients fa = Gradients::like(net), bp = Gradients::like(net);
    DeltaBuffers buffers(shape, 6);
    backprop_gradient(net, cache, delta, buffers, bp);
    auto state = rule->make_state(net, 6, RandomStream(1, Purpose::feedback));
    const Eigen::Ref<const Matrix> d(delta), y(delta);
    rule->compute_update(StepSignals{net, cache, d, y, 0}, *state, fa);
    for (int l = 0; l < 3; ++l) CHECK((fa.dW[l] - bp.dW[l]).cwiseAbs().maxCoeff() < 1e-6f);
    // A student of another shape is refused when its state is made.
    Mlp other(MlpShape{{5, 4, 4, 2}, Activation::tanh, Activation::linear});
    CHECK_THROWS_AS(rule->make_state(other, 6, RandomStream(1, Purpose::feedback)), Error);
  }

  TEST_CASE("a bad rule spec is one file:line:col line") {
    CHECK(error_of("type: backprop\nsearch_feedback: true\neach: {init: 0}\n") ==
          "r.yaml:2:18: search_feedback = true: rule backprop has no feedback matrices to search (feedback_alignment and "
          "direct_feedback_alignment have)");
    CHECK(error_of("type: feedback_alignment\nsearch_feedback: true\nterms: all\neach: {init: 0}\n") ==
          "r.yaml:3:8: terms = all: searched feedback is an array space: use `each`");
    CHECK(error_of("type: polynomial_hebbian\nterms: [pre*post, pre*psot]\neach: {init: 0}\n") ==
          "r.yaml:2:19: terms[1] = pre*psot: unknown term (did you mean 'pre*post'?)");
    CHECK(error_of("type: polynomial_hebbian\nterms: [pre^3*post]\neach: {init: 0}\n") ==
          "r.yaml:2:9: terms[0] = pre^3*post: degree 3 of pre out of range (at most 2)");
    CHECK(error_of("type: taylor\nterms: [pre*m^2]\neach: {init: 0}\n") ==
          "r.yaml:2:9: terms[0] = pre*m^2: degree 2 of m out of range (at most 1)");
    CHECK(error_of("type: polynomial_hebbian\nterms: [pre*post*m]\neach: {init: 0}\n")
              .find("r.yaml:2:9: terms[0] = pre*post*m: unknown term") == 0);
    CHECK(error_of("type: abcd\nsharing: per_synapse\neach: {init: 0}\n") ==
          "r.yaml:2:10: sharing = per_synapse: unknown sharing level (known: global, layer, neuron, synapse)");
    CHECK(error_of("type: polynomial_hebbian\nsharing: layer\neach: {init: 0}\n") ==
          "r.yaml:2:10: sharing = layer: rule polynomial_hebbian has no sharing levels (abcd has)");
    CHECK(error_of("type: polynomial_hebbian\nterms: all\neach: {init: 0}\nl1: -0.001\n") ==
          "r.yaml:4:5: l1 = -0.001: must be >= 0");
    CHECK(error_of("type: polynomial_hebbian\nterms: all\n") == "r.yaml:1:1: missing required key 'each'");
    CHECK(error_of("type: polynomial_hebbian\neach: {init: 0}\n") ==
          "r.yaml:2:7: each: needs `terms` (the coefficients it applies to)");
    CHECK(error_of("type: polynomial_hebbian\nterms: [pre*post, pre*post]\neach: {init: 0}\n") ==
          "r.yaml:2:19: terms[1] = pre*post: listed twice");
    CHECK(error_of("type: polynomial_hebbian\nterms: all\neach: {init: 3, lower: -2, upper: 2}\n")
              .find("r.yaml:3:14: each.init = 3: must be in") == 0);
    CHECK(error_of("type: taylor\nterms: [normalize]\neach: {init: 0}\n") ==
          "r.yaml:2:9: terms[0] = normalize: not a coefficient of rule taylor (search it under `search:`)");
    CHECK(error_of("type: polynomial_hebbian\n") ==
          "r.yaml:1:1: must search at least one parameter (`terms` or `search`)");
    // A key of another rule's own space names the rules that take it, on a rule with a space too.
    CHECK(error_of("type: abcd\nsearch_feedback: true\neach: {init: 0}\n") ==
          "r.yaml:2:18: search_feedback = true: rule abcd has no feedback matrices to search (feedback_alignment and "
          "direct_feedback_alignment have)");
    CHECK(error_of("type: abcd\nsharing: layer\nsearch: {A: {init: 0}}\neach: {init: 0}\n") ==
          "r.yaml:3:9: search: an array space (sharing) searches every coefficient: use `each`");
  }

  TEST_CASE("the rule's parameters are written inline, each checked where it is written") {
    const RuleSpec taylor = load("type: taylor\nmodulator: 2\nnormalize: 1\nsearch: {pre*post: {init: 0}}\n");
    CHECK(taylor.fixed == ParamValues{{"modulator", 2.0}, {"normalize", 1.0}});
    CHECK(error_of("type: taylor\nmodulator: 7\nsearch: {pre*post: {init: 0}}\n").find("r.yaml:2:12: modulator = 7: must be in") ==
          0);
    CHECK(error_of("type: abcd\nsharing: layer\nnormalize: 0.5\neach: {init: 0}\n") ==
          "r.yaml:3:12: normalize = 0.5: must be an integer");
    // The old `params:` block says where parameters go now.
    CHECK(error_of("type: polynomial_hebbian\nparams: {normalize: 1}\nterms: all\neach: {init: 0}\n") ==
          "r.yaml:2:9: params: a component's parameters are written inline, beside its type ({type: "
          "polynomial_hebbian, name: value, ...})");
    CHECK(error_of("type: abcd\nsharng: layer\neach: {init: 0}\n") ==
          "r.yaml:2:1: sharng: unknown key (did you mean 'sharing'?)");
    // Written back inline: the space's keys, then the fixed parameters.
    CHECK(rule_spec_yaml(load("type: abcd\nnormalize: 1\nsharing: synapse\neach: {init: 0, lower: -10, upper: 10}\n")) ==
          "type: abcd\nsharing: synapse\n\"normalize\": 1\neach: {init: 0, lower: -10, upper: 10}\nl1: 0\n");
  }
}
