#include "search/rule_analysis.hpp"

#include <ceres/ceres.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <numeric>

#include "lib/error.hpp"
#include "lib/train.hpp"

namespace plast {
namespace {

double power(double x, int p) { return p == 0 ? 1.0 : p == 1 ? x : x * x; }

// Wraps a rule and, after each of its updates, samples `per_step` random synapses of the
// student into `sink`. For analysis only: it allocates (the study loop never uses it).
struct RecordingState final : RuleState {
  std::unique_ptr<RuleState> inner;
  RandomStream rng{0, Purpose::analysis};
  std::unique_ptr<RuleState> clone() const override {
    auto c = std::make_unique<RecordingState>();
    c->inner = inner->clone();
    c->rng = rng;
    return c;
  }
};

class RecordingRule final : public LearningRule {
 public:
  RecordingRule(const LearningRule& inner, std::vector<SynapseSample>& sink, int per_step, int group, RandomStream rng)
      : inner_(inner), sink_(&sink), per_step_(per_step), group_(group), rng_(rng) {}
  std::string name() const override { return inner_.name(); }
  std::unique_ptr<RuleState> make_state(const Mlp& net, int capacity, RandomStream rng) const override {
    auto s = std::make_unique<RecordingState>();
    s->inner = inner_.make_state(net, capacity, rng);
    s->rng = rng_;
    return s;
  }
  void compute_update(const StepSignals& s, RuleState& state, Gradients& out) const override {
    auto& st = static_cast<RecordingState&>(state);
    inner_.compute_update(s, *st.inner, out);
    for (int k = 0; k < per_step_; ++k) {
      const int l = static_cast<int>(st.rng.below(static_cast<std::uint64_t>(s.net.num_layers())));
      const auto& w = s.net.weight(l);
      const auto i = static_cast<Eigen::Index>(st.rng.below(static_cast<std::uint64_t>(w.rows())));
      const auto j = static_cast<Eigen::Index>(st.rng.below(static_cast<std::uint64_t>(w.cols())));
      SynapseSample x;
      x.pre = s.cache.h(l)(0, j);
      x.post = s.cache.h(l + 1)(0, i);
      x.w = w(i, j);
      x.dw = -static_cast<double>(out.dW[l](i, j));   // the optimizer subtracts: Δw is −update
      x.group = group_ * 64 + l;
      sink_->push_back(x);
    }
  }
  void after_update(Mlp& net, RuleState& state) const override {
    inner_.after_update(net, *static_cast<RecordingState&>(state).inner);
  }

 private:
  const LearningRule& inner_;
  std::vector<SynapseSample>* sink_;
  int per_step_, group_;
  RandomStream rng_;
};

struct GroupStats {
  double pre = 0.0, post = 0.0, post2 = 0.0;
};
std::map<int, GroupStats> group_means(const std::vector<SynapseSample>& samples) {
  std::map<int, GroupStats> sums;
  std::map<int, double> counts;
  for (const auto& s : samples) {
    auto& g = sums[s.group];
    g.pre += s.pre;
    g.post += s.post;
    g.post2 += s.post * s.post;
    counts[s.group] += 1.0;
  }
  for (auto& [k, g] : sums) {
    g.pre /= counts[k];
    g.post /= counts[k];
    g.post2 /= counts[k];
  }
  return sums;
}

// Δw of known rule `name` at one synapse, given its group's means.
double known_dw(const std::string& name, const SynapseSample& s, const GroupStats& g) {
  if (name == "hebb") return s.pre * s.post;
  if (name == "anti_hebb") return -s.pre * s.post;
  if (name == "oja") return s.post * (s.pre - s.post * s.w);
  if (name == "instar") return s.post * (s.pre - s.w);
  if (name == "hebb_decay") return s.pre * s.post - s.w;
  if (name == "covariance") return (s.pre - g.pre) * (s.post - g.post);
  if (name == "bcm") return s.pre * s.post * (s.post - g.post2);
  if (name == "delta") return s.pre * s.m;
  throw Error("unknown known rule '" + name + "'");
}

// Residuals r_s = Σ_k θ_k φ_k(s) − Δw_s of all samples at once, with the exact Jacobian φ.
class LinearResiduals final : public ceres::CostFunction {
 public:
  LinearResiduals(const Eigen::MatrixXd& features, const Eigen::VectorXd& target) : f_(features), y_(target) {
    set_num_residuals(static_cast<int>(f_.rows()));
    mutable_parameter_block_sizes()->push_back(static_cast<int>(f_.cols()));
  }
  bool Evaluate(double const* const* parameters, double* residuals, double** jacobians) const override {
    const Eigen::Map<const Eigen::VectorXd> theta(parameters[0], f_.cols());
    Eigen::Map<Eigen::VectorXd>(residuals, f_.rows()) = f_ * theta - y_;
    if (jacobians && jacobians[0])
      Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(jacobians[0], f_.rows(),
                                                                                         f_.cols()) = f_;
    return true;
  }

