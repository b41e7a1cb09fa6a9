// OpenAI-ES with Najarro & Risi 2020's per-generation decays (search/openai_es.hpp):
// σ_g = σ·sigma_decay^g and lr_g = lr·lr_decay^g, the noise recovered with σ_g in tell(), and
// a decayed state that checkpoints and resumes exactly.
#include <doctest/doctest.h>

#include <cmath>

#include "search/fitness_shaping.hpp"
#include "search/openai_es.hpp"
#include "search/registry.hpp"
#include "search/test_functions.hpp"

using namespace plast;

namespace {

OpenAiEsOptions decaying() {
  OpenAiEsOptions o;
  o.sigma = 0.1;
  o.lr = 0.2;
  o.population = 8;
  o.optimizer = EsOptimizer::sgd;
  o.lr_decay = 0.995;
  o.sigma_decay = 0.999;
  return o;
}

Eigen::VectorXd sphere_fitness(const Eigen::MatrixXd& pop) {
  Eigen::VectorXd f(pop.rows());
  for (Eigen::Index i = 0; i < pop.rows(); ++i) f(i) = sphere(pop.row(i).transpose());
  return f;
}

StrategyState run(const OpenAiEs& es, StrategyState s, int generations, int first = 0) {
  for (int g = first; g < first + generations; ++g) {
    RandomStream rng(7, Purpose::strategy, {static_cast<std::uint64_t>(g)});
    const Eigen::MatrixXd pop = es.ask(s, rng);
    s = es.tell(s, pop, sphere_fitness(pop));
  }
  return s;
}

}  // namespace

TEST_SUITE("search/nes") {
  TEST_CASE("OpenAI-ES decays: after g generations σ = σ0·0.999^g and lr = lr0·0.995^g, and ask() samples with that σ") {
    const OpenAiEs es(decaying());
    const Eigen::VectorXd x0 = Eigen::VectorXd::Constant(5, 1.0);
    StrategyState s = es.init(x0);
    CHECK(es.step_size(s) == 0.1);
    CHECK(es.learning_rate(s) == 0.2);
    s = run(es, s, 30);
    CHECK(s.as<OpenAiEsState>().generation == 30);
    CHECK(es.step_size(s) == doctest::Approx(0.1 * std::pow(0.999, 30)).epsilon(1e-14));
    CHECK(es.sigma(s) == es.step_size(s));
    CHECK(es.learning_rate(s) == doctest::Approx(0.2 * std::pow(0.995, 30)).epsilon(1e-14));
    // The population of generation 30 is μ ± σ_30·ε with ε the stream's normals.
    RandomStream rng(9, Purpose::strategy, {30}), same(9, Purpose::strategy, {30});
    const Eigen::MatrixXd pop = es.ask(s, rng);
    const Eigen::VectorXd mu = es.mean(s);
    for (int j = 0; j < 4; ++j)
      for (int i = 0; i < 5; ++i) {
        const double eps = static_cast<double>(same.normal());
        CHECK(pop(j, i) == mu(i) + es.sigma(s) * eps);
        CHECK(pop(j + 4, i) == mu(i) - es.sigma(s) * eps);
      }
    // tell() recovers ε with σ_30 and steps with lr_30: μ ← μ − lr_30 · g.
    const Eigen::VectorXd f = sphere_fitness(pop);
    const Eigen::VectorXd g = es.gradient(pop, f, es.sigma(s));
    const StrategyState next = es.tell(s, pop, f);
    CHECK((es.mean(next) - (mu - es.learning_rate(s) * g)).cwiseAbs().maxCoeff() < 1e-15);
    // The same gradient as from the true noise: ε recovered from the population is the stream's.
    Eigen::MatrixXd eps(8, 5);
    RandomStream again(9, Purpose::strategy, {30});
    for (int j = 0; j < 4; ++j)
      for (int i = 0; i < 5; ++i) {
        eps(j, i) = static_cast<double>(again.normal());
        eps(j + 4, i) = -eps(j, i);
      }
    Eigen::VectorXd u = shape_fitness(Shaping::centered_ranks, f);
    CHECK((g - openai_es_gradient(eps, u, es.sigma(s))).cwiseAbs().maxCoeff() < 1e-9 * g.norm());
  }

  TEST_CASE("OpenAI-ES decays: the decayed state saves and loads exactly, and a resumed run equals an uninterrupted one") {
    const OpenAiEs es(decaying());
    const StrategyState start = es.init(Eigen::VectorXd::LinSpaced(4, -1.0, 2.0));
    const StrategyState whole = run(es, start, 20);
    const StrategyState half = run(es, start, 10);
    const std::string bytes = half.save();
    const StrategyState loaded = es.load(bytes);
    CHECK(loaded == half);
    CHECK(loaded.save() == bytes);
    CHECK(es.step_size(loaded) == es.step_size(half));
    const StrategyState resumed = run(es, loaded, 10, 10);
    CHECK(resumed == whole);
    CHECK(resumed.save() == whole.save());
  }

  TEST_CASE("OpenAI-ES decays: the defaults (1) keep σ and lr fixed, as before; the registry takes both keys") {
    OpenAiEsOptions o;
    o.population = 6;
    const OpenAiEs es(o);
    const StrategyState s = run(es, es.init(Eigen::VectorXd::Ones(3)), 5);
    CHECK(es.step_size(s) == o.sigma);
    CHECK(es.learning_rate(s) == o.lr);
    const auto made = strategy_registry().make("openai_es", {{"lr_decay", 0.995}, {"sigma_decay", 0.999}, {"sigma", 0.1}});
    CHECK(made->step_size(made->init(Eigen::VectorXd::Ones(3))) == 0.1);
    CHECK_THROWS(strategy_registry().make("openai_es", {{"sigma_decay", 1.5}}));
    CHECK_THROWS(strategy_registry().make("openai_es", {{"lr_decay", 0.0}}));
  }
}
