// The registry contract (DESIGN.md, "Conventions worth copying"): every registered rule is
// built from its defaults and runs one step on a small net, so a rule is tested the moment it
// is registered. Unknown names and out-of-range parameters are one-line errors.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include "rules/registry.hpp"
#include "tests/support.hpp"

using namespace plast;

namespace {

std::string known_list() {
  std::string known;
  for (const auto& n : rule_registry().names()) known += (known.empty() ? "" : ", ") + n;
  return known;
}

}  // namespace

TEST_SUITE("rules/registry") {

TEST_CASE("the registry holds the classic rules, under unique names, each with a summary") {
  const auto& reg = rule_registry();
  CHECK(reg.kind() == "rule");
  for (const char* name : {"backprop", "feedback_alignment", "direct_feedback_alignment"}) {
    CAPTURE(name);
    CHECK(reg.contains(name));
  }
  std::set<std::string> seen;
  for (const auto& e : reg.entries()) {
    CAPTURE(e.name);
    CHECK(seen.insert(e.name).second);
    CHECK_FALSE(e.summary.empty());
    CHECK(static_cast<bool>(e.make));
    std::set<std::string> params;
    for (const auto& p : e.params) {
      CAPTURE(p.name);
      CHECK(params.insert(p.name).second);
      CHECK(p.min <= p.default_value);
      CHECK(p.default_value <= p.max);
      CHECK_FALSE(p.help.empty());
      if (p.integer) CHECK(p.default_value == std::floor(p.default_value));
    }
  }
}

TEST_CASE("every registered rule, built from defaults, gives a finite, well-shaped, non-zero update for every layer") {
  for (const auto& entry : rule_registry().entries()) {
    for (Loss loss : {Loss::softmax_cross_entropy, Loss::mse}) {
      CAPTURE(entry.name);
      CAPTURE(to_string(loss));
      const auto rule = rule_registry().make(entry.name);
      REQUIRE(rule != nullptr);
      CHECK(rule->name() == entry.name);
      const Mlp net = test::random_mlp({5, 7, 4, 3}, Activation::tanh, Activation::linear, 31);
      const test::Batch batch = test::random_batch(net, loss, 6, 32);
      // Capacity 8 > batch 6: a rule must read only the batch's rows.
      const test::Pass pass = test::run_forward(net, loss, batch.x, batch.y, 8);
      auto state = rule->make_state(net, 8, RandomStream(33, Purpose::feedback));
      REQUIRE(state != nullptr);
      // rule_update starts from NaN everywhere: a layer the rule forgot stays NaN and fails here.
      const Gradients g = test::rule_update(*rule, *state, net, pass, batch.y);
      REQUIRE(g.dW.size() == static_cast<std::size_t>(net.num_layers()));
      REQUIRE(g.db.size() == static_cast<std::size_t>(net.num_layers()));
      for (int l = 0; l < net.num_layers(); ++l) {
        CAPTURE(l);
        CHECK(g.dW[l].rows() == net.weight(l).rows());
        CHECK(g.dW[l].cols() == net.weight(l).cols());
        CHECK(g.db[l].size() == net.bias(l).size());
        CHECK(g.dW[l].allFinite());
        CHECK(g.db[l].allFinite());
        CHECK(test::max_abs(g.dW[l]) > 0.0);
      }
      // A second step from an identical state gives the identical update (determinism).
      auto again = rule->make_state(net, 8, RandomStream(33, Purpose::feedback));
      const Gradients h = test::rule_update(*rule, *again, net, pass, batch.y);
      for (int l = 0; l < net.num_layers(); ++l) CHECK(h.dW[l] == g.dW[l]);
    }
  }
}

TEST_CASE("every registered rule runs on a single-layer net and on a batch of one") {
  for (const auto& entry : rule_registry().entries()) {
    CAPTURE(entry.name);
    const auto rule = rule_registry().make(entry.name);
    for (const auto& sizes : {std::vector<int>{4, 3}, std::vector<int>{4, 6, 3}}) {
      const Mlp net = test::random_mlp(sizes, Activation::tanh, Activation::linear, 41);
      const test::Batch batch = test::random_batch(net, Loss::softmax_cross_entropy, 1, 42);
      const test::Pass pass = test::run_forward(net, Loss::softmax_cross_entropy, batch.x, batch.y, 4);
      auto state = rule->make_state(net, 4, RandomStream(43, Purpose::feedback));
      const Gradients g = test::rule_update(*rule, *state, net, pass, batch.y);
      CHECK(g.all_finite());
    }
  }
}

TEST_CASE("an unknown rule name lists the known ones and suggests the nearest") {
  const std::string msg = test::error_message([] { rule_registry().make("backprob"); });
  CHECK(msg == "unknown rule 'backprob' (did you mean 'backprop'? known: " + known_list() + ")");
  CHECK(msg.find("did you mean 'backprop'?") != std::string::npos);
  for (const auto& n : rule_registry().names()) CHECK(msg.find(n) != std::string::npos);
  CHECK(test::error_message([] { rule_registry().make("feedback_alignmnet"); })
            .find("did you mean 'feedback_alignment'?") != std::string::npos);
  // Nothing near: no suggestion, still the list.
  CHECK(test::error_message([] { rule_registry().make("zzzzzzzzzzzz"); }) ==
        "unknown rule 'zzzzzzzzzzzz' (known: " + known_list() + ")");
  CHECK_THROWS_AS(rule_registry().get("nope"), Error);
}

TEST_CASE("out-of-range, non-finite, non-integer and unknown parameters throw, naming the value") {
  for (const auto& entry : rule_registry().entries()) {
    CAPTURE(entry.name);
    for (const auto& p : entry.params) {
      CAPTURE(p.name);
      const double above = p.max + std::max(1.0, std::abs(p.max));
      const double below = p.min - std::max(1.0, std::abs(p.min));
      for (double bad : {above, below, std::numeric_limits<double>::quiet_NaN(),
                         std::numeric_limits<double>::infinity()}) {
        CAPTURE(bad);
        try {
          rule_registry().make(entry.name, {{p.name, bad}});
          FAIL("accepted an out-of-range value");
        } catch (const InvalidValue& e) {
          CHECK(e.key() == p.name);
          CHECK(std::string(e.what()).rfind(p.name + " = ", 0) == 0);
          CHECK(std::string(e.what()).find("must be in [") != std::string::npos);
        }
      }
      // The bounds themselves are accepted.
      CHECK(rule_registry().make(entry.name, {{p.name, p.min}}) != nullptr);
      CHECK(rule_registry().make(entry.name, {{p.name, p.max}}) != nullptr);
      if (p.integer && p.min + 0.5 < p.max)
        CHECK(test::error_message([&] { rule_registry().make(entry.name, {{p.name, p.min + 0.5}}); })
                  .find("must be an integer") != std::string::npos);
    }
  }
  // Exact messages for the rules this suite knows.
  CHECK(test::error_message([] { rule_registry().make("feedback_alignment", {{"scale", 101}}); }) ==
        "scale = 101: must be in [0, 100]");
  CHECK(test::error_message([] { rule_registry().make("direct_feedback_alignment", {{"scale", -1}}); }) ==
        "scale = -1: must be in [0, 100]");
  CHECK(test::error_message([] { rule_registry().make("feedback_alignment", {{"scal", 1}}); }) ==
        "rule feedback_alignment: unknown parameter 'scal' (did you mean 'scale'?)");
  CHECK(test::error_message([] { rule_registry().make("backprop", {{"lr", 1}}); }) ==
        "rule backprop: unknown parameter 'lr' (known: none)");
}

}  // TEST_SUITE

