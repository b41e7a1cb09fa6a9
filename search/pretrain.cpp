#include "search/pretrain.hpp"

#include <limits>
#include <string>
#include <vector>

#include "lib/error.hpp"
#include "lib/train.hpp"
#include "rules/meta_sgd.hpp"
#include "rules/registry.hpp"
#include "search/evaluator.hpp"

namespace plast {

void PretrainOptions::validate() const {
  if (tasks < 1) throw Error("pretrain tasks = " + std::to_string(tasks) + ": must be >= 1");
  if (epochs < 1) throw Error("pretrain epochs = " + std::to_string(epochs) + ": must be >= 1");
  if (batch < 1) throw Error("pretrain batch = " + std::to_string(batch) + ": must be >= 1");
  optimizer.validate();
}

std::shared_ptr<const LearningRule> pretrained_learner(const StudySpec& spec, const PretrainOptions& options) {
  options.validate();
  const EvaluationSpec& ev = spec.evaluation;
  std::vector<Task> tasks;
  Eigen::Index rows = 0;
  for (int t = 0; t < options.tasks; ++t) {
    tasks.push_back(ev.tasks->sample(spec.seed, task_index(0, t), Split::meta_train));
    const Task& task = tasks.back();
    if (task.trainer || !task.train) throw Error("pre-training: task " + task.name + " has no data to pool");
    rows += task.train->size() + (task.test ? task.test->size() : 0);
  }
  Task pooled = tasks.front();
  auto data = std::make_shared<Dataset>();
  data->x.resize(rows, pooled.input_size);
  data->y.resize(rows, pooled.output_size);
  Eigen::Index at = 0;
  for (const Task& task : tasks)
    for (const auto& part : {task.train, task.test}) {
      if (!part) continue;
      data->x.middleRows(at, part->size()) = part->x;
      data->y.middleRows(at, part->size()) = part->y;
      data->labels.insert(data->labels.end(), part->labels.begin(), part->labels.end());
      at += part->size();
    }
  pooled.train = data;
  pooled.validation = nullptr;
  pooled.scorer = nullptr;

  const StudentSpec student = ev.student.for_task(pooled);
  const auto backprop = rule_registry().make("backprop");
  const int batch = static_cast<int>(std::min<Eigen::Index>(options.batch, rows));
  RandomStream key(spec.seed, Purpose::init_weights, {std::numeric_limits<std::uint64_t>::max()});
  Student s = make_student(pooled, student, *backprop, options.optimizer, batch, key.next_u64());
  TrainBudget budget;
  budget.epochs = options.epochs;
  budget.batch = batch;
  budget.eval_every = std::numeric_limits<long long>::max();   // no curve: only the weights matter
  budget.evaluate_start = false;
  budget.alignment = false;
  if (train(s, *backprop, pooled, budget).outcome == Outcome::diverged)
    throw Error("pre-training diverged (pretrain lr = " + std::to_string(options.optimizer.lr) + ")");
  return std::make_shared<MetaSgd>(s.net, 1.0);
}

}  // namespace plast
