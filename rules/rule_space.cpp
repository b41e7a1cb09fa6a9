#include "rules/rule_space.hpp"

#include "lib/error.hpp"

namespace plast {

const std::vector<std::string>& rule_section_keys() {
  static const std::vector<std::string> keys = {"type", "search", "terms", "each", "l1"};
  return keys;
}

std::string read_choice(const ConfigNode& node, const std::function<std::string(const std::string&)>& normalize) {
  try {
    return normalize(node.as_string());
  } catch (const InvalidValue& e) {
    node.fail(e.problem());
  }
}

NamedRuleSpace::NamedRuleSpace(const Registry<LearningRule>& rules, std::string rule, ParamValues fixed,
                               std::vector<std::string> searched)
    : rules_(rules), rule_(std::move(rule)), fixed_(std::move(fixed)), searched_(std::move(searched)) {
  const auto& entry = rules_.get(rule_);   // unknown names fail here, before any work
  ParamValues all = fixed_;
  for (const auto& name : searched_) all[name] = 0.0;
  complete_params("rule " + rule_, entry.params, all);   // every name must be declared
}

ParamValues NamedRuleSpace::parameters(const Eigen::Ref<const Eigen::VectorXd>& theta) const {
  ParamValues p = fixed_;
  for (std::size_t k = 0; k < searched_.size(); ++k) p[searched_[k]] = theta(static_cast<Eigen::Index>(k));
  return p;
}

std::shared_ptr<const LearningRule> NamedRuleSpace::make(const Eigen::Ref<const Eigen::VectorXd>& theta) const {
  return rules_.make(rule_, parameters(theta));
}

}  // namespace plast
