#pragma once
// The `rule:` section of a study: which rule space is searched, from where, within which
// bounds, and with which L1 penalty. Read (and validated) from YAML, written back to YAML so
// that load → save → load gives the same spec, and turned into the RuleSpace the evaluator uses.
//
//   rule:
//     type: polynomial_hebbian       # a registered rule
//     params: {normalize: 0}         # fixed parameters (the rest keep their defaults)
//     terms: all                     # or [pre*post, post^2*w]: coefficients searched with `each`
//     each: {init: 0, lower: -1, upper: 1}
//     search:                        # named parameters with their own init and bounds
//       feedback_scale: {init: 1, lower: 0, upper: 4}
//     l1: 3e-3                       # fitness += l1 · Σ|θ_k|  (default 0)
//
// Array spaces (rules/abcd.hpp) give every coordinate the same `each` and size θ from the
// student's shape and a sharing level:
//
//   rule: {type: abcd, sharing: synapse, params: {normalize: 1}, each: {init: 0, lower: -10, upper: 10}}
//
// and searched feedback weights (rules/feedback_space.hpp) for feedback_alignment and
// direct_feedback_alignment:
//
//   rule: {type: feedback_alignment, search_feedback: true, each: {init: 0, lower: -1, upper: 1}}
//
// and Meta-SGD's learned initialization and per-parameter (or per-layer) learning rates
// (rules/meta_sgd.hpp: offsets in Glorot units, rates as log factors of params.lr):
//
//   rule: {type: meta_sgd, learn: both, rates: parameter, params: {lr: 0.01}, each: {init: 0, lower: -5, upper: 5}}
//
// and a teacher's weights (rules/teacher_signal.hpp: log gains of the random pathway, then the
// linear map and the tanh MLP from [y, yhat, e] to every hidden unit, in Glorot units):
//
//   rule: {type: teacher_signal, search_teacher: true, params: {hidden: 8}, each: {init: 0, lower: -4, upper: 4}}
//
// θ's order: the `terms` (in the rule's declared order for `all`, else as listed), then the
// `search` entries not among them, in file order. A term named in both takes `search`'s values.
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "lib/config.hpp"
#include "lib/mlp.hpp"
#include "lib/params.hpp"
#include "rules/rule_space.hpp"

namespace plast {

struct SearchedParam {
  std::string name;
  double init = 0.0, lower = 0.0, upper = 0.0;
  bool operator==(const SearchedParam&) const = default;
};

struct RuleSpec {
  std::string type;
  ParamValues fixed;                      // given, not searched
  std::vector<SearchedParam> searched;    // θ's coordinates, in order (named spaces)
  std::string sharing;                    // abcd's array spaces: global | layer | neuron | synapse
  bool search_feedback = false;           // FA/DFA: θ is the feedback matrices
  bool search_teacher = false;            // teacher_signal: θ is the teacher's weights
  std::string learn;                      // meta_sgd's array spaces: init | rates | both
  std::string rates;                      // meta_sgd, when rates are learned: parameter | layer
  SearchedParam each;                     // array spaces: init and bounds of every coordinate
  double l1 = 0.0;
  bool operator==(const RuleSpec&) const = default;

  bool array_space() const { return !sharing.empty() || search_feedback || search_teacher || !learn.empty(); }
  // θ0 and bounds of a space of `dimension` coordinates (a named space's own size).
  Eigen::VectorXd init(int dimension) const;
  Eigen::VectorXd lower(int dimension) const;
  Eigen::VectorXd upper(int dimension) const;
};

// Validates every value (file:line:col errors): unknown rule, term or parameter names with the
// nearest suggested, a term whose degree is out of range, bounds, init outside them, l1 < 0.
RuleSpec read_rule_spec(const ConfigNode& rule);
// The spec as a YAML block (flow maps, every number exact): what `plast inspect` shows and
// what read_rule_spec reads back to the same spec.
std::string rule_spec_yaml(const RuleSpec& spec);
// `shape` (the student's network) sizes array spaces; named spaces ignore it.
std::shared_ptr<const RuleSpace> make_rule_space(const RuleSpec& spec, const MlpShape& shape);

}  // namespace plast
