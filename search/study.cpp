#include "search/study.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <future>
#include <optional>
#include <limits>

#include <yaml-cpp/yaml.h>

#include "lib/config_sections.hpp"
#include "lib/error.hpp"
#include "lib/store.hpp"
#include "rules/registry.hpp"
#include "search/registry.hpp"
#include "tasks/registry.hpp"

namespace plast {
namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end(), [](double a, double b) {
    if (std::isnan(a)) return false;
    if (std::isnan(b)) return true;
    return a < b;
  });
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

// A component written {type: NAME, its parameters inline, `entry_keys`}, built from its
// registry; the component's own checks (one parameter bounded by another) fail at the value.
template <class T>
std::shared_ptr<const T> read_component_at(const ConfigNode& node, const Registry<T>& registry, std::string& type,
                                           ParamValues& params, const std::vector<std::string>& entry_keys) {
  std::vector<std::string> keys{"type"};
  keys.insert(keys.end(), entry_keys.begin(), entry_keys.end());
  type = read_type(node.at("type"), registry);
  params = read_params(node, registry, type, keys);
  try {
    return registry.make(type, params);
  } catch (const InvalidValue& e) {
    if (node.has(e.key())) node.at(e.key()).fail(e.problem());
    node.fail(e.what());
  }
}

// task: {type, its parameters, samples, held_out}. Search fitness reads only selection data
// (validation, or a test set of the instance's own): a task without it fails here.
void read_search_task(const ConfigNode& task, StudySpec& s) {
  auto& ev = s.evaluation;
  ev.tasks = read_component_at(task, task_registry(), s.task_type, s.task_params, {"samples", "held_out"});
  ev.tasks_per_generation = static_cast<int>(task.get_int("samples", 8, Range::closed(1, 100000)));
  s.held_out = static_cast<int>(task.get_int("held_out", 32, Range::closed(0, 100000)));
}

// The student's shape, which sizes array spaces: its input and output sizes come from the
// task (one meta-train task is sampled to learn them).
MlpShape student_shape(const Task& sample, const StudentChoice& choice) {
  const StudentSpec student = choice.for_task(sample);
  MlpShape shape;
  shape.sizes.push_back(sample.input_size);
  for (int h : student.hidden) shape.sizes.push_back(h);
  shape.sizes.push_back(sample.output_size);
  shape.hidden = student.activation;
  shape.output = sample.output_activation;
  return shape;
}

void read_score(const ConfigNode& score, EvaluationSpec& ev) {
  score.expect_keys({"aggregation", "objective"});
  if (auto agg = score.find("aggregation")) {
    const std::string a = agg->as_string();
    if (a == "mean") ev.aggregation = Aggregation::mean;
    else if (a == "worst") ev.aggregation = Aggregation::worst;
    else agg->fail("must be mean or worst");
  }
  if (auto objective = score.find("objective")) {
    const std::string o = objective->as_string();
    if (o == "final") ev.objective = MetaObjective::final_loss;
    else if (o == "curve") ev.objective = MetaObjective::curve;
    else objective->fail("must be final or curve");
  }
}

// strategy, budget, score, store, store_candidates: the outer loop and where it is kept.
void read_outer_loop(const ConfigNode& root, StudySpec& s) {
  ParamValues params;
  read_component_at(root.at("strategy"), strategy_registry(), s.strategy, params, {});
  s.strategy_params = params;
  if (auto budget = root.find("budget")) {
    budget->expect_keys({"generations", "max_evaluations", "wall_seconds"});
    s.generations = budget->get_int("generations", s.generations, Range::at_least(1));
    s.max_evaluations = budget->get_int("max_evaluations", 0, Range::non_negative());
    s.wall_seconds = budget->get_double("wall_seconds", 0.0, Range::non_negative());
  }
  if (auto score = root.find("score")) read_score(*score, s.evaluation);
  s.store = root.get_string("store", "out/" + s.name + ".sqlite");
  if (auto keep = root.find("store_candidates")) {
    const std::string k = keep->as_string();
    if (k == "all") s.store_all_candidates = true;
    else if (k == "best") s.store_all_candidates = false;
    else keep->fail("must be all or best");
  }
}

}  // namespace

