#include "search/rule_spec.hpp"

#include <algorithm>
#include <cstdio>
#include <regex>

#include "lib/config_sections.hpp"
#include "rules/abcd.hpp"
#include "rules/feedback_space.hpp"
#include "rules/meta_sgd.hpp"
#include "rules/registry.hpp"
#include "rules/teacher_signal.hpp"

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
  rule.expect_keys(
      {"type", "params", "sharing", "search_feedback", "search_teacher", "learn", "rates", "terms", "each", "search", "l1"});
  RuleSpec s;
  s.type = read_type(rule.at("type"), rule_registry());
  const auto& entry = rule_registry().get(s.type);
  if (auto p = rule.find("params")) s.fixed = read_params(*p, rule_registry(), s.type);
  s.l1 = rule.get_double("l1", 0.0, Range::non_negative());
  if (auto feedback = rule.find("search_feedback"); feedback && feedback->as_bool()) {
    if (s.type != "feedback_alignment" && s.type != "direct_feedback_alignment")
      feedback->fail("rule " + s.type + " has no feedback matrices to search (feedback_alignment and "
                     "direct_feedback_alignment have)");
    for (const char* key : {"sharing", "terms", "search"})
      if (rule.has(key)) rule.at(key).fail("searched feedback is an array space: use `each`");
    s.search_feedback = true;
    s.each = read_bounds(rule.at("each"), "each", ParamSpec{"each", 0.0, -1e3, 1e3, ""});
    return s;
  }
  if (auto teacher = rule.find("search_teacher"); teacher && teacher->as_bool()) {   // rules/teacher_signal.hpp
    if (s.type != "teacher_signal") teacher->fail("rule " + s.type + " has no teacher to search (teacher_signal has)");
    for (const char* key : {"sharing", "search_feedback", "learn", "rates", "terms", "search"})
      if (rule.has(key)) rule.at(key).fail("a searched teacher is an array space: use `each`");
    if (auto p = rule.find("params"); p && p->has("model"))
      p->at("model").fail("a searched teacher learns its model pathway in θ (model_hK); `model` sets it for the "
                          "registered rule only");
    s.search_teacher = true;
    s.each = read_bounds(rule.at("each"), "each", ParamSpec{"each", 0.0, -1e3, 1e3, ""});
    return s;
  }
  if (auto learn = rule.find("learn")) {   // Meta-SGD's initialization and rates: an array space
    if (s.type != "meta_sgd") learn->fail("rule " + s.type + " has no learned initialization or rates (meta_sgd has)");
    try {
      s.learn = meta_sgd_learn_name(parse_meta_sgd_learn(learn->as_string()));
    } catch (const InvalidValue& e) {
      learn->fail(e.problem());
    }
    if (rule.has("sharing"))
      rule.at("sharing").fail("rule meta_sgd has no sharing levels: its rates are per `rates: parameter` or `layer`");
    for (const char* key : {"terms", "search"})
      if (rule.has(key)) rule.at(key).fail("meta_sgd's initialization and rates are an array space: use `each`");
    if (auto rates = rule.find("rates")) {
      if (s.learn == "init") rates->fail("learn: init learns no rates (use learn: rates or both)");
      try {
        s.rates = rate_sharing_name(parse_rate_sharing(rates->as_string()));
      } catch (const InvalidValue& e) {
        rates->fail(e.problem());
      }
    } else if (s.learn != "init") {
      s.rates = "parameter";
    }
    s.each = read_bounds(rule.at("each"), "each", ParamSpec{"each", 0.0, -1e3, 1e3, ""});
    return s;
  }
  if (auto rates = rule.find("rates"))
    rates->fail(s.type == "meta_sgd" ? "needs `learn: rates` or `learn: both`"
                                     : "rule " + s.type + " has no learned rates (meta_sgd has)");
  if (auto sharing = rule.find("sharing")) {   // an array space: one `each` for every coordinate
    if (s.type != "abcd") sharing->fail("rule " + s.type + " has no sharing levels (abcd has)");
    try {
      s.sharing = sharing_name(parse_sharing(sharing->as_string()));
    } catch (const InvalidValue& e) {
      sharing->fail(e.problem());
    }
    for (const char* key : {"terms", "search"})
      if (rule.has(key)) rule.at(key).fail("an array space (sharing) searches every coefficient: use `each`");
    const ParamSpec range{"each", 0.0, -1e3, 1e3, ""};
    s.each = read_bounds(rule.at("each"), "each", range);
    return s;
  }
  auto spec_of = [&](const std::string& name) -> const ParamSpec* {
    for (const auto& p : entry.params)
      if (p.name == name) return &p;
    return nullptr;
  };
  std::vector<std::string> coefficients, all_names;
  for (const auto& p : entry.params) {
    all_names.push_back(p.name);
    if (p.coefficient) coefficients.push_back(p.name);
  }

  // `terms` + `each`: many coefficients with the same init and bounds.
  std::vector<std::string> terms;
  if (auto t = rule.find("terms")) {
    if (t->is_scalar() && t->as_string() == "all") {
      if (coefficients.empty()) t->fail("rule " + s.type + " has no coefficients to search");
      terms = coefficients;
    } else if (t->is_sequence()) {
      for (const auto& item : t->items()) {
        const std::string name = item.as_string();
        if (std::find(coefficients.begin(), coefficients.end(), name) == coefficients.end())
          item.fail(spec_of(name) ? "not a coefficient of rule " + s.type + " (search it under `search:`)"
                                  : unknown_term(name, coefficients));
        if (std::find(terms.begin(), terms.end(), name) != terms.end()) item.fail("listed twice");
        terms.push_back(name);
      }
      if (terms.empty()) t->fail("must list at least one term (or be `all`)");
    } else {
      t->fail("must be `all` or a list of term names");
    }
    const ConfigNode each = rule.at("each");
    for (const auto& name : terms) s.searched.push_back(read_bounds(each, name, *spec_of(name)));
  } else if (rule.has("each")) {
    rule.at("each").fail("needs `terms` (the coefficients it applies to)");
  }

  // `search`: named parameters with their own values.
  if (auto search = rule.find("search")) {
    search->expect_keys(all_names);
    for (const auto& name : search->keys()) {
      const SearchedParam p = read_bounds(search->at(name), name, *spec_of(name));
      auto it = std::find_if(s.searched.begin(), s.searched.end(), [&](const SearchedParam& q) { return q.name == name; });
      if (it != s.searched.end()) *it = p;
      else s.searched.push_back(p);
    }
  }
  if (s.searched.empty()) rule.fail("must search at least one parameter (`terms` or `search`)");
  for (const auto& p : s.searched) s.fixed.erase(p.name);
  return s;
}

