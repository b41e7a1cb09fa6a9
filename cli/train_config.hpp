#pragma once
// What `plast train` runs: one task, one or more rules, seeds, a student, an optimizer and
// a budget. Read from YAML (every value checked, errors at file:line:col) and/or flags.
#include <cstdint>
#include <string>
#include <vector>

#include "lib/config.hpp"
#include "lib/optimizer.hpp"
#include "lib/params.hpp"
#include "lib/train.hpp"

namespace plast {

struct NamedComponent {
  std::string type;
  ParamValues params;
};

struct TrainConfig {
  NamedComponent task{"fashion_mnist", {}};
  std::vector<NamedComponent> rules{{"backprop", {}}};
  bool hidden_given = false;          // otherwise the task's default student
  bool activation_given = false;
  StudentSpec student;
  OptimizerSpec optimizer{.type = "momentum", .lr = 0.01};
  TrainBudget budget;
  std::vector<std::uint64_t> seeds{1};

  // Checks everything that does not need the registries' factories: known rule and task
  // names and their parameters, optimizer and budget values. Throws plast::Error.
  void validate() const;
};

// Reads a train YAML file:
//   task:      {type: fashion_mnist, validation_fraction: 0.1}
//   rule:      {type: feedback_alignment, scale: 1}      # or rules: [backprop, {type: ...}]
//   network:   {hidden: [256, 256], activation: tanh, init_gain: 1}
//   optimizer: {type: momentum, lr: 0.01, momentum: 0.9, weight_decay: 0}
//   training:  {epochs: 20, batch: 64, eval_every: 0, max_steps: 0}
//   seeds:     [1, 2, 3]                                  # or seed: 1
TrainConfig load_train_config(const ConfigNode& root);

}  // namespace plast
