#pragma once
// The TBB settings every command that trains students in parallel needs: room on worker
// stacks (Eigen keeps its GEMM blocks on the stack, see CMakeLists.txt) and an optional cap
// on the number of threads (--threads; results never depend on it). Held for the command's life.
#include <tbb/global_control.h>

#include <memory>
#include <optional>

#include "lib/error.hpp"

namespace plast {

class WorkerThreads {
 public:
  explicit WorkerThreads(std::optional<int> threads)
      : stack_(tbb::global_control::thread_stack_size, std::size_t{16} << 20) {
    if (!threads) return;
    if (*threads < 1) throw InvalidValue("--threads", *threads, "must be >= 1");
    limit_ = std::make_unique<tbb::global_control>(tbb::global_control::max_allowed_parallelism,
                                                   static_cast<std::size_t>(*threads));
  }

 private:
  tbb::global_control stack_;
  std::unique_ptr<tbb::global_control> limit_;
};

}  // namespace plast
