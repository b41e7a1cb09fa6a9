#pragma once
// Declared parameters of a component (a rule's θ, a task family's knobs): name, default,
// bounds and a one-line help. A component is built from a complete, validated ParamValues.
#include <map>
#include <string>
#include <vector>

namespace plast {

struct ParamSpec {
  std::string name;
  double default_value = 0.0;
  double min = 0.0;
  double max = 0.0;
  std::string help;
  bool integer = false;
  // The default depends on the problem (a population size on the dimension n): when the key
  // is left out the component gets default_value as a "derive it" marker, which lies outside
  // [min, max] so that no given value can mean it.
  bool derived = false;
  // A coefficient of the rule's formula (a Taylor term, a pool weight), not an option: a
  // study's `terms: all` searches these, and `plast inspect` writes them as a formula.
  bool coefficient = false;
};

using ParamValues = std::map<std::string, double>;

// Defaults overlaid with `given`. An unknown name throws plast::Error naming `owner`
// ("rule feedback_alignment: unknown parameter 'scael' (did you mean 'scale'?)"); a value
// outside its bounds throws InvalidValue keyed by the parameter, which callers place (a YAML
// location, or the owner's name for flags).
ParamValues complete_params(const std::string& owner, const std::vector<ParamSpec>& specs,
                            const ParamValues& given);

// "scale=1 (feedback entries ~ U(±scale·glorot))" lines for `plast list`.
std::string describe(const ParamSpec& spec);

}  // namespace plast
