#pragma once
// The episodic inner loop of control tasks: a policy network that learns only through its
// rule while it acts, in the setting of Najarro & Risi 2020 ("Meta-learning through Hebbian
// plasticity in random networks", NeurIPS 33, section 3). At the start of EVERY episode the
// student gets fresh random weights, keyed by (student seed, episode index), and a fresh rule
// state; then, every time step:
//   1. forward the observation (a batch of one row),
//   2. the rule's update from that forward pass (StepSignals with output_delta = target = 0:
//      there is no error signal in this setting), applied by the student's optimizer
//      (SGD: W ← W − η·update, so a rule writes −Δw) and the rule's after_update hook,
//   3. the action — the index of the largest output (argmax; ties go to the lower index) — is
//      taken from the outputs of step 1, and the environment steps.
// Step 2 before step 3 changes nothing the policy sees this step (the action comes from the
// forward pass of step 1); Najarro & Risi's code steps the environment first, then updates:
// the same trajectory. The return of an episode is the sum of its rewards (CartPole: steps
// survived). The score is test_loss = −(mean return over the task's episodes), so the
// outer loop, which minimizes, maximizes the return.
//
// Biases: the student's own (zero after Glorot init); a rule that leaves them alone (ABCD)
// keeps them zero, like Najarro & Risi's bias-free networks.
// Optimizer state (momentum, Adam moments) is the student's, made once: it is not reset
// between episodes. Najarro & Risi's setting is plain SGD, which has none.
// No heap allocation per time step: every buffer is made before the first episode (the rule
// state once per episode).
#include <cstdint>
#include <functional>
#include <memory>

#include "lib/tensor.hpp"
#include "lib/train.hpp"

namespace plast {

// A control environment with discrete actions. It owns its physical parameters and its key,
// so that reset(e) starts episode e the same way for every student scored on the task
// (common random numbers across the members of a generation).
class Environment {
 public:
  virtual ~Environment() = default;
  virtual int observation_size() const = 0;
  virtual int action_count() const = 0;
  // Starts episode `episode`, its initial state drawn from the environment's key and `episode`.
  virtual void reset(std::uint64_t episode) = 0;
  // The current observation (1 × observation_size), without allocating.
  virtual void observe(Eigen::Ref<RowVector> observation) const = 0;
  // Applies `action` (in [0, action_count)) for one time step and returns its reward.
  virtual double step(int action) = 0;
  // The episode is over: failure, or the time limit.
  virtual bool done() const = 0;
};

// The training procedure of a control task (Task::trainer): how to make its environment and how
// many episodes score one student. train() hands it the run: the task's episodes, one curve
// point per episode when budget.eval_every == 0 (train_loss = −return of that episode,
// test_loss = −mean return so far, epoch = episodes done), otherwise one point at the end.
// TrainResult::steps counts time steps; outcome is diverged when the weights stop being finite
// (the episodes stop there). The task's datasets are empty.
struct EpisodeTrainer final : TaskTrainer {
  std::function<std::unique_ptr<Environment>()> make;
  int episodes = 1;

  TrainResult train(Student& student, const LearningRule& rule, const Task& task, const TrainBudget& budget,
                    const CurveCallback& on_point) const override;
};

// Weights of episode `episode`: Glorot uniform with the student's gain, keyed by
// (student seed, init_weights, {kEpisodeInit, episode}) — never the key make_student used.
void fresh_episode_weights(Student& student, std::uint64_t episode);

// The index of the largest entry of a row (the first one on ties); 0 for a row of NaNs.
int argmax_action(const Eigen::Ref<const RowVector>& outputs);

// The per-time-step buffers, allocated once per student.
struct EpisodeWorkspace {
  ForwardCache cache;           // capacity 1: one observation per step
  Matrix observation;           // 1 × inputs
  Matrix zero_delta, zero_target;   // 1 × outputs, always zero: no error signal
  Gradients update;
  EpisodeWorkspace(const Mlp& net, int observation_size);
};

// One time step of the loop above; returns the reward. Allocates nothing.
double episode_step(Student& student, const LearningRule& rule, Environment& env, EpisodeWorkspace& ws,
                    std::uint64_t step);

// Runs one episode from fresh weights (replaced by the rule's own when it has one:
// LearningRule::initialize) and a fresh rule state; returns its return.
double run_episode(Student& student, const LearningRule& rule, Environment& env, EpisodeWorkspace& ws,
                   std::uint64_t episode, long long* steps = nullptr);

}  // namespace plast
