#pragma once
// A trained network on disk, so that one run can reuse another's weights: a distillation
// teacher is trained once (`plast train --save-weights FILE`) and read by every student run
// (tasks/distillation.hpp). The format is small and self-describing:
//   line 1: "plast-mlp 1"
//   line 2: "sizes 784 1200 1200 10 hidden relu output linear"
//   then, per layer l, W_l (n_{l+1} × n_l, row-major) and b_l as little-endian float32.
// Reading checks the header, the activations and that the file holds exactly the floats
// the sizes promise, so a truncated or foreign file is one clear error line.
#include <string>

#include "lib/mlp.hpp"

namespace plast {

// Throws plast::Error ("PATH: cannot write file") when the file cannot be written.
void save_weights(const Mlp& net, const std::string& path);

// Throws plast::Error naming the path and the problem ("PATH: file not found (write it with
// `plast train ... --save-weights PATH`)", "PATH: not a plast weights file", "PATH: truncated").
Mlp load_weights(const std::string& path);

}  // namespace plast