std::string study_hash(const std::string& text) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

StudySpec load_study(const std::string& path) { return load_study(ConfigNode::load_file(path)); }

StudySpec load_study(const ConfigNode& root) {
  expect_kind(root, StudyKind::search);
  if (root.has("seeds")) root.at("seeds").fail("a search runs one seed (seed: N; plast run --seed N for others)");
  root.expect_keys({"kind", "name", "seed", "rule", "task", "student", "optimizer", "training", "strategy", "budget",
                    "score", "store", "store_candidates"});
  StudySpec s;
  s.file = root.where().file;
  s.resolved_yaml = root.dump();
  s.name = root.get_string("name", "study");
  s.seed = static_cast<std::uint64_t>(root.at("seed").as_int(Range::non_negative()));
  auto& ev = s.evaluation;
  s.rule = read_rule_spec(root.at("rule"));
  ev.l1 = s.rule.l1;
  const ConfigNode task = root.at("task");
  read_search_task(task, s);
  if (auto student = root.find("student")) ev.student = read_student(*student, StudentSpec{.hidden = {}});
  if (auto opt = root.find("optimizer")) ev.optimizer = read_optimizer(*opt, OptimizerSpec{.type = "sgd"});
  TrainBudget inner;
  inner.epochs = 1;
  ev.budget = root.find("training") ? read_budget(*root.find("training"), inner) : inner;

  const Task sample = ev.tasks->sample(s.seed, task_index(0, 0), Split::meta_train);
  try {
    check_selection_data(*ev.tasks, sample);
  } catch (const Error& e) {
    (task.has("validation_fraction") ? task.at("validation_fraction") : task).fail(e.what());
  }
  ev.space = make_rule_space(s.rule, student_shape(sample, ev.student));
  s.init = s.rule.init(ev.space->dimension());
  s.lower = s.rule.lower(ev.space->dimension());
  s.upper = s.rule.upper(ev.space->dimension());
  read_outer_loop(root, s);
  s.validate();
  return s;
}

void StudySpec::validate() const {
  if (!evaluation.space) throw Error("study " + name + ": no rule space");
  if (!evaluation.tasks) throw Error("study " + name + ": no task family");
  const Eigen::Index n = evaluation.space->dimension();
  if (init.size() != n || lower.size() != n || upper.size() != n)
    throw Error("study " + name + ": init, lower and upper must have the rule space's " + std::to_string(n) +
                " coordinates");
  for (Eigen::Index k = 0; k < n; ++k)
    if (!(lower(k) <= init(k) && init(k) <= upper(k)))
      throw Error("study " + name + ": " + evaluation.space->names()[static_cast<std::size_t>(k)] + ": init " +
                  std::to_string(init(k)) + " outside [" + std::to_string(lower(k)) + ", " + std::to_string(upper(k)) + "]");
  if (evaluation.tasks_per_generation < 1) throw InvalidValue("samples", evaluation.tasks_per_generation, "must be >= 1");
  if (held_out < 0) throw InvalidValue("held_out", held_out, "must be >= 0");
  if (generations < 1) throw InvalidValue("generations", generations, "must be >= 1");
  if (max_evaluations < 0) throw InvalidValue("max_evaluations", max_evaluations, "must be >= 0");
  if (!(wall_seconds >= 0.0)) throw InvalidValue("wall_seconds", wall_seconds, "must be >= 0");
  if (store.empty()) throw Error("study " + name + ": store: must name a file");
  if (!strategy_registry().contains(strategy)) throw Error("study " + name + ": unknown strategy " + strategy);
  evaluation.budget.validate();
  evaluation.optimizer.validate();
}

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::generations: return "generations";
    case StopReason::max_evaluations: return "max_evaluations";
    case StopReason::wall_seconds: return "wall_seconds";
  }
  return "?";
}

