#pragma once
// The registry of task families. Adding one: tasks/<name>.hpp/.cpp and one entry in
// tasks/registry.cpp.
#include "lib/registry.hpp"
#include "lib/task.hpp"

namespace plast {

using TaskRegistry = Registry<TaskFamily>;

void register_tasks(TaskRegistry& registry);
const TaskRegistry& task_registry();

}  // namespace plast
