#pragma once
// What a search found, explained: the best rule as a formula, pruned to its largest
// terms and refit, compared with known rules by what they do rather than by their numbers.
//
// Discovered rules are degenerate (many coefficient sets do the same job), so comparisons are
// functional: the rule trains students on held-out tasks while a recorder samples synapses
// (pre_j, post_i, w_ij and the rule's Δw_ij); a known rule's distance is how much of the found
// rule's Δw on that activity it fails to explain after the best non-negative scaling,
//   d = ‖Δw − c·Δw_known‖ / ‖Δw‖ minimized over c ≥ 0  =  sin∠ (1 when anti-aligned).
// Prune-and-refit keeps the k terms with the largest |θ_k|·rms(φ_k) and refits their
// coefficients to the recorded Δw by least squares (Ceres), so the pruned rule reproduces
// the full rule's updates on the activity the full rule itself produced.
#include <optional>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/learning_rule.hpp"
#include "search/study.hpp"

namespace plast {

// pre^a · post^b · w^c · m^d, parsed from a term name ("pre*post^2*w", "1").
struct Monomial {
  int pre = 0, post = 0, w = 0, m = 0;
  double operator()(double x, double y, double weight, double mod) const;
};
std::optional<Monomial> parse_monomial(const std::string& name);
// "pre·post²·w" for "pre*post^2*w".
std::string pretty_term(const std::string& name);

struct Term {
  std::string name;
  double coefficient = 0.0;
};

// "Δw ∝ 1.00·pre·post − 0.85·post²·w + …" : largest |coefficient| first, normalized by it;
// terms below `smallest` (relative) are summarized as "+ N smaller terms".
std::string formula(std::vector<Term> terms, double smallest = 0.01);

// One recorded synapse at one step (m = 0 when the rule has no third factor to report).
struct SynapseSample {
  double pre = 0.0, post = 0.0, w = 0.0, m = 0.0, dw = 0.0;
  int group = 0;   // task × layer: statistics (means) of known rules are taken within it
};

// Trains `rule` one sample per step (local rules' Δw is a batch mean of per-sample terms, so
// batch 1 loses nothing) on `tasks` meta-test tasks of the study, for at most `max_steps`
// steps each, and records `per_step` random synapses per step.
std::vector<SynapseSample> record_synapses(const StudySpec& spec, const LearningRule& rule, int tasks,
                                           long long max_steps, int per_step);

struct Refit {
  std::vector<Term> terms;   // the kept terms with refit coefficients
  double r2 = 0.0;           // fraction of the recorded Δw's variance they explain
};
// Keeps `keep` terms (0: the elbow — terms are added, at most 6, while each explains at least
// 1% more of Δw's variance) and refits them.
// Terms must be monomials; returns nothing when one is not.
std::optional<Refit> prune_and_refit(const std::vector<Term>& terms, const std::vector<SynapseSample>& samples,
                                     int keep = 0);

// Known rules, each a function of one synapse's activity and its group's means.
struct KnownRule {
  std::string name;
  std::string formula;
  std::string source;
};
const std::vector<KnownRule>& known_rules();
struct Nearest {
  std::string name;
  double distance = 1.0;
  std::vector<std::pair<std::string, double>> all;   // every known rule's distance, nearest first
};
Nearest nearest_known_rule(const std::vector<SynapseSample>& samples);

}  // namespace plast
