#pragma once
// `plast train`: trains students with one or more rules on one task over several seeds
// (in parallel, deterministically), prints a per-epoch table, a summary, writes the curves
// as CSV and, with --json, ends stdout with one JSON object.
#include <CLI/CLI.hpp>

namespace plast {

void add_train_command(CLI::App& app);

}  // namespace plast