std::string StudySummary::brief_report() const {
  char line[320];
  std::snprintf(line, sizeof line,
                "stopped: %s after %lld generations, %lld evaluations (%lld diverged), %.3g s; best fitness %.6g, "
                "held-out %.6g",
                to_string(stop_reason), static_cast<long long>(generations), static_cast<long long>(evaluations),
                static_cast<long long>(diverged), wall_seconds, best_fitness, held_out_score);
  return line;
}

StudySpec with_seed(StudySpec spec, std::uint64_t seed) {
  YAML::Node root = YAML::Load(spec.resolved_yaml);
  root["seed"] = seed;
  YAML::Emitter out;
  out << root;
  spec.resolved_yaml = out.c_str();
  spec.seed = seed;
  // out/oja.sqlite → out/oja-seed3.sqlite: runs of several seeds never meet in one store.
  const std::string suffix = ".sqlite";
  std::string stem = spec.store;
  if (stem.size() > suffix.size() && stem.ends_with(suffix)) stem.resize(stem.size() - suffix.size());
  spec.store = stem + "-seed" + std::to_string(seed) + suffix;
  return spec;
}

namespace {
HeldOut scores_in(const StudySpec& spec, EvaluationSpec ev, const Eigen::VectorXd& theta, int count, Split split) {
  constexpr double nan = std::numeric_limits<double>::quiet_NaN();
  if (count <= 0) return {nan, nan, nan, nan, 0, {}};
  ev.tasks_per_generation = count;
  const Evaluator evaluator(ev);
  Eigen::MatrixXd one(1, theta.size());
  one.row(0) = theta.transpose();
  // Tasks of "generation 0"; on the meta-test split, tasks the search never sees. The loss
  // alone: the L1 penalty belongs to the search, not to a score.
  const auto r = evaluator.evaluate(one, spec.seed, 0, split)[0];
  HeldOut h{r.loss, r.accuracy, nan, nan, 0, r.task_losses};
  for (double v : r.task_losses) h.diverged += std::isfinite(v) ? 0 : 1;
  const std::size_t n = r.task_losses.size();
  if (n > 0) h.median = median(r.task_losses);
  if (n > 1) {
    double mean = 0.0, sq = 0.0;
    for (double v : r.task_losses) mean += v;
    mean /= static_cast<double>(n);
    for (double v : r.task_losses) sq += (v - mean) * (v - mean);
    h.standard_error = std::sqrt(sq / static_cast<double>(n - 1) / static_cast<double>(n));
  }
  return h;
}
}  // namespace

double held_out_score(const StudySpec& spec, const Eigen::VectorXd& theta, int count) {
  return scores_in(spec, spec.evaluation, theta, count, Split::meta_test).loss;
}

HeldOut score_on(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count, Split split) {
  EvaluationSpec ev = spec.evaluation;
  const std::string name = rule->name();
  ev.space = std::make_shared<FixedRuleSpace>(std::move(rule), name);
  return scores_in(spec, ev, Eigen::VectorXd(0), count, split);
}

HeldOut held_out(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count) {
  return score_on(spec, std::move(rule), count, Split::meta_test);
}

double held_out_score(const StudySpec& spec, std::shared_ptr<const LearningRule> rule, int count) {
  return held_out(spec, std::move(rule), count).loss;
}

