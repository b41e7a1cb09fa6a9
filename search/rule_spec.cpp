#include "search/rule_spec.hpp"

#include <algorithm>
#include <cstdio>
#include <regex>

#include "lib/config_sections.hpp"
#include "rules/registry.hpp"

namespace plast {
namespace {

std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

Eigen::VectorXd column(const std::vector<SearchedParam>& ps, double SearchedParam::*field) {
  Eigen::VectorXd v(static_cast<Eigen::Index>(ps.size()));
  for (std::size_t k = 0; k < ps.size(); ++k) v(static_cast<Eigen::Index>(k)) = ps[k].*field;
  return v;
}

// Why `name` is not one of the rule's coefficients: a monomial with a power the space does not
// have ("pre^3*post": degree out of range) or simply an unknown name (with the nearest one).
std::string unknown_term(const std::string& name, const std::vector<std::string>& coefficients) {
  static const std::regex power(R"((pre|post|w|m)\^([0-9]+))");
  for (std::sregex_iterator it(name.begin(), name.end(), power), end; it != end; ++it) {
    const int p = std::stoi((*it)[2]);
    const int most = (*it)[1] == "m" ? 1 : 2;
    if (p > most)
      return "degree " + std::to_string(p) + " of " + std::string((*it)[1]) + " out of range (at most " +
             std::to_string(most) + ")";
  }
  const std::string near = nearest(name, coefficients);
  return "unknown term" + (near.empty() ? std::string() : " (did you mean '" + near + "'?)");
}

const ParamSpec* find_param(const std::vector<ParamSpec>& params, const std::string& name) {
  for (const auto& p : params)
    if (p.name == name) return &p;
  return nullptr;
}

SearchedParam read_bounds(const ConfigNode& node, const std::string& name, const ParamSpec& spec) {
  node.expect_keys({"init", "lower", "upper"});
  SearchedParam p{name};
  p.lower = node.get_double("lower", spec.min, Range::closed(spec.min, spec.max));
  p.upper = node.get_double("upper", spec.max, Range::closed(spec.min, spec.max));
  if (p.lower > p.upper)
    node.at(node.has("lower") ? "lower" : "upper")
        .fail("lower bound " + std::to_string(p.lower) + " is above upper bound " + std::to_string(p.upper));
  p.init = node.get_double("init", spec.derived ? p.lower : spec.default_value, Range::closed(p.lower, p.upper));
  return p;
}

// "a", "a and b", "a, b and c".
std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (std::size_t k = 0; k < names.size(); ++k)
    out += (k == 0 ? "" : k + 1 == names.size() ? " and " : ", ") + names[k];
  return out;
}

bool among(const std::string& name, const std::vector<std::string>& names) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// A key that is not `type`'s but another rule's space's: name the rules that take it
// ("rule backprop has no sharing levels (abcd has)") rather than the nearest key.
void refuse_other_spaces_keys(const ConfigNode& rule, const std::string& type, const std::vector<std::string>& own) {
  for (const auto& key : rule.keys()) {
    if (among(key, own)) continue;
    std::vector<std::string> owners;
    std::string what;
    for (const auto& entry : rule_registry().entries())
      if (const RuleSpaceFactory* space = rule_registry().space(entry.name))
        for (const auto& k : space->keys)
          if (k.name == key) {
            owners.push_back(entry.name);
            what = k.what;
          }
    if (!owners.empty())
      rule.at(key).fail("rule " + type + " has no " + what + " (" + joined(owners) + (owners.size() == 1 ? " has)" : " have)"));
  }
}

// `terms` + `each`: many coefficients with the same init and bounds.
void read_terms(const ConfigNode& rule, RuleSpec& s) {
  const auto& entry = rule_registry().get(s.type);
  std::vector<std::string> coefficients, terms;
  for (const auto& p : entry.params)
    if (p.coefficient) coefficients.push_back(p.name);
  const auto t = rule.find("terms");
  if (!t) {
    if (rule.has("each")) rule.at("each").fail("needs `terms` (the coefficients it applies to)");
    return;
  }
  if (t->is_scalar() && t->as_string() == "all") {
    if (coefficients.empty()) t->fail("rule " + s.type + " has no coefficients to search");
    terms = coefficients;
  } else if (t->is_sequence()) {
    for (const auto& item : t->items()) {
      const std::string name = item.as_string();
      if (!among(name, coefficients))
        item.fail(find_param(entry.params, name) ? "not a coefficient of rule " + s.type + " (search it under `search:`)"
                                                 : unknown_term(name, coefficients));
      if (among(name, terms)) item.fail("listed twice");
      terms.push_back(name);
    }
    if (terms.empty()) t->fail("must list at least one term (or be `all`)");
  } else {
    t->fail("must be `all` or a list of term names");
  }
  const ConfigNode each = rule.at("each");
  for (const auto& name : terms) s.searched.push_back(read_bounds(each, name, *find_param(entry.params, name)));
}

// `search`: named parameters with their own values.
void read_search(const ConfigNode& rule, RuleSpec& s) {
  const auto search = rule.find("search");
  if (!search) return;
  const auto& params = rule_registry().get(s.type).params;
  std::vector<std::string> names;
  for (const auto& p : params) names.push_back(p.name);
  search->expect_keys(names);
  for (const auto& name : search->keys()) {
    const SearchedParam p = read_bounds(search->at(name), name, *find_param(params, name));
    auto it = std::find_if(s.searched.begin(), s.searched.end(), [&](const SearchedParam& q) { return q.name == name; });
    if (it != s.searched.end()) *it = p;
    else s.searched.push_back(p);
  }
}

}  // namespace

