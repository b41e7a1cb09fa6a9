// Studies end to end: YAML validation with exact one-line errors, determinism across thread
// counts, exact resume after an interruption, and refusing a changed study file.
#include <doctest/doctest.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "lib/error.hpp"
#include "lib/store.hpp"
#include "search/registry.hpp"
#include "search/study.hpp"

using namespace plast;

namespace {

// A small Oja study: 6 generations of CMA-ES on 4 PCA tasks of 300 steps.
std::string small_study(const std::string& store, int generations = 6) {
  return "kind: search\n"
         "name: small\n"
         "seed: 3\n"
         "rule:\n"
         "  type: polynomial_hebbian\n"
         "  search:\n"
         "    pre*post: {init: 0, lower: -2, upper: 2}\n"
         "    post^2*w: {init: 0, lower: -2, upper: 2}\n"
         "task: {type: pca, steps: 300, samples: 4, held_out: 4}\n"
         "student: {activation: linear}\n"
         "optimizer: {type: sgd, lr: 0.02}\n"
         "training: {epochs: 1, batch: 1}\n"
         "strategy: {type: cma_es, sigma0: 0.5}\n"
         "budget: {generations: " +
         std::to_string(generations) + "}\nstore: " + store + "\n";
}

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("plast-test-" + std::to_string(getpid()) + "-" + name)).string();
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name) : path(temp_path(name)) { std::filesystem::remove(path); }
  ~TempFile() {
    std::filesystem::remove(path);
    std::filesystem::remove(path + "-wal");
    std::filesystem::remove(path + "-shm");
    std::filesystem::remove(path + "-journal");
  }
};

