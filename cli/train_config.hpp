#pragma once
// What `plast train` and `plast compare` run, read from study files of kind train and compare
// (plast's one study language, docs/architecture.md; every value checked, errors at
// file:line:col) and/or flags. Both run their grid through the harness (lib/harness.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/config.hpp"
#include "lib/error.hpp"
#include "lib/harness.hpp"
#include "lib/learning_rule.hpp"
#include "lib/registry.hpp"
#include "lib/optimizer.hpp"
#include "lib/params.hpp"
#include "lib/task.hpp"
#include "lib/train.hpp"
#include "tasks/distillation.hpp"

namespace plast {

struct NamedComponent {
  std::string type;
  ParamValues params;
  // Rules only: an `optimizer:` map in the rule's entry, whose keys override the file's
  // optimizer for that rule (perturbation rules need learning rates far from backprop's).
  std::optional<ConfigNode> optimizer;
  // Where the entry was written, when it came from a file (for make_component's errors).
  std::optional<ConfigNode> node;
  // Rules only: {type: T, from_store: out/x.sqlite, theta: best | mean} runs the rule a study
  // found (search/stored_rule.hpp), read when the file is loaded; its parameters are the study's.
  std::shared_ptr<const LearningRule> stored;
};

// Builds a component from its registry. A check the component makes itself when it is built
// (one parameter bounded by another: a subspace dimension by the teacher's size, a range's
// ends) fails at the value's place in the file, as the declared bounds do.
template <class T>
std::shared_ptr<const T> make_component(const Registry<T>& registry, const NamedComponent& c) {
  try {
    return registry.make(c.type, c.params);
  } catch (const InvalidValue& e) {
    if (!c.node) throw;
    if (c.node->is_map() && c.node->has(e.key())) c.node->at(e.key()).fail(e.problem());
    c.node->fail(e.what());
  }
}

// The rule of an entry: the stored one (from_store), else built from the registry.
std::shared_ptr<const LearningRule> make_rule(const NamedComponent& c);

struct TrainConfig {
  NamedComponent task{"fashion_mnist", {}};
  std::vector<NamedComponent> rules{{"backprop", {}}};
  StudentChoice student;              // what is not given: the task's default student
  OptimizerSpec optimizer{.type = "momentum", .lr = 0.01};
  TrainBudget budget;
  std::vector<std::uint64_t> seeds{1};

  // Checks everything that does not need the registries' factories: known rule and task
  // names and their parameters, optimizer and budget values. Throws plast::Error.
  void validate() const;
  // The optimizer of rules[r]: the file's, with the rule's own `optimizer:` keys over it.
  OptimizerSpec optimizer_for(std::size_t r) const;
};

// What loading reads besides the file itself. `plast validate` checks a file without the
// outputs of other studies it names (a from_store rule's store, a distillation teacher), which
// a clean clone does not have yet; running reads them, and a missing one fails at its place.
enum class Inputs { read, skip };

// Reads a study file of kind train:
//   kind:      train
//   task:      {type: fashion_mnist, validation_fraction: 0.1}
//   rule:      {type: feedback_alignment, scale: 1}      # or rules: [backprop, {type: ...}]
//              a rule entry may carry its own `optimizer: {lr: 1e-4}` over the one below
//              or be a study's result: {type: teacher_signal, from_store: out/x.sqlite, theta: mean}
//              (path relative to the working directory; theta: best (default) or mean)
//   student:   {hidden: [256, 256], activation: tanh, init_gain: 1}   # left out: the task's default
//   optimizer: {type: momentum, lr: 0.01, momentum: 0.9, weight_decay: 0}
//   training:  {epochs: 20, batch: 64, eval_every: 0, max_steps: 0}
//   seeds:     [1, 2, 3]                                  # or seed: 1
TrainConfig load_train_config(const ConfigNode& root, Inputs inputs = Inputs::read);

// What `plast compare` runs: the rules, student, optimizer, budget and seeds of a train
// config (read by the same code, with the same checks), over a list of tasks.
struct CompareTask {
  NamedComponent task;
  // The task's name in tables, files and JSON rows: `name:` if given, else its type, or
  // "type(param=value,...)" (the parameters written) when the type is listed more than once.
  std::string label;
  std::optional<double> target_loss;       // report the steps until the test loss is <= this
  std::optional<double> target_accuracy;   // ... until the test accuracy is >= this (in [0, 1])
  // Which split of the family the instances come from: meta_train (default) or meta_test, the
  // split a study never trains on (for families that keep one; mlp_teacher does, images do not).
  Split split = Split::meta_train;
  // Where target_accuracy was written, to place "not a classification task", which is known
  // only once the task is sampled.
  std::optional<ConfigNode> target_accuracy_node;
  // `distill: {teacher: FILE, temperature: T, hard_weight: α}`: train on the teacher's softened
  // outputs instead of the labels (tasks/distillation.hpp). The node places errors that are
  // known only once the task is sampled (a teacher of the wrong shape).
  std::optional<DistillationSpec> distill;
  std::optional<ConfigNode> distill_node;
  // With `networks:`, the file's task entries are expanded to one entry per (task, network):
  // `base` is the index of the first entry of the same task entry (they share its sampled
  // instances), `group` the task entry's own label, `network` an index into networks.
  std::size_t base = 0;
  std::string group;
  std::optional<std::size_t> network;
};

// One entry of a compare file's `networks:` list: a student, labelled by its hidden widths.
struct CompareNetwork {
  StudentChoice student;
  std::string label;   // "h300", "h1200x1200", "h-none"
};

struct CompareConfig {
  TrainConfig train;                      // train.task is unused: the tasks are below
  std::vector<std::string> rule_labels;   // one per train.rules entry, labelled as the tasks are
  std::vector<CompareTask> tasks;
  // `students:` (instead of `student:`): every task is run with each of these students, as
  // the entry "LABEL NETWORK" ("distilled h300"); empty: the one student of train.student.
  std::vector<CompareNetwork> networks;
};

// Reads a study file of kind compare: the keys of a train file, with `tasks:` (a list) instead
// of `task:` (one task is also accepted), and `name:` allowed in a rule or task entry:
//   kind: compare
//   tasks:
//     - {type: linear_teacher, train_size: 2000, target_loss: 0.05}
//     - {type: gaussian_clusters, target_accuracy: 0.8, split: meta_test}
//   rules: [backprop, feedback_alignment, {type: kolen_pollack, decay: 0.1, name: kp-0.1}]
//     - {type: fashion_mnist, name: distilled, distill: {teacher: out/t.weights, temperature: 4, hard_weight: 0}}
//   student / optimizer / training / seed(s): as in a train file
//   students: [{hidden: [300]}, {hidden: [100]}]   # instead of student: every task × each student
// Two entries with the same label are an error at the second ("repeats rules[0]").
CompareConfig load_compare_config(const ConfigNode& root, Inputs inputs = Inputs::read);

}  // namespace plast