Eigen::VectorXd RuleSpec::init(int n) const {
  return array_space() ? Eigen::VectorXd::Constant(n, each.init) : column(searched, &SearchedParam::init);
}
Eigen::VectorXd RuleSpec::lower(int n) const {
  return array_space() ? Eigen::VectorXd::Constant(n, each.lower) : column(searched, &SearchedParam::lower);
}
Eigen::VectorXd RuleSpec::upper(int n) const {
  return array_space() ? Eigen::VectorXd::Constant(n, each.upper) : column(searched, &SearchedParam::upper);
}

RuleSpec read_rule_spec(const ConfigNode& rule) {
  RuleSpec s;
  s.type = read_type(rule.at("type"), rule_registry());
  const RuleSpaceFactory* space = rule_registry().space(s.type);
  std::vector<std::string> keys = rule_section_keys();
  if (space) {
    s.space = space->read(rule);
    for (const auto& key : space->keys) keys.push_back(key.name);
  }
  std::vector<std::string> own = keys;
  for (const auto& p : rule_registry().get(s.type).params) own.push_back(p.name);
  refuse_other_spaces_keys(rule, s.type, own);
  s.fixed = read_params(rule, rule_registry(), s.type, keys);
  s.l1 = rule.get_double("l1", 0.0, Range::non_negative());
  if (s.array_space()) {   // one `each` box for every coordinate
    for (const char* key : {"terms", "search"})
      if (rule.has(key)) rule.at(key).fail(space->each_only);
    s.each = read_bounds(rule.at("each"), "each", ParamSpec{"each", 0.0, -1e3, 1e3, ""});
    return s;
  }
  read_terms(rule, s);
  read_search(rule, s);
  if (s.searched.empty()) rule.fail("must search at least one parameter (`terms` or `search`)");
  for (const auto& p : s.searched) s.fixed.erase(p.name);
  return s;
}

std::string rule_spec_yaml(const RuleSpec& s) {
  std::string y = "type: " + s.type + "\n";
  if (const RuleSpaceFactory* space = rule_registry().space(s.type))
    for (const auto& key : space->keys)   // in the space's declared order
      if (const auto it = s.space.find(key.name); it != s.space.end()) y += key.name + ": " + it->second + "\n";
  for (const auto& [name, value] : s.fixed) y += "\"" + name + "\": " + exact(value) + "\n";
  if (s.array_space())
    y += "each: {init: " + exact(s.each.init) + ", lower: " + exact(s.each.lower) + ", upper: " + exact(s.each.upper) + "}\n";
  else
    y += "search:\n";
  for (const auto& p : s.searched)
    y += "  \"" + p.name + "\": {init: " + exact(p.init) + ", lower: " + exact(p.lower) + ", upper: " + exact(p.upper) +
         "}\n";
  y += "l1: " + exact(s.l1) + "\n";
  return y;
}

std::shared_ptr<const RuleSpace> make_rule_space(const RuleSpec& s, const MlpShape& shape) {
  const auto& params = rule_registry().get(s.type).params;
  if (s.array_space()) {
    const RuleSpaceFactory* space = rule_registry().space(s.type);
    if (!space) throw Error("rule " + s.type + " has no search space of its own");
    return space->make(s.space, complete_params("rule " + s.type, params, s.fixed), shape);
  }
  std::vector<std::string> names;
  for (const auto& p : s.searched) names.push_back(p.name);
  return std::make_shared<NamedRuleSpace>(rule_registry(), s.type, s.fixed, names);
}

}  // namespace plast
