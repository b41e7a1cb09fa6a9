#include "cli/train_config.hpp"

#include <algorithm>
#include <cstdio>

#include "lib/config_sections.hpp"
#include "lib/error.hpp"
#include "rules/registry.hpp"
#include "search/stored_rule.hpp"
#include "tasks/registry.hpp"

namespace plast {

namespace {

// Reads {type: NAME, param: value...} (or a bare NAME); `other_keys` may stand beside them.
template <class T>
NamedComponent read_component(const ConfigNode& node, const Registry<T>& registry,
                              const std::vector<std::string>& other_keys = {}) {
  if (node.is_scalar()) return {read_type(node, registry), {}, std::nullopt, node};
  const std::string type = read_type(node.at("type"), registry);
  std::vector<std::string> keys{"type"};
  keys.insert(keys.end(), other_keys.begin(), other_keys.end());
  return {type, read_params(node, registry, type, keys), std::nullopt, node};
}

// A task entry. `jitter` (lib/jitter.hpp) is a parameter of the image tasks only; on any other
// task it is named as such rather than as an unknown key.
NamedComponent read_task(const ConfigNode& node, const std::vector<std::string>& other_keys = {}) {
  if (node.is_map() && node.has("jitter") && node.has("type")) {
    const std::string type = read_type(node.at("type"), task_registry());
    const auto& params = task_registry().get(type).params;
    const bool takes_jitter = std::any_of(params.begin(), params.end(), [](const ParamSpec& p) { return p.name == "jitter"; });
    if (!takes_jitter) {
      std::string image_tasks;
      for (const auto& name : task_registry().names())
        for (const auto& p : task_registry().get(name).params)
          if (p.name == "jitter") image_tasks += (image_tasks.empty() ? "" : ", ") + name;
      node.at("jitter").fail("task " + type + " has no images to jitter (jitter is a parameter of " + image_tasks + ")");
    }
  }
  return read_component(node, task_registry(), other_keys);
}

// A rule entry: {type, params..., optimizer: {...}} (the optimizer's keys are checked by
// TrainConfig::validate, once the file's optimizer is known), or a study's result:
// {type, from_store: PATH, theta: best | mean, optimizer: {...}}.
NamedComponent read_rule(const ConfigNode& node, Inputs inputs, std::vector<std::string> other_keys = {}) {
  other_keys.insert(other_keys.end(), {"optimizer", "from_store", "theta"});
  NamedComponent rule = read_component(node, rule_registry(), other_keys);
  if (!node.is_map()) return rule;
  if (auto opt = node.find("optimizer")) rule.optimizer = *opt;
  const auto store = node.find("from_store");
  if (!store) {
    if (auto theta = node.find("theta")) theta->fail("needs from_store (the study store to read θ from)");
    return rule;
  }
  for (const auto& key : node.keys())
    if (rule.params.count(key)) node.at(key).fail("the rule's parameters are the stored study's (from_store)");
  const std::string path = store->as_string();
  if (path.empty()) store->fail("must name a study store");
  std::string which = "best";
  if (auto theta = node.find("theta")) {
    which = theta->as_string();
    if (which != "best" && which != "mean") theta->fail("must be best or mean");
  }
  if (inputs == Inputs::skip) return rule;
  StoredRule stored;
  try {
    stored = load_stored_rule(path, which);
  } catch (const Error& e) {
    store->fail(e.what());
  }
  if (stored.type != rule.type)
    node.at("type").fail("the study in " + path + " (" + stored.study + ") searched rule " + stored.type);
  rule.stored = stored.rule;
  return rule;
}

// `rule` or `rules` (a list), each entry read by `read`.
template <class F>
void read_rules(const ConfigNode& root, F&& read) {
  if (root.has("rule") && root.has("rules")) root.at("rules").fail("give either 'rule' or 'rules', not both");
  if (root.has("rule")) read(root.at("rule"));
  if (root.has("rules")) {
    const auto items = root.at("rules").items();
    if (items.empty()) root.at("rules").fail("must name at least one rule");
    for (const auto& item : items) read(item);
  }
}

// The sections a train file and a compare file share: student, optimizer, training, seed(s).
void read_shared_sections(const ConfigNode& root, TrainConfig& c) {
  if (auto student = root.find("student")) c.student = read_student(*student, c.student.spec);
  if (auto opt = root.find("optimizer")) c.optimizer = read_optimizer(*opt, c.optimizer);
  if (auto tr = root.find("training")) c.budget = read_budget(*tr, c.budget);

  if (root.has("seed") && root.has("seeds")) root.at("seeds").fail("give either 'seed' or 'seeds', not both");
  if (auto seed = root.find("seed")) c.seeds = {static_cast<std::uint64_t>(seed->as_int(Range::non_negative()))};
  if (auto seeds = root.find("seeds")) {
    c.seeds.clear();
    for (long long s : seeds->as_int_list(Range::non_negative())) c.seeds.push_back(static_cast<std::uint64_t>(s));
    if (c.seeds.empty()) seeds->fail("must list at least one seed");
  }
}

// Labels for compare entries (see CompareTask::label); a repeated label fails at its entry.
struct LabelledEntry {
  ConfigNode node;
  NamedComponent component;
  std::optional<std::string> name;
};

std::string format_value(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

std::vector<std::string> labels_of(const std::vector<LabelledEntry>& entries, const std::string& section) {
  std::vector<std::string> labels;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    std::string label = e.name ? *e.name : e.component.type;
    if (!e.name) {
      std::size_t same_type = 0;
      for (const auto& other : entries) same_type += !other.name && other.component.type == e.component.type;
      if (same_type > 1 && !e.component.params.empty()) {
        label += "(";
        bool first = true;
        for (const auto& [key, value] : e.component.params) {
          label += (first ? "" : ",") + key + "=" + format_value(value);
          first = false;
        }
        label += ")";
      }
    }
    for (std::size_t j = 0; j < i; ++j)
      if (labels[j] == label)
        e.node.fail("repeats " + section + "[" + std::to_string(j) + "] (" + label +
                    "): give one of them a distinct 'name:'");
    labels.push_back(std::move(label));
  }
  return labels;
}

std::optional<std::string> read_name(const ConfigNode& node) {
  if (!node.is_map() || !node.has("name")) return std::nullopt;
  const ConfigNode n = node.at("name");
  const std::string name = n.as_string();
  if (name.empty()) n.fail("must not be empty");
  return name;
}

// distill: {teacher: FILE, temperature: T, hard_weight: α}. The teacher is read here, so a
// missing or broken file fails at its place in the YAML before any work.
DistillationSpec read_distillation(const ConfigNode& node, Inputs inputs) {
  node.expect_keys({"teacher", "temperature", "hard_weight"});
  DistillationSpec d;
  const ConfigNode teacher = node.at("teacher");
  d.teacher = teacher.as_string();
  if (d.teacher.empty()) teacher.fail("must name a weights file (plast train --save-weights FILE)");
  d.temperature = static_cast<float>(node.at("temperature").as_double(Range::positive()));
  d.hard_weight = static_cast<float>(node.get_double("hard_weight", 0.0, Range::closed(0.0, 1.0)));
  if (inputs == Inputs::skip) return d;
  try {
    load_teacher(d.teacher);
  } catch (const Error& e) {
    std::string what = e.what();   // "PATH: problem": the location already names PATH
    if (what.rfind(d.teacher + ": ", 0) == 0) what.erase(0, d.teacher.size() + 2);
    teacher.fail(what);
  }
  return d;
}

}  // namespace

std::shared_ptr<const LearningRule> make_rule(const NamedComponent& c) {
  return c.stored ? c.stored : make_component(rule_registry(), c);
}

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
  for (int h : student.spec.hidden)
    if (h < 1) throw InvalidValue("hidden", h, "layer widths must be >= 1");
  if (!(student.spec.init_gain > 0.0f)) throw InvalidValue("init_gain", student.spec.init_gain, "must be > 0");
  optimizer.validate();
  for (std::size_t r = 0; r < rules.size(); ++r) {
    if (!rules[r].optimizer) continue;
    const OptimizerSpec mine = optimizer_for(r);   // a bad key or value fails here, located
    try {
      mine.validate();
    } catch (const Error& e) {
      rules[r].optimizer->fail(e.what());
    }
  }
  budget.validate();
  if (seeds.empty()) throw Error("no seed given");
}

