#include "search/stored_rule.hpp"

#include <optional>

#include "lib/config.hpp"
#include "lib/error.hpp"
#include "lib/store.hpp"
#include "search/registry.hpp"
#include "search/study.hpp"

namespace plast {

StoredRule load_stored_rule(const std::string& path, const std::string& which) {
  if (which != "best" && which != "mean") throw InvalidValue("theta", which, "must be best or mean");
  const Store store = Store::open(path);
  const auto checkpoint = store.checkpoint();
  if (!checkpoint) throw Error(path + ": no generation stored yet");
  std::optional<StudySpec> spec;
  try {   // a store written by an older plast may name what this one no longer knows
    spec = load_study(ConfigNode::load_string(store.study().yaml, path + " (stored study)"));
  } catch (const Error& e) {
    throw Error(path + ": the stored study no longer loads (" + e.what() + ")");
  }
  StoredRule r;
  r.type = spec->rule.type;
  r.study = store.study().name;
  r.generations = checkpoint->next_generation;
  if (which == "mean") {
    const auto strategy = strategy_registry().make(spec->strategy, spec->strategy_params);
    r.theta = strategy->mean(strategy->load(checkpoint->strategy_state)).cwiseMax(spec->lower).cwiseMin(spec->upper);
  } else {
    r.theta = Eigen::Map<const Eigen::VectorXd>(checkpoint->best_theta.data(),
                                                static_cast<Eigen::Index>(checkpoint->best_theta.size()));
  }
  if (r.theta.size() != spec->evaluation.space->dimension())
    throw Error(path + ": θ has " + std::to_string(r.theta.size()) + " values, the study's rule space " +
                std::to_string(spec->evaluation.space->dimension()));
  try {
    r.rule = spec->evaluation.space->make(r.theta);
  } catch (const Error& e) {
    throw Error(path + ": the stored θ gives no rule (" + e.what() + ")");
  }
  return r;
}

}  // namespace plast
