#include "lib/episode.hpp"

#include <chrono>
#include <cmath>

#include "lib/error.hpp"
#include "lib/float_mode.hpp"

namespace plast {
namespace {

// The first index of the episode weights' key: keeps them apart from make_student's
// (seed, init_weights) stream, which has no indices.
constexpr std::uint64_t kEpisodeInit = 0x657069736f6465ULL;   // "episode"

}  // namespace

void fresh_episode_weights(Student& student, std::uint64_t episode) {
  RandomStream rng(student.seed, Purpose::init_weights, {kEpisodeInit, episode});
  student.net.init_glorot(rng, student.init_gain);
}

int argmax_action(const Eigen::Ref<const RowVector>& outputs) {
  int best = 0;
  for (Eigen::Index i = 1; i < outputs.size(); ++i)
    if (outputs(i) > outputs(best)) best = static_cast<int>(i);
  return best;
}

EpisodeWorkspace::EpisodeWorkspace(const Mlp& net, int observation_size)
    : cache(net.shape(), 1), observation(1, observation_size), zero_delta(Matrix::Zero(1, net.output_size())),
      zero_target(Matrix::Zero(1, net.output_size())), update(Gradients::like(net)) {}

double episode_step(Student& student, const LearningRule& rule, Environment& env, EpisodeWorkspace& ws,
                    std::uint64_t step) {
  Mlp& net = student.net;
  env.observe(ws.observation.row(0));
  forward(net, ws.observation, ws.cache);
  const int action = argmax_action(ws.cache.output().row(0));
  const Eigen::Ref<const Matrix> delta(ws.zero_delta), target(ws.zero_target);
  const StepSignals signals{net, ws.cache, delta, target, step};
  const auto eta = student.optimizer->plain_step_size();
  if (!eta || !rule.apply_sgd_step(signals, *student.rule_state, *eta, net)) {
    rule.compute_update(signals, *student.rule_state, ws.update);
    student.optimizer->apply(net, ws.update);
    rule.after_update(net, *student.rule_state);
  }
  return env.step(action);
}

double run_episode(Student& student, const LearningRule& rule, Environment& env, EpisodeWorkspace& ws,
                   std::uint64_t episode, long long* steps) {
  fresh_episode_weights(student, episode);
  rule.initialize(student.net);   // a learned initialization replaces every episode's draw
  student.rule_state = rule.make_state(student.net, 1, RandomStream(student.seed, Purpose::feedback, {episode}));
  env.reset(episode);
  double total = 0.0;
  std::uint64_t t = 0;
  while (!env.done()) total += episode_step(student, rule, env, ws, t++);
  if (steps) *steps += static_cast<long long>(t);
  return total;
}

TrainResult EpisodeTrainer::train(Student& student, const LearningRule& rule, const Task& task,
                                  const TrainBudget& budget, const CurveCallback& on_point) const {
  budget.validate();
  if (!make) throw Error("task " + task.name + ": no environment");
  if (episodes < 1) throw InvalidValue("episodes", episodes, "must be >= 1");
  const FlushSubnormals fast_floats;
  auto env = make();
  if (env->observation_size() != student.net.input_size() || env->action_count() != student.net.output_size())
    throw Error("task " + task.name + ": the environment has " + std::to_string(env->observation_size()) +
                " observations and " + std::to_string(env->action_count()) + " actions, the policy is " +
                student.net.shape().str());
  EpisodeWorkspace ws(student.net, env->observation_size());

  TrainResult result;
  result.curve.reserve(static_cast<std::size_t>(episodes));
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  double sum = 0.0;
  long long steps = 0;
  int done = 0;
  auto record = [&](double last_return) {
    CurvePoint p;
    p.step = steps;
    p.epoch = done;
    p.train_loss = -last_return;
    p.test_loss = -sum / done;
    result.curve.push_back(p);
    if (on_point) on_point(p);
  };
  double last = 0.0;
  for (int e = 0; e < episodes; ++e) {
    last = run_episode(student, rule, *env, ws, static_cast<std::uint64_t>(e), &steps);
    sum += last;
    ++done;
    if (!student.net.all_finite()) {
      result.outcome = Outcome::diverged;
      break;
    }
    if (budget.eval_every == 0 && e + 1 < episodes) record(last);
  }
  result.train_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  record(last);
  result.steps = steps;
  result.train_samples_per_s = result.train_seconds > 0 ? static_cast<double>(steps) / result.train_seconds : 0.0;
  return result;
}

}  // namespace plast
