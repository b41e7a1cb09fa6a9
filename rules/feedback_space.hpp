#pragma once
// Searched feedback weights: the feedback matrices of feedback alignment (B_l, the shape of
// W_lᵀ, for l = 1 … L−1) or of direct feedback alignment (D_l, n_{l+1} × n_out, for the hidden
// layers) as θ, so that an evolution strategy can shape the feedback pathway itself instead of
// drawing it at random (cf. Lansdell, Prakash & Kording 2020, who learn it by node
// perturbation). θ is the matrices' entries, layer by layer, each
// matrix row-major; names "B[l1][i0][j3]" (FA) or "D[l0][i0][j3]" (DFA). θ = vec(W_lᵀ) makes
// FA exactly backprop for that network.
#include <memory>

#include "lib/mlp.hpp"
#include "rules/rule_space.hpp"

namespace plast {

// `direct`: DFA's D_l; otherwise FA's B_l.
std::shared_ptr<const RuleSpace> feedback_space(const MlpShape& shape, bool direct);
// The space a study's `rule:` section chooses with `search_feedback: true` (for FA, or with
// `direct`, for DFA); `search_feedback: false` leaves the named parameters (scale) searchable:
//   rule: {type: feedback_alignment, search_feedback: true, each: {init: 0, lower: -1, upper: 1}}
RuleSpaceFactory feedback_space_factory(bool direct);

}  // namespace plast