namespace {

// Where a study starts: a new store and the strategy at θ0, or a resumed store's checkpoint.
struct StudyStart {
  StrategyState state;
  std::int64_t generation = 0;
  double wall_before = 0.0;
};

StudyStart open_study(const StudySpec& spec, const Strategy& strategy, const Store& store, bool resume,
                      const std::string& hash, StudySummary& summary) {
  summary.best_fitness = std::numeric_limits<double>::infinity();
  summary.best_theta = spec.init;
  StudyStart start;
  if (!resume) {
    start.state = strategy.init(spec.init);
    return start;
  }
  const StudyRecord stored = store.study();
  if (stored.yaml_hash != hash)
    throw Error(spec.store + ": the study file " + spec.file + " changed since this store was created (hash " + hash +
                ", stored " + stored.yaml_hash + "): refusing to resume");
  summary.resumed = true;
  const auto cp = store.checkpoint();
  if (!cp) {
    start.state = strategy.init(spec.init);
    return start;
  }
  start.state = strategy.load(cp->strategy_state);
  start.generation = cp->next_generation;
  start.wall_before = cp->wall_seconds;
  summary.best_theta = Eigen::Map<const Eigen::VectorXd>(cp->best_theta.data(), static_cast<Eigen::Index>(cp->best_theta.size()));
  summary.best_fitness = cp->best_fitness;
  summary.evaluations = cp->evaluations;
  summary.diverged = cp->diverged;
  return start;
}

// One generation's record: its candidates (clipped θ, fitness, status), its statistics, and the
// study's best so far. Returns what the strategy is told: the fitness of the clipped point plus
// the squared distance (in units of the bounds' width) of its own sample outside the bounds —
// without it a mean that drifted outside sees flat fitness there and never comes back (pycma's
// BoundPenalty).
Eigen::VectorXd record_generation(const StudySpec& spec, std::int64_t generation, const Eigen::MatrixXd& population,
                                  const Eigen::MatrixXd& clipped, const std::vector<CandidateResult>& results,
                                  std::vector<CandidateRecord>& candidates, GenerationRecord& stats,
                                  StudySummary& summary) {
  Eigen::VectorXd fitness(population.rows());
  stats.generation = generation;
  stats.best = std::numeric_limits<double>::infinity();
  std::vector<double> finite;
  for (Eigen::Index i = 0; i < population.rows(); ++i) {
    const auto& r = results[static_cast<std::size_t>(i)];
    fitness(i) = r.fitness;
    // A row of a column-major matrix is strided: copy it element by element.
    const Eigen::VectorXd row = clipped.row(i).transpose();
    candidates.push_back({generation, i, std::vector<double>(row.data(), row.data() + row.size()), r.fitness,
                          r.status == CandidateStatus::ok ? "ok" : "diverged"});
    if (r.status == CandidateStatus::diverged) ++stats.diverged;
    else finite.push_back(r.fitness);
    stats.best = std::min(stats.best, r.fitness);
    if (r.fitness < summary.best_fitness) {
      summary.best_fitness = r.fitness;
      summary.best_theta = row;
    }
  }
  for (Eigen::Index i = 0; i < population.rows(); ++i)
    fitness(i) += ((population.row(i) - clipped.row(i)).array() / (spec.upper - spec.lower).transpose().array().max(1e-300))
                      .square()
                      .sum();
  if (!spec.store_all_candidates && !candidates.empty()) {   // the generation's best alone
    const auto best = std::min_element(candidates.begin(), candidates.end(), [](const auto& a, const auto& b) {
      return a.status == "ok" && (b.status != "ok" || a.fitness < b.fitness);
    });
    candidates = {*best};
  }
  double sum = 0.0;
  for (double f : finite) sum += f;
  stats.mean = finite.empty() ? std::numeric_limits<double>::infinity() : sum / static_cast<double>(finite.size());
  stats.median = finite.empty() ? std::numeric_limits<double>::infinity() : median(finite);
  stats.evaluations = population.rows();
  summary.evaluations += population.rows();
  summary.diverged += stats.diverged;
  return fitness;
}

Checkpoint checkpoint_of(const StrategyState& state, std::int64_t next_generation, const StudySummary& summary,
                         double wall_seconds) {
  Checkpoint cp;
  cp.next_generation = next_generation;
  cp.strategy_state = state.save();
  cp.best_theta.assign(summary.best_theta.data(), summary.best_theta.data() + summary.best_theta.size());
  cp.best_fitness = summary.best_fitness;
  cp.evaluations = summary.evaluations;
  cp.diverged = summary.diverged;
  cp.wall_seconds = wall_seconds;
  return cp;
}

// The generation commits overlap the next generation's evaluation (a few fsyncs each); at most
// one is in flight, and a generation is reported only once it is safely stored. An exception
// (a failed commit, an interrupt from the callback) waits for the commit in flight, so none
// runs against a store that is about to close.
class CommitQueue {
 public:
  CommitQueue(Store& store, const std::function<void(const GenerationProgress&)>& on_generation)
      : store_(store), on_generation_(on_generation) {}
  ~CommitQueue() {
    if (pending_.valid()) pending_.wait();
  }
  void push(GenerationRecord stats, std::vector<CandidateRecord> candidates, Checkpoint cp, GenerationProgress progress) {
    finish();
    pending_ = std::async(std::launch::async, [this, stats, candidates = std::move(candidates), cp] {
      store_.commit_generation(stats, candidates, cp);
    });
    progress_ = progress;
  }
  void finish() {
    if (!pending_.valid()) return;
    pending_.get();   // rethrows a failed commit
    if (on_generation_ && progress_) on_generation_(*progress_);
    progress_.reset();
  }

