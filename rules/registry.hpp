#pragma once
// The registry of learning rules. Adding a rule: write rules/<name>.hpp/.cpp and add one
// entry in rules/registry.cpp (README, "How to add a rule"); a rule with its own search space
// (rules/rule_space.hpp, RuleSpaceFactory) passes the factory with that same entry.
#include <map>
#include <optional>
#include <string>

#include "lib/learning_rule.hpp"
#include "lib/registry.hpp"
#include "rules/rule_space.hpp"

namespace plast {

class RuleRegistry : public Registry<LearningRule> {
 public:
  using Registry<LearningRule>::Registry;

  // Throws plast::Error when a parameter or a key of `space` is also a key of a study's `rule:`
  // section (rule_section_keys()), or a parameter is also a key of `space`: both are written
  // in that one section.
  void add(Entry entry, std::optional<RuleSpaceFactory> space = std::nullopt);
  // The rule's own search space, or nullptr: a study searches its named parameters.
  const RuleSpaceFactory* space(const std::string& rule) const;

 private:
  std::map<std::string, RuleSpaceFactory> spaces_;
};

void register_rules(RuleRegistry& registry);
// The registry with every rule plast ships, built once.
const RuleRegistry& rule_registry();

}  // namespace plast
