#include "lib/config_sections.hpp"

namespace plast {

const char* to_string(StudyKind kind) {
  switch (kind) {
    case StudyKind::train: return "train";
    case StudyKind::compare: return "compare";
    case StudyKind::search: return "search";
  }
  return "?";
}

std::string command_of(StudyKind kind) { return kind == StudyKind::search ? "plast run" : std::string("plast ") + to_string(kind); }

StudyKind read_kind(const ConfigNode& root) {
  const ConfigNode node = root.at("kind");
  const std::string k = node.as_string();
  for (StudyKind kind : {StudyKind::train, StudyKind::compare, StudyKind::search})
    if (k == to_string(kind)) return kind;
  node.fail("must be train, compare or search");
}

void expect_kind(const ConfigNode& root, StudyKind want) {
  const StudyKind kind = read_kind(root);
  if (kind != want)
    root.at("kind").fail(command_of(want) + " runs files of kind " + to_string(want) + " (run this one with " +
                         command_of(kind) + ")");
}

StudentChoice read_student(const ConfigNode& node, StudentSpec defaults) {
  node.expect_keys({"hidden", "activation", "init_gain", "dropout"});
  StudentChoice s{std::move(defaults)};
  if (auto hidden = node.find("hidden")) {
    s.spec.hidden.clear();
    for (long long h : hidden->as_int_list(Range::at_least(1))) s.spec.hidden.push_back(static_cast<int>(h));
    s.hidden_given = true;
  }
  if (auto act = node.find("activation")) {
    try {
      s.spec.activation = parse_activation(act->as_string());
    } catch (const Error&) {
      act->fail("unknown activation (known: tanh, relu, sigmoid, linear)");
    }
    s.activation_given = true;
  }
  s.spec.init_gain = static_cast<float>(node.get_double("init_gain", s.spec.init_gain, Range::positive()));
  s.spec.dropout = static_cast<float>(node.get_double("dropout", s.spec.dropout, Range::half_open(0.0, 1.0)));
  return s;
}

OptimizerSpec read_optimizer(const ConfigNode& node, OptimizerSpec o) {
  node.expect_keys({"type", "lr", "momentum", "beta1", "beta2", "epsilon", "weight_decay", "schedule"});
  o.type = node.get_string("type", o.type);
  o.lr = node.get_double("lr", o.lr);
  o.momentum = node.get_double("momentum", o.momentum);
  o.beta1 = node.get_double("beta1", o.beta1);
  o.beta2 = node.get_double("beta2", o.beta2);
  o.epsilon = node.get_double("epsilon", o.epsilon);
  o.weight_decay = node.get_double("weight_decay", o.weight_decay);
  o.schedule = node.get_string("schedule", o.schedule);
  check_at(node, [&] { o.validate(); });
  return o;
}

TrainBudget read_budget(const ConfigNode& node, TrainBudget b) {
  node.expect_keys({"epochs", "batch", "eval_every", "max_steps", "eval_batch", "evaluate_start"});
  // Wide ranges here only keep the numbers in int; validate() says what is allowed.
  const Range any_int = Range::closed(-1e9, 1e9);
  b.epochs = static_cast<int>(node.get_int("epochs", b.epochs, any_int));
  b.batch = static_cast<int>(node.get_int("batch", b.batch, any_int));
  b.eval_every = node.get_int("eval_every", b.eval_every);
  b.max_steps = node.get_int("max_steps", b.max_steps);
  b.eval_batch = static_cast<int>(node.get_int("eval_batch", b.eval_batch, any_int));
  b.evaluate_start = node.get_bool("evaluate_start", b.evaluate_start);
  check_at(node, [&] { b.validate(); });
  return b;
}

}  // namespace plast
