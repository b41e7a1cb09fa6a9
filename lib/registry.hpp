#pragma once
// One registry per kind of component (rules, tasks, later strategies). Entries are added by
// explicit register_*() functions, never by static self-registration (it breaks in static
// libraries). YAML and flags name a component by its registered name.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lib/config.hpp"
#include "lib/error.hpp"
#include "lib/params.hpp"

namespace plast {

template <class T>
class Registry {
 public:
  struct Entry {
    std::string name;
    std::string summary;     // one line, with the paper it implements
    std::vector<ParamSpec> params;
    std::function<std::shared_ptr<const T>(const ParamValues&)> make;
  };

  explicit Registry(std::string kind) : kind_(std::move(kind)) {}

  void add(Entry entry) { entries_.push_back(std::move(entry)); }

  const std::vector<Entry>& entries() const { return entries_; }

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& e : entries_) out.push_back(e.name);
    return out;
  }

  bool contains(const std::string& name) const {
    for (const auto& e : entries_)
      if (e.name == name) return true;
    return false;
  }

  // Throws "unknown rule 'x' (did you mean 'y'? known: a, b)".
  const Entry& get(const std::string& name) const {
    for (const auto& e : entries_)
      if (e.name == name) return e;
    throw Error("unknown " + kind_ + " '" + name + "' " + suggestion(name));
  }

  // "(did you mean 'y'? known: a, b)" for a name that is not registered.
  std::string suggestion(const std::string& name) const {
    const auto all = names();
    std::string known;
    for (const auto& n : all) known += (known.empty() ? "" : ", ") + n;
    const std::string near = nearest(name, all);
    return "(" + (near.empty() ? std::string() : "did you mean '" + near + "'? ") + "known: " + known + ")";
  }

  // Builds a component from given parameter values (defaults fill the rest).
  std::shared_ptr<const T> make(const std::string& name, const ParamValues& given = {}) const {
    const Entry& e = get(name);
    return e.make(complete_params(kind_ + " " + name, e.params, given));
  }

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
  std::vector<Entry> entries_;
};

}  // namespace plast
