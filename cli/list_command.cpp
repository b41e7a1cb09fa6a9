#include "cli/list_command.hpp"

#include <iostream>

#include "lib/error.hpp"
#include "rules/registry.hpp"
#include "search/registry.hpp"
#include "tasks/registry.hpp"

namespace plast {
namespace {

template <class T>
void print_registry(const Registry<T>& registry) {
  for (const auto& e : registry.entries()) {
    std::cout << e.name << "\n    " << e.summary << "\n";
    for (const auto& p : e.params) std::cout << "    " << describe(p) << "\n";
  }
}

}  // namespace

void add_list_command(CLI::App& app) {
  auto what = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("list", "List registered components and their parameters");
  cmd->add_option("kind", *what, "rules, tasks or strategies")
      ->required()
      ->check(CLI::IsMember({"rules", "tasks", "strategies"}));
  cmd->callback([what] {
    if (*what == "rules") print_registry(rule_registry());
    else if (*what == "tasks") print_registry(task_registry());
    else print_registry(strategy_registry());
  });
}

}  // namespace plast
