#pragma once
// Dropout for backprop training (Srivastava, Hinton, Krizhevsky, Sutskever & Salakhutdinov 2014,
// "Dropout: a simple way to prevent neural networks from overfitting", JMLR 15; Hinton, Vinyals &
// Dean 2015 §3 trained their distillation teacher with it): at every training step each hidden
// unit of each sample is dropped with probability p, and the survivors are scaled by 1/(1−p), so
// the network is used unchanged at test time. The masks live in the training ForwardCache
// (lib/mlp.hpp), which forward() and the backward pass (lib/gradient.cpp) both apply; train()
// draws them from the keyed stream (student seed, Purpose::dropout, {step}), so they depend on
// neither the thread count nor the schedule. Set by `network: {dropout: p}` (StudentSpec).
#include "lib/mlp.hpp"
#include "lib/random.hpp"

namespace plast {

// Redraws every mask of `cache` (which must have dropout enabled): entry by entry, layer by
// layer, row-major, 0 when uniform() < p, else 1/(1−p). Allocates nothing.
void draw_dropout_masks(ForwardCache& cache, float p, RandomStream& rng);

}  // namespace plast
