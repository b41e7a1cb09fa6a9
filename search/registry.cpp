#include "search/registry.hpp"

namespace plast {

const StrategyRegistry& strategy_registry() {
  static const StrategyRegistry registry = [] {
    StrategyRegistry r("strategy");
    register_cma_strategies(r);
    register_nes_strategies(r);
    return r;
  }();
  return registry;
}

}  // namespace plast
