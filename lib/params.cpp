#include "lib/params.hpp"

#include <cmath>
#include <sstream>

#include "lib/config.hpp"
#include "lib/error.hpp"

namespace plast {

namespace {
std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
}  // namespace

ParamValues complete_params(const std::string& owner, const std::vector<ParamSpec>& specs,
                            const ParamValues& given) {
  ParamValues out;
  std::vector<std::string> names;
  for (const auto& s : specs) {
    out[s.name] = s.default_value;
    names.push_back(s.name);
  }
  for (const auto& [name, value] : given) {
    const ParamSpec* spec = nullptr;
    for (const auto& s : specs)
      if (s.name == name) spec = &s;
    if (!spec) {
      const std::string near = nearest(name, names);
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw Error(owner + ": unknown parameter '" + name + "'" +
                  (near.empty() ? " (known: " + (known.empty() ? std::string("none") : known) + ")"
                                : " (did you mean '" + near + "'?)"));
    }
    if (!std::isfinite(value) || value < spec->min || value > spec->max)
      throw InvalidValue(name, value, "must be in [" + number(spec->min) + ", " + number(spec->max) + "]");
    if (spec->integer && value != std::floor(value))
      throw InvalidValue(name, value, "must be an integer");
    out[name] = value;
  }
  return out;
}

std::string describe(const ParamSpec& spec) {
  return spec.name + " = " + (spec.derived ? std::string("derived") : number(spec.default_value)) + "  in [" + number(spec.min) + ", " +
         number(spec.max) + "]  " + spec.help;
}

}  // namespace plast
