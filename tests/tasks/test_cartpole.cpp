// CartPole (tasks/cartpole.hpp) and the episodic inner loop (lib/episode.hpp): the Euler step
// against hand-computed golden values, known controllers, the task family's ranges and keys,
// fresh weights per episode, and train() on a control task.
#include <doctest/doctest.h>

#include <cmath>
#include <set>

#include "lib/episode.hpp"
#include "lib/error.hpp"
#include "lib/train.hpp"
#include "rules/abcd.hpp"
#include "rules/registry.hpp"
#include "tasks/cartpole.hpp"
#include "tasks/registry.hpp"

using namespace plast;

namespace {

// Plays `policy` (a function of the state) on a CartPole until the episode ends; the return.
template <class Policy>
long play(CartPole& env, Policy policy) {
  long steps = 0;
  while (!env.done()) {
    env.step(policy(env.state()));
    ++steps;
  }
  return steps;
}

std::shared_ptr<const TaskFamily> cartpole(const ParamValues& p = {}) { return task_registry().make("cartpole", p); }

Student policy_student(const Task& task, const LearningRule& rule, std::uint64_t seed, double lr = 1.0) {
  StudentSpec spec;
  spec.hidden = task.default_hidden;
  spec.activation = task.default_activation;
  OptimizerSpec sgd;
  sgd.type = "sgd";
  sgd.lr = lr;
  return make_student(task, spec, rule, sgd, 1, seed);
}

// The episodes a CartPole task trains by (Task::trainer).
const EpisodeTrainer& episodes_of(const Task& task) {
  const auto* episodes = dynamic_cast<const EpisodeTrainer*>(task.trainer.get());
  REQUIRE(episodes != nullptr);
  return *episodes;
}

std::shared_ptr<AbcdRule> global_abcd(double a, double b, double c, double d, bool normalize) {
  return std::make_shared<AbcdRule>(MlpShape{}, Sharing::global, Eigen::Vector4d(a, b, c, d), normalize);
}

}  // namespace