 private:
  Store& store_;
  const std::function<void(const GenerationProgress&)>& on_generation_;
  std::future<void> pending_;
  std::optional<GenerationProgress> progress_;
};

}  // namespace

StudySummary run_study(const StudySpec& spec, bool resume,
                       const std::function<void(const GenerationProgress&)>& on_generation) {
  using Clock = std::chrono::steady_clock;
  spec.validate();
  const auto strategy = strategy_registry().make(spec.strategy, spec.strategy_params);
  const Evaluator evaluator(spec.evaluation);
  const std::string hash = study_hash(spec.resolved_yaml);
  StudyRecord record{spec.name, spec.resolved_yaml, hash, spec.seed, spec.evaluation.space->names()};
  Store store = resume ? Store::open(spec.store) : Store::create(spec.store, record);
  StudySummary summary;
  StudyStart begin = open_study(spec, *strategy, store, resume, hash, summary);
  StrategyState& state = begin.state;
  std::int64_t generation = begin.generation;

  const auto start = Clock::now();
  auto elapsed = [&] { return begin.wall_before + std::chrono::duration<double>(Clock::now() - start).count(); };
  CommitQueue commits(store, on_generation);
  for (; generation < spec.generations; ++generation) {
    if (spec.max_evaluations > 0 && summary.evaluations >= spec.max_evaluations) {
      summary.stop_reason = StopReason::max_evaluations;
      break;
    }
    if (spec.wall_seconds > 0 && elapsed() >= spec.wall_seconds) {
      summary.stop_reason = StopReason::wall_seconds;
      break;
    }
    const double generation_start = elapsed();
    RandomStream rng(spec.seed, Purpose::strategy, {static_cast<std::uint64_t>(generation)});
    const Eigen::MatrixXd population = strategy->ask(state, rng);
    Eigen::MatrixXd clipped = population;
    for (Eigen::Index i = 0; i < clipped.rows(); ++i)
      clipped.row(i) = clipped.row(i).cwiseMax(spec.lower.transpose()).cwiseMin(spec.upper.transpose());
    const auto results = evaluator.evaluate(clipped, spec.seed, static_cast<std::uint64_t>(generation), Split::meta_train);

    std::vector<CandidateRecord> candidates;
    GenerationRecord stats;
    const Eigen::VectorXd fitness =
        record_generation(spec, generation, population, clipped, results, candidates, stats, summary);
    state = strategy->tell(state, population, fitness);
    stats.step_size = strategy->step_size(state);
    stats.wall_seconds = elapsed() - generation_start;
    const Checkpoint cp = checkpoint_of(state, generation + 1, summary, elapsed());
    commits.push(stats, std::move(candidates), cp,
                 GenerationProgress{generation + 1, spec.generations, summary.evaluations, summary.diverged,
                                    summary.best_fitness, stats.best, stats.step_size, cp.wall_seconds});
  }
  commits.finish();
  summary.generations = generation;
  summary.wall_seconds = elapsed();
  const HeldOut h = scores_in(spec, spec.evaluation, summary.best_theta, spec.held_out, Split::meta_test);
  summary.held_out_score = h.loss;
  summary.held_out_accuracy = h.accuracy;
  return summary;
}

}  // namespace plast
