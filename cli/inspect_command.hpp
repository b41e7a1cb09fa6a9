#pragma once
// `plast inspect STORE`: what a study found and what it means — best θ by name, the fitness
// history, the rule as a formula (largest terms first), the pruned-and-refit formula, the
// nearest known rule by functional distance, and held-out scores of the found rule beside
// backprop, FA and hand-written reference rules in the same harness (search/rule_analysis.hpp).
#include <CLI/CLI.hpp>

namespace plast {

void add_inspect_command(CLI::App& app);

}  // namespace plast
