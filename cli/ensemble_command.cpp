#include "cli/ensemble_command.hpp"

#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/ensemble.hpp"
#include "lib/error.hpp"
#include "lib/train.hpp"
#include "lib/weights_file.hpp"
#include "tasks/registry.hpp"

namespace plast {
namespace {

struct EnsembleFlags {
  std::vector<std::string> members;
  std::string out;
  std::string task;
  std::uint64_t seed = 1;
};

// Validation and test accuracy of one network on the task instance, in percent.
std::string accuracies(const Mlp& net, const Task& task) {
  ForwardCache cache(net.shape(), 1000);
  char line[64];
  const double val = task.validation && !task.validation->empty() ? evaluate(net, task, *task.validation, cache).accuracy : 0.0;
  const double test = evaluate(net, task, *task.test, cache).accuracy;
  std::snprintf(line, sizeof line, "%8.2f%%  %8.2f%%", 100.0 * val, 100.0 * test);
  return line;
}

void run_ensemble(const EnsembleFlags& f) {
  std::vector<Mlp> members;
  for (const auto& path : f.members) members.push_back(load_weights(path));
  const Mlp merged = logit_ensemble(members);
  // The task is checked before anything is written: a bad --task leaves no file behind.
  std::optional<Task> task;
  if (!f.task.empty()) {
    task = task_registry().make(f.task)->sample(f.seed, 0, Split::meta_train);
    if (!task->classification) throw Error("plast ensemble: --task " + f.task + " is not a classification task");
    if (task->input_size != merged.input_size() || task->output_size != merged.output_size())
      throw Error("plast ensemble: the members are " + members.front().shape().str() + ": task " + f.task + " has " +
                  std::to_string(task->input_size) + " inputs and " + std::to_string(task->output_size) + " outputs");
  }
  save_weights(merged, f.out);
  std::cout << "plast ensemble: " << members.size() << " members, " << ensemble_parameters(members)
            << " parameters (the merged " << merged.shape().str() << " network stores " << merged.num_parameters()
            << "), written to " << f.out << "\n";
  if (!task) return;
  std::cout << "accuracy on " << f.task << " (seed " << f.seed << "'s split):\n  network          validation      test\n";
  for (std::size_t k = 0; k < members.size(); ++k) {
    char name[32];
    std::snprintf(name, sizeof name, "  member %-7zu", k + 1);
    std::cout << name << accuracies(members[k], *task) << "  " << f.members[k] << "\n";
  }
  std::cout << "  ensemble       " << accuracies(merged, *task) << "\n";
}

}  // namespace

void add_ensemble_command(CLI::App& app) {
  auto f = std::make_shared<EnsembleFlags>();
  CLI::App* cmd = app.add_subcommand(
      "ensemble", "Merge trained networks into one whose logits are their mean (an ensemble teacher for distillation)");
  cmd->add_option("members", f->members, "weights files (plast train --save-weights)")->required();
  cmd->add_option("--out", f->out, "where to write the merged network")->required();
  cmd->add_option("--task", f->task, "also print each member's and the ensemble's accuracy on this task (default parameters)");
  cmd->add_option("--seed", f->seed, "the task instance (its validation split) for --task (default 1)");
  cmd->callback([f] { run_ensemble(*f); });
}

}  // namespace plast
