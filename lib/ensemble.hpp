#pragma once
// An ensemble of trained networks as one network, so that everything that takes a teacher file
// (distillation, tasks/distillation.hpp) can take an ensemble: Hinton, Vinyals & Dean (2015, §1
// and §5) distil ensembles, whose averaged predictions are better than any member's. The
// ensemble's output is the mean of the members' output pre-activations (logits), z = (1/K) Σ_k z_k;
// under a softmax that is the normalized geometric mean of the members' distributions, at any
// temperature (softmax(z/T) ∝ Π_k softmax(z_k/T)^(1/K)) — one of the two averages Hinton et al.
// name.
//
// Layer by layer the members sit side by side: the first layer stacks their W_0 (they read the
// same input), deeper hidden layers are block-diagonal (member k's units feed only member k's),
// and the output layer concatenates the W_out/K with the mean bias. The file therefore holds
// K·n_l units per hidden layer and, beyond the first, K² blocks of which K are non-zero: a
// network of Σ_k P_k parameters stored in more floats. Count the members' parameters
// (ensemble_parameters), not the merged network's, when comparing sizes.
#include <vector>

#include "lib/mlp.hpp"

namespace plast {

// Throws plast::Error when there are no members, or when a member's input or output size, depth,
// hidden or output activation differs from the first member's ("member 2 is 784-30-10 relu:
// member 1 is 784-1200-1200-10 relu"), or when the output is not linear (an average of logits
// needs them). Hidden widths may differ between members.
Mlp logit_ensemble(const std::vector<Mlp>& members);

// Σ_k P_k: the members' own parameter count.
long ensemble_parameters(const std::vector<Mlp>& members);

}  // namespace plast