TEST_SUITE("tasks/cartpole") {
  TEST_CASE("one Euler step matches the hand-computed equations of motion (Gym CartPole-v1 constants)") {
    // Computed by hand from Barto et al.'s equations with g 9.8, m_c 1, m_p 0.1, l 0.5, F 10, τ 0.02:
    // action 1 from (0.01, −0.02, 0.03, 0.04): temp = (10 + 0.05·0.04²·sin 0.03)/1.1 = 9.0909113,
    // θ̈ = (9.8 sin 0.03 − cos 0.03 · temp)/(0.5 (4/3 − 0.1 cos² 0.03 / 1.1)) = −14.153436.
    const CartPoleParams p;
    const CartPoleState s{0.01, -0.02, 0.03, 0.04};
    const CartPoleState r = cartpole_step(p, s, 1);
    CHECK(r.x == doctest::Approx(0.0096).epsilon(1e-14));
    CHECK(r.x_dot == doctest::Approx(0.17467919574755525).epsilon(1e-12));
    CHECK(r.theta == doctest::Approx(0.0308).epsilon(1e-14));
    CHECK(r.theta_dot == doctest::Approx(-0.24306871796000815).epsilon(1e-12));
    const CartPoleState l = cartpole_step(p, s, 0);
    CHECK(l.x_dot == doctest::Approx(-0.21553901710278936).epsilon(1e-12));
    CHECK(l.theta_dot == doctest::Approx(0.3419952237760392).epsilon(1e-12));
    // Another pole: m_p 0.2, l 1.0, leaning left and turning right, pushed left.
    CartPoleParams q;
    q.pole_mass = 0.2;
    q.half_length = 1.0;
    const CartPoleState t = cartpole_step(q, CartPoleState{0.0, 0.0, -0.1, 0.5}, 0);
    CHECK(t.x == 0.0);
    CHECK(t.x_dot == doctest::Approx(-0.18752290120704268).epsilon(1e-12));
    CHECK(t.theta == doctest::Approx(-0.09).epsilon(1e-14));
    CHECK(t.theta_dot == doctest::Approx(0.6252640385924366).epsilon(1e-12));
  }

  TEST_CASE("failure at |x| > 2.4 or |θ| > 12°, the time limit at max_steps, reward 1 per step") {
    const CartPoleParams p;
    CHECK_FALSE(cartpole_failed(p, {2.4, 0, 0, 0}));
    CHECK(cartpole_failed(p, {2.41, 0, 0, 0}));
    CHECK(cartpole_failed(p, {-2.41, 0, 0, 0}));
    CHECK_FALSE(cartpole_failed(p, {0, 0, 0.2094, 0}));
    CHECK(cartpole_failed(p, {0, 0, 0.2095, 0}));   // 12° = 0.20944 rad
    CHECK(cartpole_failed(p, {0, 0, -0.2095, 0}));
    CartPoleParams short_run;
    short_run.max_steps = 3;
    CartPole env(short_run, 1, 0, 0);
    env.reset(0);
    double total = 0.0;
    while (!env.done()) total += env.step(env.state().theta > 0 ? 1 : 0);
    CHECK(total == 3.0);
    CHECK(env.steps() == 3);
  }

  TEST_CASE("episode starts are U(±0.05) in every coordinate, keyed by (seed, task, split, episode)") {
    const CartPoleParams p;
    std::set<double> seen;
    for (std::uint64_t e = 0; e < 50; ++e) {
      CartPole a(p, 3, 7, 0), b(p, 3, 7, 0);
      a.reset(e);
      b.reset(e);
      const auto& s = a.state();
      CHECK(s.x == b.state().x);
      CHECK(s.theta_dot == b.state().theta_dot);
      for (double v : {s.x, s.x_dot, s.theta, s.theta_dot}) {
        CHECK(std::abs(v) <= 0.05);
        seen.insert(v);
      }
      CartPole other_split(p, 3, 7, 1), other_task(p, 3, 8, 0);
      other_split.reset(e);
      other_task.reset(e);
      CHECK(other_split.state().x != s.x);
      CHECK(other_task.state().x != s.x);
    }
    CHECK(seen.size() == 200);
    RowVector o(4);
    CartPole env(p, 1, 0, 0);
    env.reset(2);
    env.observe(o);
    CHECK(o(0) == static_cast<float>(env.state().x));
    CHECK(o(3) == static_cast<float>(env.state().theta_dot));
  }

  TEST_CASE("pushing toward the pole's lean (with its angular velocity) balances 500 steps; a constant push fails in < 50") {
    const auto family = cartpole();
    for (std::uint64_t task = 0; task < 5; ++task) {
      for (Split split : {Split::meta_train, Split::meta_test}) {
        const CartPoleParams p = static_cast<const CartPoleTask&>(*family).physics(11, task, split);
        CartPole env(p, 11, task, 0);
        for (std::uint64_t e = 0; e < 10; ++e) {
          CAPTURE(task);
          CAPTURE(e);
          env.reset(e);
          CHECK(play(env, [](const CartPoleState& s) { return s.theta + 0.5 * s.theta_dot > 0 ? 1 : 0; }) == 500);
          env.reset(e);
          CHECK(play(env, [](const CartPoleState&) { return 1; }) < 50);
          env.reset(e);
          CHECK(play(env, [](const CartPoleState&) { return 0; }) < 50);
        }
      }
    }
  }

  TEST_CASE("the family: meta-train poles in the training ranges, meta-test poles outside them, test_length fixes it") {
    const auto family = cartpole();
    const auto& cp = static_cast<const CartPoleTask&>(*family);
    bool shorter = false, longer = false;
    for (std::uint64_t i = 0; i < 200; ++i) {
      const CartPoleParams tr = cp.physics(4, i, Split::meta_train);
      CHECK(tr.half_length >= 0.4);
      CHECK(tr.half_length <= 0.6);
      CHECK(tr.pole_mass >= 0.05);
      CHECK(tr.pole_mass <= 0.15);
      const CartPoleParams te = cp.physics(4, i, Split::meta_test);
      CHECK((te.half_length < 0.4 || te.half_length > 0.6));
      CHECK(te.half_length >= 0.3);
      CHECK(te.half_length <= 0.9);
      CHECK((te.pole_mass < 0.05 || te.pole_mass > 0.15));
      shorter |= te.half_length < 0.4;
      longer |= te.half_length > 0.6;
      CHECK(cp.physics(4, i, Split::meta_train).half_length == tr.half_length);   // same key, same pole
    }
    CHECK(shorter);
    CHECK(longer);
    const auto fixed = cartpole({{"test_length", 2.0}});
    CHECK(static_cast<const CartPoleTask&>(*fixed).physics(4, 3, Split::meta_test).half_length == 2.0);
    CHECK(static_cast<const CartPoleTask&>(*fixed).physics(4, 3, Split::meta_train).half_length < 0.6);
    const Task t = family->sample(4, 0, Split::meta_train);
    CHECK(t.input_size == 4);
    CHECK(t.output_size == 2);
    CHECK(t.default_hidden == std::vector<int>{32, 16});
    CHECK(episodes_of(t).episodes == 1);
    CHECK(uniform_outside(0.0, 0.3, 0.9, 0.4, 0.6) == 0.3);
    CHECK(uniform_outside(0.125, 0.3, 0.9, 0.4, 0.6) == doctest::Approx(0.35));
    CHECK(uniform_outside(0.5, 0.3, 0.9, 0.4, 0.6) == doctest::Approx(0.7));
  }

  TEST_CASE("bad family parameters are named") {
    CHECK_THROWS_WITH_AS(cartpole({{"length_min", 0.7}}), doctest::Contains("length_max = 0.6: must be >= length_min"),
                         InvalidValue);
    CHECK_THROWS_WITH_AS(cartpole({{"test_length_min", 0.45}, {"test_length_max", 0.55}}),
                         doctest::Contains("held-out range lies inside the meta-train range"), InvalidValue);
    CHECK_NOTHROW(cartpole({{"test_length_min", 0.45}, {"test_length_max", 0.55}, {"test_length", 0.25}}));
    CHECK_THROWS_AS(cartpole({{"episodes", 0}}), InvalidValue);
  }

  TEST_CASE("fresh weights every episode: keyed by (student seed, episode), independent of what came before") {
    const Task task = cartpole()->sample(1, 0, Split::meta_train);
    const auto rule = global_abcd(0.1, -0.05, 0.02, 0.01, true);
    Student a = policy_student(task, *rule, 42), b = policy_student(task, *rule, 42), c = policy_student(task, *rule, 43);
    fresh_episode_weights(a, 3);
    fresh_episode_weights(b, 3);
    fresh_episode_weights(c, 3);
    CHECK(a.net.weight(0) == b.net.weight(0));
    CHECK(a.net.weight(2) == b.net.weight(2));
    CHECK(a.net.weight(0) != c.net.weight(0));
    fresh_episode_weights(b, 4);
    CHECK(a.net.weight(1) != b.net.weight(1));
    CHECK(b.net.bias(1).isZero());
    // Episode 2's return does not depend on episodes 0 and 1 having been played first.
    auto env = episodes_of(task).make();
    EpisodeWorkspace ws(a.net, 4);
    Student fresh = policy_student(task, *rule, 42);
    for (std::uint64_t e = 0; e < 2; ++e) run_episode(a, *rule, *env, ws, e);
    const double after = run_episode(a, *rule, *env, ws, 2);
    const double alone = run_episode(fresh, *rule, *env, ws, 2);
    CHECK(after == alone);
    CHECK(a.net.weight(1) == fresh.net.weight(1));
  }

  TEST_CASE("within an episode the policy learns through the rule: W ← W + η·Δw every step, then normalized") {
    const Task task = cartpole()->sample(2, 0, Split::meta_train);
    const auto rule = global_abcd(0.3, 0.1, -0.2, 0.05, false);
    Student s = policy_student(task, *rule, 9, 0.01);
    auto env = episodes_of(task).make();
    EpisodeWorkspace ws(s.net, 4);
    fresh_episode_weights(s, 0);
    s.rule_state = rule->make_state(s.net, 1, RandomStream(9, Purpose::feedback));
    env->reset(0);
    // By hand: one step of Δw_ij = η (A pre_j post_i + B pre_j + C post_i + D) on layer 0.
    const Matrix w0 = s.net.weight(0);
    RowVector obs(4);
    env->observe(obs);
    const Eigen::VectorXf post = (w0 * obs.transpose()).array().tanh().matrix();
    const double reward = episode_step(s, *rule, *env, ws, 0);
    CHECK(reward == 1.0);
    for (int i = 0; i < 32; ++i)
      for (int j = 0; j < 4; ++j) {
        const float dw = 0.01f * (0.3f * obs(j) * post(i) + 0.1f * obs(j) - 0.2f * post(i) + 0.05f);
        CHECK(s.net.weight(0)(i, j) == doctest::Approx(w0(i, j) + dw).epsilon(1e-5));
      }
    CHECK(static_cast<CartPole&>(*env).steps() == 1);
    // With normalization every layer's largest |w| is 1 after every step.
    const auto normalized = global_abcd(0.3, 0.1, -0.2, 0.05, true);
    Student n = policy_student(task, *normalized, 9, 0.01);
    fresh_episode_weights(n, 0);
    n.rule_state = normalized->make_state(n.net, 1, RandomStream(9, Purpose::feedback));
    env->reset(0);
    for (std::uint64_t t = 0; t < 5; ++t) episode_step(n, *normalized, *env, ws, t);
    for (int l = 0; l < 3; ++l) CHECK(n.net.weight(l).cwiseAbs().maxCoeff() == 1.0f);
  }

  TEST_CASE("train() on a control task: test_loss = −(mean return), deterministic, one point per episode") {
    const Task task = cartpole({{"episodes", 4}})->sample(3, 0, Split::meta_train);
    const auto rule = rule_registry().make("abcd", {{"A", 0.2}, {"B", -0.1}, {"C", 0.05}, {"D", 0.0}});
    TrainBudget budget;
    Student s = policy_student(task, *rule, 5, 0.5), again = policy_student(task, *rule, 5, 0.5);
    const TrainResult r = train(s, *rule, task, budget);
    const TrainResult q = train(again, *rule, task, budget);
    REQUIRE(r.curve.size() == 4);
    CHECK(r.outcome == Outcome::ok);
    double sum = 0.0;
    for (const auto& p : r.curve) {
      CHECK(-p.train_loss >= 1.0);
      CHECK(-p.train_loss <= 500.0);
      sum += -p.train_loss;
    }
    CHECK(r.last().test_loss == doctest::Approx(-sum / 4).epsilon(1e-12));
    CHECK(r.steps == static_cast<long long>(sum));
    CHECK(r.last().epoch == 4.0);
    CHECK(q.last().test_loss == r.last().test_loss);
    CHECK(q.steps == r.steps);
    budget.eval_every = 1000000;   // the evaluator's setting: one point at the end
    Student t = policy_student(task, *rule, 5, 0.5);
    const TrainResult one = train(t, *rule, task, budget);
    REQUIRE(one.curve.size() == 1);
    CHECK(one.last().test_loss == r.last().test_loss);
  }

  TEST_CASE("a rule that blows the weights up is a diverged outcome") {
    const Task task = cartpole({{"episodes", 3}})->sample(3, 0, Split::meta_train);
    const auto rule = global_abcd(1e3, 1e3, 1e3, 1e3, false);
    Student s = policy_student(task, *rule, 5, 1e36);   // ABCD's Δw is bounded: only a huge η overflows
    const TrainResult r = train(s, *rule, task, TrainBudget{});
    CHECK(r.outcome == Outcome::diverged);
    CHECK(r.curve.size() >= 1);
  }
}