std::string rule_spec_yaml(const RuleSpec& s) {
  std::string y = "type: " + s.type + "\nparams: {";
  bool first = true;
  for (const auto& [name, value] : s.fixed) {
    y += (first ? "" : ", ") + std::string("\"") + name + "\": " + exact(value);
    first = false;
  }
  y += "}\n";
  if (s.array_space()) {
    if (!s.learn.empty()) y += "learn: " + s.learn + "\n" + (s.rates.empty() ? std::string() : "rates: " + s.rates + "\n");
    else if (s.search_teacher) y += "search_teacher: true\n";
    else y += s.search_feedback ? std::string("search_feedback: true\n") : "sharing: " + s.sharing + "\n";
    y += "each: {init: " + exact(s.each.init) + ", lower: " + exact(s.each.lower) + ", upper: " + exact(s.each.upper) + "}\n";
  } else {
    y += "search:\n";
  }
  for (const auto& p : s.searched)
    y += "  \"" + p.name + "\": {init: " + exact(p.init) + ", lower: " + exact(p.lower) + ", upper: " + exact(p.upper) +
         "}\n";
  y += "l1: " + exact(s.l1) + "\n";
  return y;
}

std::shared_ptr<const RuleSpace> make_rule_space(const RuleSpec& s, const MlpShape& shape) {
  if (s.search_feedback) return feedback_space(shape, s.type == "direct_feedback_alignment");
  if (s.search_teacher)
    return teacher_signal_space(shape, TeacherSignal::options(complete_params(
                                           "rule teacher_signal", rule_registry().get(s.type).params, s.fixed)));
  if (!s.learn.empty()) {
    MetaSgdOptions o = MetaSgd::options(complete_params("rule meta_sgd", rule_registry().get(s.type).params, s.fixed));
    o.learn = parse_meta_sgd_learn(s.learn);
    if (!s.rates.empty()) o.rates = parse_rate_sharing(s.rates);
    return meta_sgd_space(shape, o);
  }
  if (s.array_space()) {
    const auto normalize = s.fixed.find("normalize");
    const auto& params = rule_registry().get(s.type).params;
    const double fallback = std::find_if(params.begin(), params.end(), [](const ParamSpec& p) {
                              return p.name == "normalize";
                            })->default_value;
    return abcd_space(shape, parse_sharing(s.sharing), (normalize != s.fixed.end() ? normalize->second : fallback) != 0.0);
  }
  std::vector<std::string> names;
  for (const auto& p : s.searched) names.push_back(p.name);
  return std::make_shared<NamedRuleSpace>(rule_registry(), s.type, s.fixed, names);
}

}  // namespace plast
