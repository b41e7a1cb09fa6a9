#pragma once
// `plast list rules|tasks`: every registered component with its parameters.
#include <CLI/CLI.hpp>

namespace plast {

void add_list_command(CLI::App& app);

}  // namespace plast
