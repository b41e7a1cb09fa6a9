// Registers the natural-gradient and gradient-estimating strategies (search/nes.hpp,
// search/openai_es.hpp, search/pgpe.hpp) and the random-search baseline
// (search/random_search.hpp). Each entry's parameters are its options' ParamSpecs, so
// `plast list strategies` shows the defaults documented in the headers.
#include <memory>

#include "search/nes.hpp"
#include "search/openai_es.hpp"
#include "search/pgpe.hpp"
#include "search/random_search.hpp"
#include "search/registry.hpp"

namespace plast {

void register_nes_strategies(StrategyRegistry& registry) {
  registry.add({"snes",
                "separable natural evolution strategy, diagonal σ (Schaul, Glasmachers & Schmidhuber 2011)",
                SnesOptions::specs(),
                [](const ParamValues& p) { return std::make_shared<const Snes>(SnesOptions::from_params(p)); }});
  registry.add({"xnes",
                "exponential natural evolution strategy, full covariance A = σB (Glasmachers et al. 2010)",
                XnesOptions::specs(),
                [](const ParamValues& p) { return std::make_shared<const Xnes>(XnesOptions::from_params(p)); }});
  registry.add({"openai_es",
                "antithetic ES gradient with centered ranks and SGD/momentum/Adam on the mean (Salimans et al. 2017)",
                OpenAiEsOptions::specs(),
                [](const ParamValues& p) { return std::make_shared<const OpenAiEs>(OpenAiEsOptions::from_params(p)); }});
  registry.add({"pgpe",
                "parameter-exploring policy gradients, symmetric sampling and reward normalisation (Sehnke et al. 2010)",
                PgpeOptions::specs(),
                [](const ParamValues& p) { return std::make_shared<const Pgpe>(PgpeOptions::from_params(p)); }});
  registry.add({"random_search",
                "Gaussian random search with fixed σ around the best point so far (Rastrigin 1963; Matyas 1965)",
                RandomSearchOptions::specs(),
                [](const ParamValues& p) {
                  return std::make_shared<const RandomSearch>(RandomSearchOptions::from_params(p));
                }});
}

}  // namespace plast
