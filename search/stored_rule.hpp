#pragma once
// A rule found by a study, read back from its store: what `plast compare` and `plast train`
// run for a rule entry {type: T, from_store: out/x.sqlite, theta: best | mean}, so that a
// meta-learned rule (a teacher, an initialization, a plasticity rule) is measured beside the
// classics in the same harness. The study's resolved YAML, kept in the store, rebuilds the
// rule space (for array spaces: sized by the study's student); θ is the best candidate
// evaluated (`best`) or the search distribution's final mean, clipped to the bounds (`mean`,
// what `plast inspect --theta mean` explains).
#include <memory>
#include <string>

#include <Eigen/Core>

#include "lib/learning_rule.hpp"
#include "lib/mlp.hpp"

namespace plast {

struct StoredRule {
  std::shared_ptr<const LearningRule> rule;
  std::string type;      // the study's rule type ("teacher_signal")
  std::string study;     // the study's name
  Eigen::VectorXd theta;
  long long generations = 0;   // stored generations
};

// Throws plast::Error: the store's own errors ("PATH: no such store", "PATH: not a plast study
// store (...)"), "PATH: no generation stored yet", "PATH: the stored study no longer loads
// (...)", and InvalidValue("theta", which, ...) for a choice other than best or mean.
StoredRule load_stored_rule(const std::string& path, const std::string& which);

}  // namespace plast
