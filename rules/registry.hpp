#pragma once
// The registry of learning rules. Adding a rule: write rules/<name>.hpp/.cpp and add one
// entry in rules/registry.cpp (README, "How to add a rule").
#include "lib/learning_rule.hpp"
#include "lib/registry.hpp"

namespace plast {

using RuleRegistry = Registry<LearningRule>;

void register_rules(RuleRegistry& registry);
// The registry with every rule plast ships, built once.
const RuleRegistry& rule_registry();

}  // namespace plast