 private:
  Eigen::MatrixXd f_;
  Eigen::VectorXd y_;
};

struct Fit {
  Eigen::VectorXd theta;
  double r2 = 0.0;
};

// Least squares of Δw on the given features with Ceres (dense QR: the problem is tiny).
Fit least_squares(const Eigen::MatrixXd& features, const Eigen::VectorXd& target, const Eigen::VectorXd& start) {
  Fit fit;
  fit.theta = start;
  ceres::Problem problem;
  problem.AddResidualBlock(new LinearResiduals(features, target), nullptr, fit.theta.data());
  ceres::Solver::Options options;
  options.linear_solver_type = ceres::DENSE_QR;
  options.max_num_iterations = 50;
  options.function_tolerance = 1e-14;
  options.gradient_tolerance = 1e-16;
  options.parameter_tolerance = 1e-14;
  options.num_threads = 1;
  ceres::Solver::Summary summary;
  ceres::Solve(options, &problem, &summary);
  const double total = (target.array() - target.mean()).square().sum();
  const double residual = (features * fit.theta - target).squaredNorm();
  fit.r2 = total > 0 ? 1.0 - residual / total : 1.0;
  return fit;
}

}  // namespace

double Monomial::operator()(double x, double y, double weight, double mod) const {
  return power(x, pre) * power(y, post) * power(weight, w) * power(mod, m);
}

std::optional<Monomial> parse_monomial(const std::string& name) {
  Monomial mono;
  if (name == "1") return mono;
  std::size_t start = 0;
  while (start <= name.size()) {
    const auto end = std::min(name.find('*', start), name.size());
    const std::string factor = name.substr(start, end - start);
    const auto caret = factor.find('^');
    const std::string base = factor.substr(0, caret);
    int p = 1;
    if (caret != std::string::npos) {
      const std::string e = factor.substr(caret + 1);
      if (e != "1" && e != "2") return std::nullopt;
      p = e[0] - '0';
    }
    int* slot = base == "pre" ? &mono.pre : base == "post" ? &mono.post : base == "w" ? &mono.w : base == "m" ? &mono.m : nullptr;
    if (!slot || *slot != 0) return std::nullopt;
    *slot = p;
    start = end + 1;
  }
  return mono;
}

std::string pretty_term(const std::string& name) {
  std::string out;
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (name[i] == '*') out += "·";
    else if (name[i] == '^' && i + 1 < name.size() && name[i + 1] == '2') out += "²", ++i;
    else out += name[i];
  }
  return out;
}

std::string formula(std::vector<Term> terms, double smallest) {
  std::stable_sort(terms.begin(), terms.end(),
                   [](const Term& a, const Term& b) { return std::abs(a.coefficient) > std::abs(b.coefficient); });
  const double largest = terms.empty() ? 0.0 : std::abs(terms.front().coefficient);
  if (largest == 0.0) return "Δw = 0";
  std::string f = "Δw ∝";
  int hidden = 0;
  bool first = true;
  for (const auto& t : terms) {
    const double c = t.coefficient / largest;
    if (std::abs(c) < smallest) {
      hidden += t.coefficient != 0.0;
      continue;
    }
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", std::abs(c));
    f += std::string(first ? (c < 0 ? " −" : " ") : (c < 0 ? " − " : " + ")) + buf +
         (t.name == "1" ? "" : "·" + pretty_term(t.name));
    first = false;
  }
  if (hidden > 0) f += " + " + std::to_string(hidden) + " smaller term" + (hidden > 1 ? "s" : "");
  char scale[48];
  std::snprintf(scale, sizeof scale, "   (scale %.4g)", largest);
  return f + scale;
}

std::vector<SynapseSample> record_synapses(const StudySpec& spec, const LearningRule& rule, int tasks,
                                           long long max_steps, int per_step) {
  const EvaluationSpec& ev = spec.evaluation;
  std::vector<SynapseSample> samples;
  for (int t = 0; t < tasks; ++t) {
    // Meta-test tasks of "generation 1": never searched on, and not those held_out_score uses.
    const Task task = ev.tasks->sample(spec.seed, task_index(1, t), Split::meta_test);
    if (task.trainer) continue;   // control tasks train by episodes: no dataset to stream
    const StudentSpec student = ev.student.for_task(task);
    const RecordingRule recorder(rule, samples, per_step, t,
                                 RandomStream(spec.seed, Purpose::analysis, {static_cast<std::uint64_t>(t)}));
    Student s = make_student(task, student, recorder, ev.optimizer, 1, student_seed(spec.seed, 1, t));
    TrainBudget budget = ev.budget;
    budget.batch = 1;
    budget.epochs = 1;
    budget.max_steps = max_steps;
    budget.eval_every = std::numeric_limits<long long>::max();
    budget.evaluate_start = false;
    budget.alignment = false;
    train(s, recorder, task, budget);
  }
  // A diverging rule records non-finite values: keep what is usable.
  std::erase_if(samples, [](const SynapseSample& x) {
    return !std::isfinite(x.pre) || !std::isfinite(x.post) || !std::isfinite(x.w) || !std::isfinite(x.dw);
  });
  return samples;
}

