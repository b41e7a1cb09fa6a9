#include "cli/train_config.hpp"

#include "lib/error.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"

namespace plast {

namespace {

// Reads {type: NAME, param: value...} (or a bare NAME) and checks the parameters against the
// registry entry, reporting each problem at its own place in the file.
template <class T>
NamedComponent read_component(const ConfigNode& node, const Registry<T>& registry) {
  NamedComponent c;
  if (node.is_scalar()) {
    c.type = node.as_string();
    if (!registry.contains(c.type)) node.fail("unknown " + registry.kind() + " " + registry.suggestion(c.type));
    return c;
  }
  const ConfigNode type = node.at("type");
  c.type = type.as_string();
  if (!registry.contains(c.type)) type.fail("unknown " + registry.kind() + " " + registry.suggestion(c.type));
  const auto* entry = &registry.get(c.type);
  std::vector<std::string> allowed{"type"};
  for (const auto& spec : entry->params) allowed.push_back(spec.name);
  node.expect_keys(allowed);
  for (const auto& spec : entry->params) {
    if (!node.has(spec.name)) continue;
    const ConfigNode value = node.at(spec.name);
    c.params[spec.name] = spec.integer ? static_cast<double>(value.as_int()) : value.as_double();
  }
  try {
    complete_params(registry.kind() + " " + c.type, entry->params, c.params);
  } catch (const InvalidValue& e) {
    node.at(e.key()).fail(e.problem());
  }
  return c;
}

// Runs `check` and moves an InvalidValue to the location of its key inside `section`.
template <class F>
void check_at(const ConfigNode& section, F&& check) {
  try {
    check();
  } catch (const InvalidValue& e) {
    if (section.has(e.key())) section.at(e.key()).fail(e.problem());
    section.fail(e.what());
  }
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
    net->expect_keys({"hidden", "activation", "init_gain"});
    if (auto hidden = net->find("hidden")) {
      c.student.hidden.clear();
      for (long long h : hidden->as_int_list(Range::at_least(1))) c.student.hidden.push_back(static_cast<int>(h));
      c.hidden_given = true;
    }
    if (auto act = net->find("activation")) {
      try {
        c.student.activation = parse_activation(act->as_string());
      } catch (const Error&) {
        act->fail("unknown activation (known: tanh, relu, sigmoid, linear)");
      }
      c.activation_given = true;
    }
    c.student.init_gain = static_cast<float>(net->get_double("init_gain", 1.0, Range::positive()));
  }

  if (auto opt = root.find("optimizer")) {
    opt->expect_keys({"type", "lr", "momentum", "beta1", "beta2", "epsilon", "weight_decay", "schedule"});
    auto& o = c.optimizer;
    o.type = opt->get_string("type", o.type);
    o.lr = opt->get_double("lr", o.lr);
    o.momentum = opt->get_double("momentum", o.momentum);
    o.beta1 = opt->get_double("beta1", o.beta1);
    o.beta2 = opt->get_double("beta2", o.beta2);
    o.epsilon = opt->get_double("epsilon", o.epsilon);
    o.weight_decay = opt->get_double("weight_decay", o.weight_decay);
    o.schedule = opt->get_string("schedule", o.schedule);
    check_at(*opt, [&] { o.validate(); });
  }

  if (auto tr = root.find("training")) {
    tr->expect_keys({"epochs", "batch", "eval_every", "max_steps", "eval_batch"});
    auto& b = c.budget;
    b.epochs = static_cast<int>(tr->get_int("epochs", b.epochs, Range::closed(-1e9, 1e9)));
    b.batch = static_cast<int>(tr->get_int("batch", b.batch, Range::closed(-1e9, 1e9)));
    b.eval_every = tr->get_int("eval_every", b.eval_every);
    b.max_steps = tr->get_int("max_steps", b.max_steps);
    b.eval_batch = static_cast<int>(tr->get_int("eval_batch", b.eval_batch, Range::closed(-1e9, 1e9)));
    check_at(*tr, [&] { b.validate(); });
  }

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