OptimizerSpec TrainConfig::optimizer_for(std::size_t r) const {
  return rules.at(r).optimizer ? read_optimizer(*rules[r].optimizer, optimizer) : optimizer;
}

TrainConfig load_train_config(const ConfigNode& root, Inputs inputs) {
  expect_kind(root, StudyKind::train);
  root.expect_keys({"kind", "task", "rule", "rules", "student", "optimizer", "training", "seed", "seeds"});
  TrainConfig c;
  if (root.has("task")) c.task = read_task(root.at("task"));
  bool first = true;
  read_rules(root, [&](const ConfigNode& node) {
    if (first) c.rules.clear();
    first = false;
    c.rules.push_back(read_rule(node, inputs));
  });
  read_shared_sections(root, c);
  return c;
}

// One entry of a compare file's `tasks:`: the task and its compare keys (split, targets, distill).
static CompareTask read_compare_task(const ConfigNode& node, Inputs inputs) {
  CompareTask t;
  t.task = read_task(node, {"name", "target_loss", "target_accuracy", "split", "distill"});
  if (node.is_map()) {
    if (auto split = node.find("split")) {
      const std::string name = split->as_string();
      if (name == "meta_test") t.split = Split::meta_test;
      else if (name != "meta_train") split->fail("must be meta_train or meta_test");
    }
    if (auto loss = node.find("target_loss")) t.target_loss = loss->as_double();
    if (auto acc = node.find("target_accuracy")) {
      t.target_accuracy = acc->as_double(Range::closed(0.0, 1.0));
      t.target_accuracy_node = *acc;
    }
    if (auto distill = node.find("distill")) {
      // With `jitter:` beside it, the teacher labels every shift of every training image
      // (consistent teaching, tasks/distillation.hpp).
      t.distill = read_distillation(*distill, inputs);
      t.distill_node = *distill;
    }
  }
  return t;
}

