#pragma once
// The registry of search strategies (ask/tell, all minimizing). Each family registers its
// entries from its own file; strategy_registry() lists them all, and the strategy tests loop
// over it, so a new strategy is tested the moment it is registered (evosax's convention).
#include "lib/registry.hpp"
#include "search/strategy.hpp"

namespace plast {

using StrategyRegistry = Registry<Strategy>;

void register_cma_strategies(StrategyRegistry& registry);   // search/cma_es.cpp, search/sep_cma_es.cpp
void register_nes_strategies(StrategyRegistry& registry);   // search/nes.cpp, openai_es.cpp, pgpe.cpp, random_search.cpp
const StrategyRegistry& strategy_registry();

}  // namespace plast
