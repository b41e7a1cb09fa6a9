#pragma once
// `plast ensemble MEMBER... --out FILE`: several trained networks (`plast train --save-weights`)
// merged into one whose logits are the mean of theirs (lib/ensemble.hpp), so an ensemble can be a
// distillation teacher; with --task, each member's and the ensemble's validation and test
// accuracy on that task's split for --seed.
#include <CLI/CLI.hpp>

namespace plast {

void add_ensemble_command(CLI::App& app);

}  // namespace plast