CompareConfig load_compare_config(const ConfigNode& root, Inputs inputs) {
  expect_kind(root, StudyKind::compare);
  root.expect_keys({"kind", "tasks", "task", "rule", "rules", "student", "students", "optimizer", "training", "seed", "seeds"});
  CompareConfig c;
  if (root.has("task") && root.has("tasks")) root.at("tasks").fail("give either 'task' or 'tasks', not both");
  if (!root.has("task") && !root.has("tasks")) root.fail("missing required key 'tasks'");
  const std::vector<ConfigNode> task_nodes = root.has("tasks") ? root.at("tasks").items() : std::vector{root.at("task")};
  if (task_nodes.empty()) root.at("tasks").fail("must name at least one task");
  std::vector<LabelledEntry> tasks;
  for (const auto& node : task_nodes) {
    CompareTask t = read_compare_task(node, inputs);
    tasks.push_back({node, t.task, read_name(node)});
    c.tasks.push_back(std::move(t));
  }
  const auto task_labels = labels_of(tasks, root.has("tasks") ? "tasks" : "task");
  for (std::size_t i = 0; i < c.tasks.size(); ++i) c.tasks[i].label = task_labels[i];

  std::vector<LabelledEntry> rules;
  read_rules(root, [&](const ConfigNode& node) {
    rules.push_back({node, read_rule(node, inputs, {"name"}), read_name(node)});
  });
  if (!rules.empty()) {
    c.train.rules.clear();
    for (const auto& r : rules) c.train.rules.push_back(r.component);
    c.rule_labels = labels_of(rules, root.has("rules") ? "rules" : "rule");
  } else {
    for (const auto& r : c.train.rules) c.rule_labels.push_back(r.type);
  }
  read_shared_sections(root, c.train);
  c.train.task = c.tasks.front().task;
  if (root.has("student") && root.has("students")) root.at("students").fail("give either 'student' or 'students', not both");
  if (auto nets = root.find("students")) {
    for (const auto& item : nets->items()) {
      const StudentChoice s = read_student(item, c.train.student.spec);
      CompareNetwork n{s, "h"};
      if (!s.hidden_given) item.fail("must give hidden (the widths that tell the networks apart)");
      for (std::size_t k = 0; k < s.spec.hidden.size(); ++k) n.label += (k ? "x" : "") + std::to_string(s.spec.hidden[k]);
      if (s.spec.hidden.empty()) n.label += "-none";
      for (const auto& other : c.networks)
        if (other.label == n.label) item.fail("repeats the student " + n.label);
      c.networks.push_back(std::move(n));
    }
    if (c.networks.empty()) nets->fail("must list at least one student");
    std::vector<CompareTask> expanded;
    for (auto& t : c.tasks) {
      const std::size_t base = expanded.size();
      for (std::size_t n = 0; n < c.networks.size(); ++n) {
        CompareTask e = t;
        e.base = base;
        e.group = t.label;
        e.network = n;
        e.label = t.label + " " + c.networks[n].label;
        expanded.push_back(std::move(e));
      }
    }
    c.tasks = std::move(expanded);
  } else {
    for (std::size_t i = 0; i < c.tasks.size(); ++i) {
      c.tasks[i].base = i;
      c.tasks[i].group = c.tasks[i].label;
    }
  }
  return c;
}

}  // namespace plast
