#pragma once
// `plast bench`: this machine's GEMM roofline at the shapes of a 784-256-256-10 MLP with
// batch 64, and the single-thread training throughput of backprop and feedback alignment
// as a fraction of it.
#include <CLI/CLI.hpp>

namespace plast {

void add_bench_command(CLI::App& app);

}  // namespace plast
