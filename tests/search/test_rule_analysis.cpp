// Rule analysis and refinement on problems with known answers: prune-and-refit recovers the
// coefficients of a polynomial rule from its own recorded updates, the nearest known rule of
// Oja's and Hebb's rules is themselves, formulas read as written, and Ceres refinement moves a
// mis-scaled Oja rule toward the ratio 1 that PCA needs.
#include <doctest/doctest.h>

#include <cmath>

#include "rules/registry.hpp"
#include "search/refine.hpp"
#include "search/rule_analysis.hpp"
#include "search/study.hpp"

using namespace plast;

namespace {

StudySpec pca_study() {
  return load_study(ConfigNode::load_string("kind: search\nname: t\nseed: 2\n"
                                            "rule: {type: polynomial_hebbian, search: {pre*post: {init: 0, lower: -2, upper: 2},"
                                            " post^2*w: {init: 0, lower: -2, upper: 2}}}\n"
                                            "task: {type: pca, steps: 600, samples: 4, held_out: 8}\n"
                                            "student: {activation: linear}\noptimizer: {type: sgd, lr: 0.02}\n"
                                            "training: {epochs: 1, batch: 1}\nstrategy: {type: cma_es}\n",
                                            "t.yaml"));
}

std::shared_ptr<const LearningRule> polynomial(const ParamValues& coefficients) {
  ParamValues p;
  for (const auto& spec : rule_registry().get("polynomial_hebbian").params)
    if (spec.coefficient) p[spec.name] = 0.0;
  for (const auto& [k, v] : coefficients) p[k] = v;
  return rule_registry().make("polynomial_hebbian", p);
}

}  // namespace

TEST_SUITE("search/analysis") {
  TEST_CASE("monomials parse from their names and print as formulas") {
    const auto m = parse_monomial("pre*post^2*w");
    REQUIRE(m);
    CHECK(m->pre == 1);
    CHECK(m->post == 2);
    CHECK(m->w == 1);
    CHECK(m->m == 0);
    CHECK((*m)(2.0, 3.0, 0.5, 7.0) == doctest::Approx(9.0));
    CHECK(parse_monomial("1"));
    CHECK_FALSE(parse_monomial("pseudo_grad"));
    CHECK_FALSE(parse_monomial("pre^3"));
    CHECK_FALSE(parse_monomial("pre*pre"));
    CHECK(pretty_term("pre^2*post*w^2") == "pre²·post·w²");
    CHECK(formula({{"pre*post", 0.5}, {"post^2*w", -0.55}, {"1", 0.001}}) ==
          "Δw ∝ −1.00·post²·w + 0.91·pre·post + 1 smaller term   (scale 0.55)");
    CHECK(formula({}) == "Δw = 0");
  }

  TEST_CASE("prune-and-refit recovers a rule's own coefficients from its recorded updates") {
    const StudySpec spec = pca_study();
    const auto rule = polynomial({{"pre*post", 0.8}, {"post^2*w", -0.7}, {"pre", 0.004}, {"w^2", -0.002}});
    const auto samples = record_synapses(spec, *rule, 2, 400, 4);
    REQUIRE(samples.size() == 2 * 400 * 4);
    const std::vector<Term> terms = {{"pre", 0.004}, {"pre*post", 0.8}, {"w^2", -0.002}, {"post^2*w", -0.7}};
    // All four terms: Δw is exactly linear in them, so the fit is exact.
    const auto all = prune_and_refit(terms, samples, 4);
    REQUIRE(all);
    CHECK(all->r2 > 1 - 1e-9);
    for (const auto& t : all->terms) {
      for (const auto& u : terms)
        if (u.name == t.name) CHECK(t.coefficient == doctest::Approx(u.coefficient).epsilon(1e-4));
    }
    // Pruned to two: the Oja pair, by importance, still close to its values.
    const auto two = prune_and_refit(terms, samples, 2);
    REQUIRE(two->terms.size() == 2);
    CHECK(two->terms[0].name == "pre*post");
    CHECK(two->terms[1].name == "post^2*w");
    CHECK(two->terms[0].coefficient == doctest::Approx(0.8).epsilon(0.05));
    CHECK(two->terms[1].coefficient == doctest::Approx(-0.7).epsilon(0.05));
    // The elbow keeps the two that matter.
    CHECK(prune_and_refit(terms, samples)->terms.size() == 2);
    // Non-monomial terms cannot be refit.
    CHECK_FALSE(prune_and_refit({{"pseudo_grad", 1.0}}, samples));
  }

  TEST_CASE("the nearest known rule of Oja's rule is Oja, of Hebb's rule Hebb, at any scale") {
    const StudySpec spec = pca_study();
    const auto oja = nearest_known_rule(record_synapses(spec, *polynomial({{"pre*post", 0.3}, {"post^2*w", -0.3}}), 2, 300, 4));
    CHECK(oja.name == "oja");
    CHECK(oja.distance < 1e-6);
    // Hebb grows without bound: record only the first steps.
    const auto hebb = nearest_known_rule(record_synapses(spec, *polynomial({{"pre*post", 0.05}}), 2, 20, 4));
    CHECK(hebb.name == "hebb");
    CHECK(hebb.distance < 1e-6);
    // Anti-Hebb is as far from Hebb as it gets.
    for (const auto& [name, d] : hebb.all)
      if (name == "anti_hebb") CHECK(d == 1.0);
  }

  TEST_CASE("Ceres refinement moves a mis-scaled Oja rule toward the identifiable ratio 1") {
    const StudySpec spec = pca_study();
    const auto space = spec.evaluation.space;
    Eigen::VectorXd start(2), lower(2), upper(2);
    start << 0.5, -0.2;   // ‖w‖ settles at sqrt(0.5 / 0.2): far from 1
    lower << -2, -2;
    upper << 2, 2;
    RefineOptions options;
    options.tasks = 8;
    options.max_iterations = 15;
    const Refinement r = refine(spec, space, start, lower, upper, options);
    CHECK(r.objective_after < 0.5 * r.objective_before);
    CHECK(r.evaluations > 0);
    CHECK(r.kept);
    CHECK(r.heldout_after < r.heldout_before);
    const double ratio = -r.refined(1) / r.refined(0);
    CHECK(ratio > 0.85);
    CHECK(ratio < 1.15);
  }
}
