#pragma once
// The Strategy interface (DESIGN.md, "Central interfaces"): ask/tell with explicit state, in
// the style of evosax. A strategy is immutable (its hyper-parameters are fixed when it is
// built); everything that changes lives in a StrategyState, which is plain data that
// serializes exactly (the checkpoint). Every strategy minimizes. Randomness comes only from
// the RandomStream handed to ask(), keyed by (study seed, generation) by the caller.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/params.hpp"
#include "lib/random.hpp"

namespace plast {

// Named double arrays and counters. Strategies keep all their mutable data here, so that
// checkpointing, resuming and comparing states need no strategy-specific code.
struct StrategyState {
  std::map<std::string, Eigen::MatrixXd> arrays;   // e.g. "mean" (n×1), "C" (n×n), "sigma" (1×1)
  std::map<std::string, std::int64_t> counters;    // e.g. "generation", "evaluations", "restarts"

  Eigen::MatrixXd& array(const std::string& name) { return arrays.at(name); }
  const Eigen::MatrixXd& array(const std::string& name) const { return arrays.at(name); }
  double scalar(const std::string& name) const { return arrays.at(name)(0, 0); }
  void set_scalar(const std::string& name, double v) { arrays[name] = Eigen::MatrixXd::Constant(1, 1, v); }

  // Exact binary form (doubles as their bytes): load(save(s)) == s, save(load(b)) == b.
  std::string save() const;
  static StrategyState load(const std::string& bytes);   // throws plast::Error when corrupt
  bool operator==(const StrategyState& other) const;
};

class Strategy {
 public:
  virtual ~Strategy() = default;
  virtual std::string name() const = 0;
  // The state at θ0 for a problem of dimension θ0.size().
  virtual StrategyState init(const Eigen::VectorXd& theta0) const = 0;
  // A population, one candidate per row (λ × n). Must not change the state.
  virtual Eigen::MatrixXd ask(const StrategyState& state, RandomStream& rng) const = 0;
  // The next state, given the population that ask() returned and its fitness (lower is
  // better; NaN ranks worst).
  virtual StrategyState tell(const StrategyState& state, const Eigen::MatrixXd& population,
                             const Eigen::VectorXd& fitness) const = 0;
  // The current estimate of the optimum (the distribution mean for most strategies).
  virtual Eigen::VectorXd mean(const StrategyState& state) const = 0;
  // The overall step size σ, for the per-generation statistics.
  virtual double step_size(const StrategyState& state) const = 0;
};

}  // namespace plast
