#pragma once
// The `rule:` section of a study: which rule space is searched, from where, within which
// bounds, and with which L1 penalty. Read (and validated) from YAML, written back to YAML so
// that load → save → load gives the same spec, and turned into the RuleSpace the evaluator uses.
// The rule's parameters are written inline, as everywhere in plast; those given are fixed.
//
//   rule:
//     type: polynomial_hebbian       # a registered rule
//     normalize: 0                   # fixed parameters (the rest keep their defaults)
//     terms: all                     # or [pre*post, post^2*w]: coefficients searched with `each`
//     each: {init: 0, lower: -1, upper: 1}
//     search:                        # named parameters with their own init and bounds
//       feedback_scale: {init: 1, lower: 0, upper: 4}
//     l1: 3e-3                       # fitness += l1 · Σ|θ_k|  (default 0)
//
// A rule may bring its own search space (RuleSpaceFactory, rules/rule_space.hpp, registered with
// the rule): its keys stand in the same section, and when they choose it θ is an array — sized
// from the student's shape — whose every coordinate takes the same `each`, e.g. (rules/abcd.hpp)
//
//   rule: {type: abcd, sharing: synapse, normalize: 1, each: {init: 0, lower: -10, upper: 10}}
//
// The section's keys are therefore: type, search, terms, each, l1 (rule_section_keys()), the
// rule's parameters and its space's keys; `plast list rules` names each rule's parameters.
//
// θ's order (named spaces): the `terms` (in the rule's declared order for `all`, else as
// listed), then the `search` entries not among them, in file order. A term named in both takes
// `search`'s values.
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
  SpaceOptions space;                     // the keys of the rule's own space, as it read them
  SearchedParam each;                     // array spaces: init and bounds of every coordinate
  double l1 = 0.0;
  bool operator==(const RuleSpec&) const = default;

  // The rule's own space is searched (its keys chose it), not its named parameters.
  bool array_space() const { return !space.empty(); }
  // θ0 and bounds of a space of `dimension` coordinates (a named space's own size).
  Eigen::VectorXd init(int dimension) const;
  Eigen::VectorXd lower(int dimension) const;
  Eigen::VectorXd upper(int dimension) const;
};

// Validates every value (file:line:col errors): unknown rule, term, parameter or key names with
// the nearest suggested (a key of another rule's space names that rule), a term whose degree
// is out of range, bounds, init outside them, l1 < 0, and whatever the rule's space checks.
RuleSpec read_rule_spec(const ConfigNode& rule);
// The spec as a YAML block (flow maps, every number exact): what `plast inspect` shows and
// what read_rule_spec reads back to the same spec.
std::string rule_spec_yaml(const RuleSpec& spec);
// `shape` (the student's network) sizes array spaces; named spaces ignore it.
std::shared_ptr<const RuleSpace> make_rule_space(const RuleSpec& spec, const MlpShape& shape);

}  // namespace plast
