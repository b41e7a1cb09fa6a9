#pragma once
// Fitness shaping: turns raw fitness (lower is better) into the utilities a strategy weighs
// its samples by. A separate, named piece (DESIGN.md), so every strategy can use any of them.
// NaN fitness (a diverged student) always ranks worst.
//   identity       u = f
//   z_score        u = (f − mean) / sd
//   centered_ranks u = rank/(λ−1) − ½ ∈ [−½, ½], best (lowest f) = −½
//                  (Salimans et al. 2017, "Evolution strategies as a scalable alternative to RL")
//   cma_weights    u_i = w_rank(i): Hansen's log-rank recombination weights, positive for the best
//                  μ = ⌊λ/2⌋ and zero for the rest (Hansen 2016, "The CMA evolution strategy: a
//                  tutorial", eq. 49 without the negative part)
// Utilities keep the orientation "lower is better" except cma_weights, which are ≥ 0 and
// largest for the best.
#include <string>
#include <vector>

#include <Eigen/Core>

namespace plast {

enum class Shaping { identity, z_score, centered_ranks, cma_weights };

Shaping parse_shaping(const std::string& name);   // throws plast::Error listing the known ones
const std::vector<std::string>& shaping_names();

// Indices of `fitness` from best to worst; NaN last, ties broken by index (deterministic).
std::vector<int> rank_order(const Eigen::VectorXd& fitness);

Eigen::VectorXd shape_fitness(Shaping shaping, const Eigen::VectorXd& fitness);

}  // namespace plast
