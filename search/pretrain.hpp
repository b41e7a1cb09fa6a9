#pragma once
// The "pre-trained, then fine-tuned" baseline of few-shot learning (Finn et al. 2017, §5.1:
// "pretrained on all of the tasks and then fine-tuned"): ONE network trained by backprop on the
// pooled data of many meta-train tasks, then used as the initialization of every held-out task,
// which it learns by plain gradient steps like any other learner. On a task family whose tasks
// disagree (sinusoids of random phase) it learns the family's mean function; a meta-learned
// initialization must beat it to show that it learned more than the average task.
//
// Pooled data: the training AND test rows of meta-train tasks 0 … tasks−1 of generation 0
// (meta-training data only; held-out tasks are never touched). The network has the study's
// student shape and is trained by the given optimizer, shuffled minibatches, `epochs` passes.
#include <memory>

#include "lib/learning_rule.hpp"
#include "lib/optimizer.hpp"
#include "search/study.hpp"

namespace plast {

struct PretrainOptions {
  int tasks = 1000;                                       // meta-train tasks pooled
  int epochs = 20;
  int batch = 64;
  OptimizerSpec optimizer{.type = "adam", .lr = 1e-3};
  void validate() const;   // throws plast::Error naming the wrong value
};

// The pre-trained network, as a learner (rules/meta_sgd.hpp: that initialization and one
// rate, 1, everywhere, so the study's optimizer alone sets the fine-tuning rate). Deterministic:
// the student and the minibatch order come from the study's seed. Throws plast::Error for a
// control task (no data to pool).
std::shared_ptr<const LearningRule> pretrained_learner(const StudySpec& spec, const PretrainOptions& options);

}  // namespace plast
