#pragma once
// Reading the sections that `plast train` configs and studies share — a registered component
// and its parameters, the student network, the optimizer, the training budget — each value
// checked where it is written, every problem one line "file:line:col: key = value: what".
#include <algorithm>
#include <string>
#include <vector>

#include "lib/config.hpp"
#include "lib/error.hpp"
#include "lib/optimizer.hpp"
#include "lib/registry.hpp"
#include "lib/harness.hpp"
#include "lib/train.hpp"

namespace plast {

// Runs `check` (a validate() that throws InvalidValue naming a key) and reports a failure at
// that key's place inside `section` — so each rule about a value is written only once.
template <class F>
void check_at(const ConfigNode& section, F&& check) {
  try {
    check();
  } catch (const InvalidValue& e) {
    if (section.has(e.key())) section.at(e.key()).fail(e.problem());
    section.fail(e.what());
  }
}

// The registered name written at `node` ("fail: unknown rule (did you mean ...)").
template <class T>
std::string read_type(const ConfigNode& node, const Registry<T>& registry) {
  const std::string name = node.as_string();
  if (!registry.contains(name)) node.fail("unknown " + registry.kind() + " " + registry.suggestion(name));
  return name;
}

// The parameters of `type` written as keys of `node`; `other_keys` may stand beside them.
template <class T>
ParamValues read_params(const ConfigNode& node, const Registry<T>& registry, const std::string& type,
                        std::vector<std::string> other_keys = {}) {
  const auto& entry = registry.get(type);
  for (const auto& spec : entry.params) other_keys.push_back(spec.name);
  if (node.has("params") && std::find(other_keys.begin(), other_keys.end(), "params") == other_keys.end())
    node.at("params").fail("a component's parameters are written inline, beside its type ({type: " + type +
                           ", name: value, ...})");
  node.expect_keys(other_keys);
  ParamValues values;
  for (const auto& spec : entry.params)
    if (node.has(spec.name))
      values[spec.name] = spec.integer ? static_cast<double>(node.at(spec.name).as_int()) : node.at(spec.name).as_double();
  try {
    complete_params(registry.kind() + " " + type, entry.params, values);
  } catch (const InvalidValue& e) {
    node.at(e.key()).fail(e.problem());
  }
  return values;
}

// What a study file is: every file in studies/ says it with `kind:` (the first key by
// convention), and each command runs one kind — plast train, plast compare, plast run — so a
// file is never guessed at from the keys it happens to have.
enum class StudyKind { train, compare, search };
const char* to_string(StudyKind kind);
// The file's `kind:` ("FILE:1:1: missing required key 'kind'"; "kind = x: must be train,
// compare or search").
StudyKind read_kind(const ConfigNode& root);
// Fails at `kind:` unless the file is of kind `want`, naming the command that runs it:
// "x.yaml:1:7: kind = search: plast train runs files of kind train (run this one with plast run)".
void expect_kind(const ConfigNode& root, StudyKind want);
// The command that runs a kind ("plast run" for search).
std::string command_of(StudyKind kind);

// {hidden: [256, 256], activation: tanh, init_gain: 1, dropout: 0}, or instead of hidden a
// layer list (image layers, then dense ones; lib/front_end.hpp):
//   layers: [{type: conv2d, filters: 32, kernel: 5, padding: 2}, {type: max_pool, kernel: 2},
//            flatten, {type: dense, units: 128}]
// Says which of
// hidden/activation were given: those not given are the task's default student
// (StudentChoice, lib/harness.hpp), in every kind of file alike.
StudentChoice read_student(const ConfigNode& node, StudentSpec defaults);

// {type, lr, momentum, beta1, beta2, epsilon, weight_decay, schedule}, over `defaults`.
OptimizerSpec read_optimizer(const ConfigNode& node, OptimizerSpec defaults);

// {epochs, batch, eval_every, max_steps, eval_batch}, over `defaults`.
TrainBudget read_budget(const ConfigNode& node, TrainBudget defaults);

}  // namespace plast
