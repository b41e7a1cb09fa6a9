#pragma once
// A searchable family of rules: each θ ∈ Rⁿ names one rule. The outer loop only ever sees θ;
// the evaluator asks the space for the rule of each candidate. Two kinds exist:
//   - NamedRuleSpace: a registered rule with some parameters fixed and a list of named ones
//     searched (Taylor/polynomial terms, a feedback scale, a term pool's weights);
//   - array spaces whose size depends on the student (ABCD coefficients shared per layer,
//     neuron or synapse: rules/abcd.hpp), built from the network's shape.
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/learning_rule.hpp"
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

}  // namespace plast
