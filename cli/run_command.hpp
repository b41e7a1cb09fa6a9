#pragma once
// `plast run STUDY.yaml` (search for a rule, committing every generation to the study's store;
// --resume continues a killed study exactly) and `plast validate STUDY.yaml` (check everything,
// run nothing).
#include <CLI/CLI.hpp>

namespace plast {

void add_run_command(CLI::App& app);
void add_validate_command(CLI::App& app);

}  // namespace plast
