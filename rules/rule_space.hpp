#pragma once
// A searchable family of rules: each θ ∈ Rⁿ names one rule. The outer loop only ever sees θ;
// the evaluator asks the space for the rule of each candidate. Two kinds exist:
//   - NamedRuleSpace: a registered rule with some parameters fixed and a list of named ones
//     searched (Taylor/polynomial terms, a feedback scale, a term pool's weights);
//   - a rule's own space (RuleSpaceFactory), declared beside the rule and registered with it:
//     usually an array whose size depends on the student (ABCD coefficients shared per layer,
//     neuron or synapse: rules/abcd.hpp), built from the network's shape.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/config.hpp"
#include "lib/learning_rule.hpp"
#include "lib/mlp.hpp"
#include "lib/params.hpp"
#include "lib/registry.hpp"

namespace plast {

class RuleSpace {
 public:
  virtual ~RuleSpace() = default;
  // θ's coordinates, in order: what stores, plots and `plast inspect` call them.
  virtual const std::vector<std::string>& names() const = 0;
  // The rule of one θ (size names().size()). Throws InvalidValue for a θ the rule refuses
  // (the evaluator counts it as a divergence).
  virtual std::shared_ptr<const LearningRule> make(const Eigen::Ref<const Eigen::VectorXd>& theta) const = 0;
  // The complete named parameters of one θ, for spaces built on a registered rule (the
  // fixed ones included); empty for array spaces.
  virtual ParamValues parameters(const Eigen::Ref<const Eigen::VectorXd>& theta) const = 0;
  // The registered rule the space belongs to ("polynomial_hebbian", "abcd").
  virtual const std::string& rule() const = 0;
  int dimension() const { return static_cast<int>(names().size()); }
};

class NamedRuleSpace final : public RuleSpace {
 public:
  // Checks every searched and fixed name against the rule's declared parameters (an unknown
  // name throws plast::Error naming the rule).
  NamedRuleSpace(const Registry<LearningRule>& rules, std::string rule, ParamValues fixed,
                 std::vector<std::string> searched);
  const std::vector<std::string>& names() const override { return searched_; }
  std::shared_ptr<const LearningRule> make(const Eigen::Ref<const Eigen::VectorXd>& theta) const override;
  ParamValues parameters(const Eigen::Ref<const Eigen::VectorXd>& theta) const override;
  const std::string& rule() const override { return rule_; }
  const ParamValues& fixed() const { return fixed_; }

 private:
  const Registry<LearningRule>& rules_;
  std::string rule_;
  ParamValues fixed_;
  std::vector<std::string> searched_;
};

// One rule, nothing searched: scores references (backprop, FA, Oja at a given scale) in the
// same harness as the searched rules.
class FixedRuleSpace final : public RuleSpace {
 public:
  FixedRuleSpace(std::shared_ptr<const LearningRule> rule, std::string name)
      : rule_(std::move(rule)), name_(std::move(name)) {}
  const std::vector<std::string>& names() const override { return none_; }
  std::shared_ptr<const LearningRule> make(const Eigen::Ref<const Eigen::VectorXd>&) const override { return rule_; }
  ParamValues parameters(const Eigen::Ref<const Eigen::VectorXd>&) const override { return {}; }
  const std::string& rule() const override { return name_; }

 private:
  std::shared_ptr<const LearningRule> rule_;
  std::string name_;
  std::vector<std::string> none_;
};

// The keys of a study's `rule:` section that are not the rule's parameters (search/rule_spec.hpp
// reads them). A rule's parameters and its space's keys stand beside them in the same section,
// so neither may reuse one (RuleRegistry::add refuses it).
const std::vector<std::string>& rule_section_keys();

// A rule's own search space, declared in the rule's files and given with its registry entry
// (rules/registry.cpp): the keys it adds to a study's `rule:` section, how it reads them, and
// how it builds θ's space from them and the student's shape. Its θ is an array: one `each` box
// bounds every coordinate. A rule without one is searched through its named parameters.
//
//   rule: {type: abcd, sharing: synapse, normalize: 1, each: {init: 0, lower: -1, upper: 1}}
//                      ^^^^^^^^^^^^^^^^ the space's key   ^^^^^^^^^^^^ a fixed parameter
using SpaceOptions = std::map<std::string, std::string>;   // key → value, as read() normalized it

struct SpaceKey {
  std::string name;   // "sharing"
  // What the key selects, for the message to a rule without it:
  // "rule backprop has no sharing levels (abcd has)".
  std::string what;
};

struct RuleSpaceFactory {
  std::vector<SpaceKey> keys;
  // Why `terms` and `search` (which name coordinates) do not apply once the space is chosen:
  // "searched feedback is an array space: use `each`".
  std::string each_only;
  // The space's keys as written in a study's `rule:` section, each value checked where it is
  // written (file:line:col errors) and normalized so that writing it back reads the same.
  // Empty when the section chooses no such space (e.g. `search_feedback: false`): the rule's
  // named parameters are searched instead.
  std::function<SpaceOptions(const ConfigNode& section)> read;
  // θ's space for a student of `shape`; `params` are the rule's fixed parameters, complete.
  std::function<std::shared_ptr<const RuleSpace>(const SpaceOptions& options, const ParamValues& params,
                                                 const MlpShape& shape)>
      make;
};

// The value at `node` as `normalize` (a parse-then-name pair that throws InvalidValue for an
// unknown choice) gives it; the InvalidValue becomes a file:line:col error at `node`.
std::string read_choice(const ConfigNode& node, const std::function<std::string(const std::string&)>& normalize);

}  // namespace plast