std::string error_of(const std::string& yaml) {
  try {
    load_study(ConfigNode::load_string(yaml, "s.yaml"));
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

void check_same_candidates(const Store& a, const Store& b) {
  const auto ca = a.candidates(), cb = b.candidates();
  REQUIRE(ca.size() == cb.size());
  for (std::size_t i = 0; i < ca.size(); ++i) {
    CHECK(ca[i].generation == cb[i].generation);
    CHECK(ca[i].member == cb[i].member);
    CHECK(ca[i].theta == cb[i].theta);
    CHECK(same_bits(ca[i].fitness, cb[i].fitness));
    CHECK(ca[i].status == cb[i].status);
  }
}

}  // namespace

TEST_SUITE("search/study") {
  TEST_CASE("a study is validated before any work, each problem on one line with its place") {
    const std::string ok = small_study("/tmp/x.sqlite");
    CHECK(error_of(ok) == "(no error)");
    auto replace = [&](const std::string& from, const std::string& to) {
      std::string s = ok;
      s.replace(s.find(from), from.size(), to);
      return s;
    };
    CHECK(error_of(replace("seed: 3\n", "")) == "s.yaml:1:1: missing required key 'seed'");
    CHECK(error_of(replace("type: cma_es", "type: cma")).find("s.yaml:13:18: strategy.type = cma: unknown strategy (known: cma_es, ") == 0);
    CHECK(error_of(replace("type: polynomial_hebbian", "type: polynomial_hebian"))
              .find("s.yaml:5:9: rule.type = polynomial_hebian: unknown rule (did you mean 'polynomial_hebbian'?") == 0);
    CHECK(error_of(replace("sigma0: 0.5", "sigma0: 0.5, population: 1")) ==
          "s.yaml:13:51: strategy.population = 1: must be in [2, 1e+06]");
    // 0 is not "the default": the default is what a study gets when it leaves the key out.
    CHECK(error_of(replace("sigma0: 0.5", "sigma0: 0.5, population: 0")) ==
          "s.yaml:13:51: strategy.population = 0: must be in [2, 1e+06]");
    CHECK(error_of(replace("sigma0: 0.5", "sigma0: 0.5, population: -4")) ==
          "s.yaml:13:51: strategy.population = -4: must be in [2, 1e+06]");
    CHECK(error_of(replace("sigma0: 0.5", "sigma0: 0")).find("s.yaml:13:34: strategy.sigma0 = 0: must be in") == 0);
    CHECK(error_of(replace("type: pca", "type: pcaa")).find("s.yaml:9:14: task.type = pcaa: unknown task (did you mean 'pca'?") == 0);
    CHECK(error_of(replace("sigma0: 0.5", "sigma0: -1")).find("s.yaml:13:34: strategy.sigma0 = -1: must be in [1e-12, 1e+12]") == 0);
    CHECK(error_of(replace("{init: 0, lower: -2, upper: 2}\n    post", "{init: 0, lower: 1, upper: -1}\n    post")) ==
          "s.yaml:7:32: rule.search.pre*post.lower = 1: lower bound 1.000000 is above upper bound -1.000000");
    CHECK(error_of(replace("pre*post: {init", "pre*psot: {init")) ==
          "s.yaml:7:5: rule.search.pre*psot: unknown key (did you mean 'pre*post'?)");
    CHECK(error_of(replace("samples: 4", "samples: 0")) == "s.yaml:9:40: task.samples = 0: must be in [1, 1e+05]");
    CHECK(error_of(replace("budget: {generations: 6}", "budget: {generations: 0}")) ==
          "s.yaml:14:23: budget.generations = 0: must be >= 1");
    CHECK(error_of(replace("lr: 0.02", "lr: -0.02")) == "s.yaml:11:28: optimizer.lr = -0.02: must be > 0");
    CHECK(error_of("name: x\nseed: [1\n").find("s.yaml:") == 0);
    CHECK(error_of(replace("kind: search\n", "")) == "s.yaml:1:1: missing required key 'kind'");
    CHECK(error_of(replace("kind: search", "kind: train")) ==
          "s.yaml:1:7: kind = train: plast run runs files of kind search (run this one with plast train)");
    CHECK(error_of(replace("kind: search", "kind: serach")) == "s.yaml:1:7: kind = serach: must be train, compare or search");
    CHECK(error_of(replace("seed: 3", "seeds: [3]")) ==
          "s.yaml:3:8: seeds: a search runs one seed (seed: N; plast run --seed N for others)");
    CHECK(error_of(replace("steps: 300,", "steps: 300, params: {steps: 1},")) ==
          "s.yaml:9:39: task.params: a component's parameters are written inline, beside its type ({type: pca, name: "
          "value, ...})");
  }

  TEST_CASE("the study's results are bitwise identical with 1 and 2 threads") {
    TempFile one("threads1.sqlite"), two("threads2.sqlite");
    StudySummary s1, s2;
    {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
      s1 = run_study(load_study(ConfigNode::load_string(small_study(one.path), "a.yaml")), false);
    }
    {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 2);
      s2 = run_study(load_study(ConfigNode::load_string(small_study(two.path), "a.yaml")), false);
    }
    CHECK(s1.best_theta == s2.best_theta);
    // The stored candidates are the evaluated θ: the best stored one is the summary's best θ.
    const auto stored = Store::open(one.path).candidates();
    const auto best = std::min_element(stored.begin(), stored.end(),
                                       [](const CandidateRecord& a, const CandidateRecord& b) { return a.fitness < b.fitness; });
    REQUIRE(best != stored.end());
    CHECK(best->theta == std::vector<double>(s1.best_theta.data(), s1.best_theta.data() + s1.best_theta.size()));
    CHECK(same_bits(s1.best_fitness, s2.best_fitness));
    CHECK(s1.evaluations == s2.evaluations);
    check_same_candidates(Store::open(one.path), Store::open(two.path));
  }

  TEST_CASE("store_candidates: best keeps each generation's best candidate only, and nothing else changes") {
    TempFile all("keep-all.sqlite"), best("keep-best.sqlite");
    const auto s_all = run_study(load_study(ConfigNode::load_string(small_study(all.path), "a.yaml")), false);
    const auto s_best =
        run_study(load_study(ConfigNode::load_string(small_study(best.path) + "store_candidates: best\n", "b.yaml")), false);
    CHECK(s_all.best_theta == s_best.best_theta);
    CHECK(same_bits(s_all.best_fitness, s_best.best_fitness));
    const Store a = Store::open(all.path), b = Store::open(best.path);
    CHECK(a.checkpoint()->strategy_state == b.checkpoint()->strategy_state);
    const auto kept = b.candidates();
    REQUIRE(kept.size() == 6);
    for (const auto& c : kept) {
      const auto generation = a.candidates(c.generation);
      const auto winner = std::min_element(generation.begin(), generation.end(),
                                           [](const CandidateRecord& x, const CandidateRecord& y) { return x.fitness < y.fitness; });
      CHECK(c.member == winner->member);
      CHECK(c.theta == winner->theta);
      CHECK(same_bits(c.fitness, winner->fitness));
    }
    CHECK(error_of(small_study("/tmp/x.sqlite") + "store_candidates: some\n") ==
          "s.yaml:16:19: store_candidates = some: must be all or best");
  }

  TEST_CASE("score.objective: final by default, curve on request, recorded in the store, bitwise with 1 and 2 threads") {
    const std::string base = small_study("/tmp/x.sqlite");
    CHECK(load_study(ConfigNode::load_string(base, "s.yaml")).evaluation.objective == MetaObjective::final_loss);
    CHECK(load_study(ConfigNode::load_string(base + "score: {objective: final}\n", "s.yaml")).evaluation.objective ==
          MetaObjective::final_loss);
    const std::string curve_tail = "score: {objective: curve}\n";
    CHECK(load_study(ConfigNode::load_string(base + curve_tail, "s.yaml")).evaluation.objective == MetaObjective::curve);
    CHECK(error_of(base + "score: {objective: area}\n") == "s.yaml:16:20: score.objective = area: must be final or curve");
    CHECK(error_of(base + "score: {objectiv: curve}\n") == "s.yaml:16:9: score.objectiv: unknown key (did you mean 'objective'?)");

    // The PCA students are scored every 50 of their 300 steps; the fitness is the curve's mean.
    TempFile one("curve1.sqlite"), two("curve2.sqlite"), final_store("final.sqlite");
    auto study = [&](const std::string& store, const std::string& tail) {
      std::string yaml = small_study(store, 3) + tail;
      yaml.replace(yaml.find("training: {epochs: 1, batch: 1}"), 31, "training: {epochs: 1, batch: 1, eval_every: 50}");
      return load_study(ConfigNode::load_string(yaml, "c.yaml"));
    };
    StudySummary s1, s2;
    {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 1);
      s1 = run_study(study(one.path, curve_tail), false);
    }
    {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, 2);
      s2 = run_study(study(two.path, curve_tail), false);
    }
    CHECK(s1.best_theta == s2.best_theta);
    CHECK(same_bits(s1.best_fitness, s2.best_fitness));
    check_same_candidates(Store::open(one.path), Store::open(two.path));
    CHECK(Store::open(one.path).study().yaml.find("objective: curve") != std::string::npos);
    // The same study scored by the final loss ranks other numbers: the objective is not ignored.
    const auto f = run_study(study(final_store.path, ""), false);
    CHECK(!same_bits(f.best_fitness, s1.best_fitness));
  }

  TEST_CASE("an interrupted study resumes exactly: every later candidate and the final state are bitwise equal") {
    TempFile whole("whole.sqlite"), broken("broken.sqlite");
    const StudySummary full = run_study(load_study(ConfigNode::load_string(small_study(whole.path), "a.yaml")), false);
    // Interrupt after generation 3 has been committed (what a kill during generation 4 leaves).
    const StudySpec spec = load_study(ConfigNode::load_string(small_study(broken.path), "a.yaml"));
    struct Interrupt {};
    CHECK_THROWS_AS(run_study(spec, false,
                              [](const GenerationProgress& p) {
                                if (p.generation == 3) throw Interrupt{};
                              }),
                    Interrupt);
    CHECK(Store::open(broken.path).generations().size() == 3);
    const StudySummary resumed = run_study(spec, true);
    CHECK(resumed.resumed);
    CHECK(resumed.best_theta == full.best_theta);
    CHECK(same_bits(resumed.best_fitness, full.best_fitness));
    CHECK(resumed.evaluations == full.evaluations);
    const Store a = Store::open(whole.path), b = Store::open(broken.path);
    check_same_candidates(a, b);
    CHECK(a.checkpoint()->strategy_state == b.checkpoint()->strategy_state);
    const auto ga = a.generations(), gb = b.generations();
    REQUIRE(ga.size() == gb.size());
    for (std::size_t i = 0; i < ga.size(); ++i) CHECK(same_bits(ga[i].step_size, gb[i].step_size));
    // The checkpoint round-trips: load then save gives the same bytes.
    const std::string bytes = b.checkpoint()->strategy_state;
    CHECK(strategy_registry().make(spec.strategy, spec.strategy_params)->load(bytes).save() == bytes);
  }

  TEST_CASE("resuming refuses a study file that changed, and keeps what the store holds") {
    TempFile store("changed.sqlite");
    const StudySpec spec = load_study(ConfigNode::load_string(small_study(store.path, 2), "a.yaml"));
    run_study(spec, false);
    const StudySpec changed = load_study(ConfigNode::load_string(small_study(store.path, 3), "a.yaml"));
    try {
      run_study(changed, true);
      FAIL("resumed a changed study");
    } catch (const Error& e) {
      CHECK(std::string(e.what()).find(store.path + ": the study file a.yaml changed since this store was created") == 0);
    }
    CHECK(Store::open(store.path).generations().size() == 2);
    // And a new run never overwrites an existing store.
    CHECK_THROWS_AS(run_study(spec, false), Error);
    CHECK(Store::open(store.path).generations().size() == 2);
  }
}