std::optional<Refit> prune_and_refit(const std::vector<Term>& terms, const std::vector<SynapseSample>& samples,
                                     int keep) {
  if (samples.empty()) return std::nullopt;
  std::vector<Monomial> monomials;
  for (const auto& t : terms) {
    const auto m = parse_monomial(t.name);
    if (!m) return std::nullopt;
    monomials.push_back(*m);
  }
  const auto n = static_cast<Eigen::Index>(samples.size());
  Eigen::MatrixXd phi(n, static_cast<Eigen::Index>(terms.size()));
  Eigen::VectorXd dw(n);
  for (Eigen::Index s = 0; s < n; ++s) {
    const auto& x = samples[static_cast<std::size_t>(s)];
    dw(s) = x.dw;
    for (std::size_t k = 0; k < terms.size(); ++k) phi(s, static_cast<Eigen::Index>(k)) = monomials[k](x.pre, x.post, x.w, x.m);
  }
  // Importance of a term: how much Δw it moves on this activity, |θ_k| · rms(φ_k).
  std::vector<std::size_t> order(terms.size());
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::vector<double> importance(terms.size());
  for (std::size_t k = 0; k < terms.size(); ++k)
    importance[k] = std::abs(terms[k].coefficient) * std::sqrt(phi.col(static_cast<Eigen::Index>(k)).squaredNorm() / n);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return importance[a] > importance[b]; });

  auto fit_first = [&](int k) {
    Eigen::MatrixXd f(n, k);
    Eigen::VectorXd start(k);
    Refit r;
    for (int i = 0; i < k; ++i) {
      f.col(i) = phi.col(static_cast<Eigen::Index>(order[static_cast<std::size_t>(i)]));
      start(i) = terms[order[static_cast<std::size_t>(i)]].coefficient;
    }
    const Fit fit = least_squares(f, dw, start);
    for (int i = 0; i < k; ++i) r.terms.push_back({terms[order[static_cast<std::size_t>(i)]].name, fit.theta(i)});
    r.r2 = fit.r2;
    return r;
  };
  const int most = static_cast<int>(terms.size());
  if (keep > 0) return fit_first(std::min(keep, most));
  // The elbow: add terms while the next one still explains at least 1% more of Δw.
  Refit r = fit_first(1);
  for (int k = 2; k <= std::min(6, most); ++k) {
    Refit next = fit_first(k);
    if (next.r2 - r.r2 < 0.01) break;
    r = std::move(next);
  }
  return r;
}

const std::vector<KnownRule>& known_rules() {
  static const std::vector<KnownRule> rules = {
      {"hebb", "pre·post", "Hebb 1949"},
      {"anti_hebb", "−pre·post", "anti-Hebbian (e.g. Földiák 1990)"},
      {"oja", "post·(pre − post·w)", "Oja 1982"},
      {"instar", "post·(pre − w)", "Grossberg 1976"},
      {"hebb_decay", "pre·post − w", "Hebb with weight decay"},
      {"covariance", "(pre − ⟨pre⟩)(post − ⟨post⟩)", "Sejnowski 1977"},
      {"bcm", "pre·post·(post − ⟨post²⟩)", "Bienenstock, Cooper & Munro 1982"},
      {"delta", "pre·m", "Widrow & Hoff 1960 (m: the error)"},
  };
  return rules;
}

Nearest nearest_known_rule(const std::vector<SynapseSample>& samples) {
  Nearest out;
  if (samples.empty()) return out;
  const auto means = group_means(samples);
  Eigen::VectorXd found(static_cast<Eigen::Index>(samples.size()));
  for (std::size_t s = 0; s < samples.size(); ++s) found(static_cast<Eigen::Index>(s)) = samples[s].dw;
  for (const auto& k : known_rules()) {
    Eigen::VectorXd known(found.size());
    for (std::size_t s = 0; s < samples.size(); ++s)
      known(static_cast<Eigen::Index>(s)) = known_dw(k.name, samples[s], means.at(samples[s].group));
    const double denom = found.norm() * known.norm();
    const double cosine = denom > 0 ? found.dot(known) / denom : 0.0;
    const double distance = cosine > 0 ? std::sqrt(std::max(0.0, 1.0 - cosine * cosine)) : 1.0;
    out.all.emplace_back(k.name, distance);
  }
  std::stable_sort(out.all.begin(), out.all.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  out.name = out.all.front().first;
  out.distance = out.all.front().second;
  return out;
}

}  // namespace plast
