#include "cli/train_config.hpp"

#include "lib/config_sections.hpp"
#include "lib/error.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"

namespace plast {

namespace {

// Reads {type: NAME, param: value...} (or a bare NAME).
template <class T>
NamedComponent read_component(const ConfigNode& node, const Registry<T>& registry) {
  if (node.is_scalar()) return {read_type(node, registry), {}};
  const std::string type = read_type(node.at("type"), registry);
  return {type, read_params(node, registry, type, {"type"})};
}

}  // namespace

void TrainConfig::validate() const {
  // A parameter's bounds are named with its owner, as unknown parameters are ("rule
  // feedback_alignment: scale = -1: must be in [0, 100]"): there is no --scale flag.
  auto check_params = [](const std::string& owner, const std::vector<ParamSpec>& specs, const ParamValues& given) {
    try {
      complete_params(owner, specs, given);
    } catch (const InvalidValue& e) {
      throw Error(owner + ": " + e.what());
    }
  };
  check_params("task " + task.type, task_registry().get(task.type).params, task.params);
  if (rules.empty()) throw Error("no rule given");
  for (const auto& r : rules) check_params("rule " + r.type, rule_registry().get(r.type).params, r.params);
  for (int h : student.hidden)
    if (h < 1) throw InvalidValue("hidden", h, "layer widths must be >= 1");
  if (!(student.init_gain > 0.0f)) throw InvalidValue("init_gain", student.init_gain, "must be > 0");
  optimizer.validate();
  budget.validate();
  if (seeds.empty()) throw Error("no seed given");
}

TrainConfig load_train_config(const ConfigNode& root) {
  root.expect_keys({"task", "rule", "rules", "network", "optimizer", "training", "seed", "seeds"});
  TrainConfig c;
  if (root.has("task")) c.task = read_component(root.at("task"), task_registry());
  if (root.has("rule") && root.has("rules")) root.at("rules").fail("give either 'rule' or 'rules', not both");
  if (root.has("rule")) c.rules = {read_component(root.at("rule"), rule_registry())};
  if (root.has("rules")) {
    c.rules.clear();
    for (const auto& item : root.at("rules").items()) c.rules.push_back(read_component(item, rule_registry()));
    if (c.rules.empty()) root.at("rules").fail("must name at least one rule");
  }

  if (auto net = root.find("network")) {
    const StudentSection student = read_student(*net, c.student);
    c.student = student.spec;
    c.hidden_given = student.hidden_given;
    c.activation_given = student.activation_given;
  }
  if (auto opt = root.find("optimizer")) c.optimizer = read_optimizer(*opt, c.optimizer);
  if (auto tr = root.find("training")) c.budget = read_budget(*tr, c.budget);

  if (root.has("seed") && root.has("seeds")) root.at("seeds").fail("give either 'seed' or 'seeds', not both");
  if (auto seed = root.find("seed")) c.seeds = {static_cast<std::uint64_t>(seed->as_int(Range::non_negative()))};
  if (auto seeds = root.find("seeds")) {
    c.seeds.clear();
    for (long long s : seeds->as_int_list(Range::non_negative())) c.seeds.push_back(static_cast<std::uint64_t>(s));
    if (c.seeds.empty()) seeds->fail("must list at least one seed");
  }
  return c;
}

}  // namespace plast
