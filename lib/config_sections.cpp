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

namespace {

Activation read_activation(const ConfigNode& node) {
  try {
    return parse_activation(node.as_string());
  } catch (const Error&) {
    node.fail("unknown activation (known: tanh, relu, sigmoid, linear)");
  }
}

// One image layer of a `layers:` list (lib/front_end.hpp); dense entries are handled by the caller.
LayerSpec read_image_layer(const ConfigNode& item, const std::string& type, Activation activation) {
  LayerSpec l;
  l.activation = activation;   // a convolution's units are the student's unless it says otherwise
  l.where = item.where().str() + ": " + item.path();
  if (type == "conv2d") {
    item.expect_keys({"type", "filters", "kernel", "stride", "padding", "activation"});
    l.kind = LayerKind::conv2d;
    l.filters = static_cast<int>(item.at("filters").as_int(Range::closed(1, 1e6)));
    l.kernel = static_cast<int>(item.at("kernel").as_int(Range::closed(1, 1e4)));
    l.stride = static_cast<int>(item.get_int("stride", 1, Range::closed(1, 1e4)));
    l.padding = static_cast<int>(item.get_int("padding", 0, Range::closed(0, 1e4)));
    if (auto a = item.find("activation")) l.activation = read_activation(*a);
  } else if (type == "max_pool" || type == "avg_pool") {
    item.expect_keys({"type", "kernel", "stride"});
    l.kind = type == "max_pool" ? LayerKind::max_pool : LayerKind::avg_pool;
    l.kernel = static_cast<int>(item.at("kernel").as_int(Range::closed(1, 1e4)));
    l.stride = static_cast<int>(item.get_int("stride", l.kernel, Range::closed(1, 1e4)));
  } else if (type == "layer_norm") {
    item.expect_keys({"type"});
    l.kind = LayerKind::layer_norm;
  } else {   // concat
    item.expect_keys({"type", "branches"});
    l.kind = LayerKind::concat;
    for (const ConfigNode& branch : item.at("branches").items()) {
      std::vector<LayerSpec> layers;
      for (const ConfigNode& b : branch.items()) {
        const std::string t = b.is_map() ? b.at("type").as_string() : b.as_string();
        if (t != "conv2d" && t != "max_pool" && t != "avg_pool" && t != "layer_norm" && t != "concat")
          (b.is_map() ? b.at("type") : b).fail("a branch holds image layers only (conv2d, max_pool, avg_pool, layer_norm, concat)");
        layers.push_back(read_image_layer(b, t, activation));
      }
      l.branches.push_back(std::move(layers));
    }
  }
  return l;
}

// `layers:` — image layers, then optionally `flatten` and dense layers {type: dense, units: N}
// (the hidden layers; the output layer is the task's).
void read_layers(const ConfigNode& list, StudentSpec& spec) {
  spec.layers.clear();
  spec.hidden.clear();
  bool dense = false;
  for (const ConfigNode& item : list.items()) {
    const ConfigNode type_node = item.is_map() ? item.at("type") : item;
    const std::string type = type_node.as_string();
    if (type == "flatten") {
      if (item.is_map()) item.expect_keys({"type"});
      dense = true;
    } else if (type == "dense") {
      item.expect_keys({"type", "units"});
      spec.hidden.push_back(static_cast<int>(item.at("units").as_int(Range::closed(1, 1e7))));
      dense = true;
    } else if (type == "conv2d" || type == "max_pool" || type == "avg_pool" || type == "layer_norm" ||
               type == "concat") {
      if (dense) type_node.fail("image layers come before flatten and the dense layers");
      spec.layers.push_back(read_image_layer(item, type, spec.activation));
    } else {
      type_node.fail("unknown layer (known: conv2d, max_pool, avg_pool, layer_norm, concat, flatten, dense)");
    }
  }
}

}  // namespace

StudentChoice read_student(const ConfigNode& node, StudentSpec defaults) {
  node.expect_keys({"hidden", "layers", "activation", "init_gain", "dropout"});
  StudentChoice s{std::move(defaults)};
  if (auto act = node.find("activation")) {
    s.spec.activation = read_activation(*act);
    s.activation_given = true;
  }
  if (auto layers = node.find("layers")) {
    if (node.has("hidden")) node.at("hidden").fail("give either hidden or layers (whose dense entries are the hidden layers)");
    read_layers(*layers, s.spec);
    s.hidden_given = true;
  }
  if (auto hidden = node.find("hidden")) {
    s.spec.hidden.clear();
    for (long long h : hidden->as_int_list(Range::at_least(1))) s.spec.hidden.push_back(static_cast<int>(h));
    s.hidden_given = true;
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