TEST_SUITE("rules/registry") {

TEST_CASE("a rule's own search space declares its keys and how to read and build it") {
  const auto& reg = rule_registry();
  const MlpShape shape{{3, 4, 2}, Activation::tanh, Activation::linear};
  int spaces = 0;
  for (const auto& entry : reg.entries()) {
    CAPTURE(entry.name);
    const RuleSpaceFactory* space = reg.space(entry.name);
    if (!space) continue;
    ++spaces;
    CHECK_FALSE(space->keys.empty());
    for (const auto& key : space->keys) {
      CAPTURE(key.name);
      CHECK_FALSE(key.what.empty());
      CHECK(std::find(rule_section_keys().begin(), rule_section_keys().end(), key.name) == rule_section_keys().end());
      for (const auto& p : entry.params) CHECK(p.name != key.name);
    }
    CHECK_FALSE(space->each_only.empty());
    REQUIRE(static_cast<bool>(space->read));
    REQUIRE(static_cast<bool>(space->make));
    // A section without the space's keys chooses no space (the named parameters are searched).
    CHECK(space->read(ConfigNode::load_string("type: " + entry.name + "\n", "r.yaml")).empty());
  }
  CHECK(spaces >= 5);   // abcd, feedback_alignment, direct_feedback_alignment, meta_sgd, teacher_signal
  CHECK(reg.space("backprop") == nullptr);
}

TEST_CASE("a parameter or a space key that is also a key of a study's rule section is a registration error") {
  const auto make = [](const ParamValues&) { return rule_registry().make("backprop"); };
  const auto rule = [&](const std::string& param) {
    return RuleRegistry::Entry{"mine", "a test rule", {{param, 0.0, 0.0, 1.0, "a parameter"}}, make};
  };
  const auto space = [](const std::string& key) {
    RuleSpaceFactory f;
    f.keys = {{key, "things"}};
    return f;
  };
  for (const auto& key : rule_section_keys()) {
    CAPTURE(key);
    RuleRegistry r("rule");
    CHECK(test::error_message([&] { r.add(rule(key)); }) ==
          "rule mine: parameter '" + key + "' is a key of every study's `rule:` section, where it is written");
    CHECK(test::error_message([&] { r.add(rule("x"), space(key)); }) ==
          "rule mine: its search space's key '" + key + "' is a key of every study's `rule:` section");
    CHECK(r.entries().empty());
  }
  RuleRegistry r("rule");
  CHECK(test::error_message([&] { r.add(rule("sharing"), space("sharing")); }) ==
        "rule mine: parameter 'sharing' is also a key of its search space");
  r.add(rule("x"), space("sharing"));
  CHECK(r.contains("mine"));
  CHECK(r.space("mine") != nullptr);
}

}
