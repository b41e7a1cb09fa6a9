#include "cli/compare_command.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "cli/json_values.hpp"
#include "cli/output_files.hpp"
#include "cli/size_plot.hpp"
#include "cli/train_config.hpp"
#include "cli/worker_threads.hpp"
#include "lib/error.hpp"
#include "lib/harness.hpp"
#include "rules/registry.hpp"
#include "tasks/registry.hpp"

namespace plast {
namespace {

namespace fs = std::filesystem;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct CompareFlags {
  std::string config_path, out;
  std::optional<int> threads;
  bool json = false, quiet = false, no_plots = false;
};

// One task of the grid, once sampled: an instance per seed and the student it gets.
struct TaskGrid {
  std::vector<Task> instances;   // instances[s] for seeds[s]
  StudentSpec student;
  std::string shape;             // "30-20-10 linear"
  long params = 0;               // the student's weights and biases
  std::string file_stem;         // the label made safe for file names, unique
};

struct Run {
  std::size_t task = 0, rule = 0, seed = 0;   // indices into the config's lists
  TrainResult result;
};

using Metrics = std::vector<std::pair<std::string, double>>;

std::string layer_name(std::size_t k, std::size_t hidden) {
  return k < hidden ? "h" + std::to_string(k + 1) : "out";
}

// The first evaluation's step at which `reached` holds; NaN if none.
template <class F>
double steps_to(const TrainResult& r, F&& reached) {
  for (const auto& p : r.curve)
    if (reached(p)) return static_cast<double>(p.step);
  return kNaN;
}

// Every metric of one run, in the order the rows list them (compare_command.hpp).
// `params` (the student's size) only for files with `networks:` (< 0: leave it out).
Metrics run_metrics(const TrainResult& r, const CompareTask& t, bool classification, long params = -1) {
  Metrics m;
  const CurvePoint& last = r.last();
  if (params >= 0) m.emplace_back("params", static_cast<double>(params));
  m.emplace_back("test_loss", last.test_loss);
  if (classification) m.emplace_back("test_accuracy", last.test_accuracy);
  double min_loss = kNaN;
  for (const auto& p : r.curve)
    if (std::isfinite(p.test_loss) && !(p.test_loss >= min_loss)) min_loss = p.test_loss;
  m.emplace_back("min_test_loss", min_loss);
  if (t.target_loss) m.emplace_back("steps_to_target_loss", steps_to(r, [&](const CurvePoint& p) { return p.test_loss <= *t.target_loss; }));
  if (t.target_accuracy)
    m.emplace_back("steps_to_target_accuracy",
                   steps_to(r, [&](const CurvePoint& p) { return p.test_accuracy >= *t.target_accuracy; }));
  const std::size_t hidden = last.alignment_deg.size();
  for (std::size_t k = 0; k < hidden; ++k) m.emplace_back("alignment_deg_" + layer_name(k, hidden), last.alignment_deg[k]);
  for (std::size_t k = 0; k < last.feedback_angle_deg.size(); ++k)
    m.emplace_back("feedback_angle_deg_" + layer_name(k, hidden), last.feedback_angle_deg[k]);
  for (std::size_t k = 0; k < last.norm_ratio.size(); ++k) m.emplace_back("norm_ratio_" + layer_name(k, hidden), last.norm_ratio[k]);
  for (std::size_t k = 0; k < last.snr.size(); ++k) m.emplace_back("snr_" + layer_name(k, last.snr.size() - 1), last.snr[k]);
  m.emplace_back("train_samples_per_s", r.train_samples_per_s);
  m.emplace_back("diverged", r.outcome == Outcome::diverged ? 1.0 : 0.0);
  return m;
}

struct Row {
  std::string rule, task, metric;
  double mean = kNaN, sd = kNaN;
  int n = 0;
};

// Mean and sample sd over the finite values.
Row summarize(std::string rule, std::string task, std::string metric, const std::vector<double>& values) {
  Row row{std::move(rule), std::move(task), std::move(metric)};
  double sum = 0.0;
  for (double v : values)
    if (std::isfinite(v)) {
      sum += v;
      ++row.n;
    }
  if (row.n == 0) return row;
  row.mean = sum / row.n;
  if (row.n < 2) return row;
  double ss = 0.0;
  for (double v : values)
    if (std::isfinite(v)) ss += (v - row.mean) * (v - row.mean);
  row.sd = std::sqrt(ss / (row.n - 1));
  return row;
}

std::string file_stem_of(const std::string& label) {
  std::string s;
  for (char c : label) s += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  return s;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// ---- mean curves ------------------------------------------------------------------------

// Per task, the mean over seeds of each rule's curve at every evaluation step.
struct MeanCurves {
  struct Column {
    std::size_t rule;
    std::string quantity;   // test_loss, test_accuracy, alignment_deg_hK, feedback_angle_deg_hK
    std::size_t layer = 0;  // for the angles: the hidden layer's index
    std::vector<double> values;   // one per step; NaN where a seed has no finite value
  };
  std::vector<long long> steps;
  std::vector<double> epochs;
  std::vector<Column> columns;
};

MeanCurves mean_curves(const std::vector<Run>& runs, std::size_t task, std::size_t rules, bool classification,
                       std::size_t hidden) {
  MeanCurves m;
  std::map<long long, double> epoch_of;
  for (const auto& r : runs)
    if (r.task == task)
      for (const auto& p : r.result.curve) epoch_of.emplace(p.step, p.epoch);
  for (const auto& [step, epoch] : epoch_of) {
    m.steps.push_back(step);
    m.epochs.push_back(epoch);
  }
  for (std::size_t rule = 0; rule < rules; ++rule) {
    std::vector<const TrainResult*> mine;
    for (const auto& r : runs)
      if (r.task == task && r.rule == rule) mine.push_back(&r.result);
    bool feedback = false;
    for (const auto* r : mine)
      for (const auto& p : r->curve) feedback |= !p.feedback_angle_deg.empty();
    auto column = [&](const std::string& quantity, std::size_t layer, auto&& value) {
      MeanCurves::Column c{rule, quantity, layer, {}};
      for (long long step : m.steps) {
        double sum = 0.0;
        bool complete = true;
        for (const auto* r : mine) {
          const auto it = std::find_if(r->curve.begin(), r->curve.end(), [&](const CurvePoint& p) { return p.step == step; });
          const double v = it == r->curve.end() ? kNaN : value(*it);
          complete &= std::isfinite(v);
          sum += v;
        }
        c.values.push_back(complete && !mine.empty() ? sum / static_cast<double>(mine.size()) : kNaN);
      }
      m.columns.push_back(std::move(c));
    };
    column("test_loss", 0, [](const CurvePoint& p) { return p.test_loss; });
    if (classification) column("test_accuracy", 0, [](const CurvePoint& p) { return p.test_accuracy; });
    for (std::size_t k = 0; k < hidden; ++k)
      column("alignment_deg_h" + std::to_string(k + 1), k,
             [k](const CurvePoint& p) { return k < p.alignment_deg.size() ? p.alignment_deg[k] : kNaN; });
    if (feedback)
      for (std::size_t k = 0; k < hidden; ++k)
        column("feedback_angle_deg_h" + std::to_string(k + 1), k,
               [k](const CurvePoint& p) { return k < p.feedback_angle_deg.size() ? p.feedback_angle_deg[k] : kNaN; });
  }
  return m;
}

void write_mean_curves(std::ostream& out, const MeanCurves& m, const std::vector<std::string>& rule_labels) {
  out << "step,epoch";
  for (const auto& c : m.columns) out << ',' << csv_field(rule_labels[c.rule] + ":" + c.quantity);
  out << '\n';
  for (std::size_t i = 0; i < m.steps.size(); ++i) {
    out << m.steps[i] << ',' << csv_number(m.epochs[i]);
    for (const auto& c : m.columns) out << ',' << (std::isfinite(c.values[i]) ? csv_number(c.values[i]) : std::string());
    out << '\n';
  }
}

// ---- gnuplot ------------------------------------------------------------------------------

bool any_finite(const std::vector<double>& v, bool log) {
  for (double x : v)
    if (std::isfinite(x) && (!log || x > 0)) return true;
  return false;
}

// A log axis when some value is finite and every finite value is positive.
bool log_axis(const std::vector<const MeanCurves::Column*>& columns) {
  bool any = false;
  for (const auto* c : columns)
    for (double v : c->values) {
      if (!std::isfinite(v)) continue;
      if (v <= 0) return false;
      any = true;
    }
  return any;
}

// One panel: every column whose quantity `select` accepts, as lines against the epoch
// (column 2 of the file). Columns with nothing to draw are left out (gnuplot refuses an empty
// series); a panel with none says so.
template <class F>
void gp_panel(std::ostream& gp, const std::string& file, const MeanCurves& m, const std::vector<std::string>& rule_labels,
              const std::string& title, const std::string& ylabel, bool allow_log, bool from_zero, F&& select) {
  std::vector<const MeanCurves::Column*> chosen;
  std::vector<int> file_columns;
  for (std::size_t i = 0; i < m.columns.size(); ++i)
    if (select(m.columns[i])) {
      chosen.push_back(&m.columns[i]);
      file_columns.push_back(static_cast<int>(3 + i));
    }
  const bool log = allow_log && log_axis(chosen);
  gp << "set title " << gp_string(title) << "\nset ylabel " << gp_string(log ? ylabel + " (log scale)" : ylabel) << "\n"
     << (log ? "set logscale y\n" : "unset logscale y\n") << "unset label\n"
     << (from_zero ? "set yrange [0:*]\n" : "set autoscale y\n");
  std::string plot;
  for (std::size_t i = 0; i < chosen.size(); ++i) {
    const auto& c = *chosen[i];
    if (!any_finite(c.values, log)) continue;
    std::string title_text = rule_labels[c.rule];
    if (c.quantity.find("_h") != std::string::npos) title_text += " h" + std::to_string(c.layer + 1);
    plot += (plot.empty() ? "plot " : ", \\\n     ") + gp_string(file) + " skip 1 using 2:" + std::to_string(file_columns[i]) +
            " with linespoints pt 7 ps 0.5 lc " + std::to_string(c.rule + 1) + " dt " + std::to_string(c.layer + 1) +
            " title " + gp_string(title_text);
  }
  if (plot.empty())
    gp << "set label 'no finite values to plot' at graph 0.5, 0.5 center\nunset logscale y\nset yrange [0:1]\nplot -1 notitle\n";
  else
    gp << plot << "\n";
}

// The script for every task's PNGs; returns it and fills `pngs` with their names.
std::string plot_script(const std::string& config, const std::vector<CompareTask>& tasks, const std::vector<TaskGrid>& grids,
                        const std::vector<MeanCurves>& curves, const std::vector<std::string>& rule_labels,
                        std::size_t seeds, std::vector<std::string>& pngs) {
  std::ostringstream gp;
  gp << "# Drawn by `plast compare " << config << "`; rerun in this folder with: gnuplot plots.gp\n"
     << "set datafile separator comma\n"
     << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
     << "  set terminal pngcairo noenhanced size 1200,500\n"
     << "} else {\n"
     << "  set terminal png noenhanced size 1200,500\n"
     << "}\n"
     << "set grid\nset key top right\nset xlabel 'epoch'\n";
  const std::string over = " (mean over " + std::to_string(seeds) + " seed" + (seeds == 1 ? "" : "s") + ")";
  for (std::size_t t = 0; t < tasks.size(); ++t) {
    const auto& m = curves[t];
    const std::string data = "mean-curves-" + grids[t].file_stem + ".csv";
    const bool classification = grids[t].instances.front().classification;
    const std::string png = "curves-" + grids[t].file_stem + ".png";
    pngs.push_back(png);
    gp << "\nset output " << gp_string(png) << "\n"
       << "set multiplot layout 1," << (classification ? 2 : 1) << " title "
       << gp_string(tasks[t].label + ", " + grids[t].shape + over) << "\n";
    gp_panel(gp, data, m, rule_labels, "test loss", "test loss", true, false,
             [](const MeanCurves::Column& c) { return c.quantity == "test_loss"; });
    if (classification)
      gp_panel(gp, data, m, rule_labels, "test accuracy", "test accuracy", false, false,
               [](const MeanCurves::Column& c) { return c.quantity == "test_accuracy"; });
    gp << "unset multiplot\n";

    const bool angles = std::any_of(m.columns.begin(), m.columns.end(),
                                    [](const auto& c) { return c.quantity.starts_with("alignment_deg"); });
    if (!angles) continue;   // no hidden layer: no angle to draw
    const bool feedback = std::any_of(m.columns.begin(), m.columns.end(),
                                      [](const auto& c) { return c.quantity.starts_with("feedback_angle_deg"); });
    const std::string angle_png = "angles-" + grids[t].file_stem + ".png";
    pngs.push_back(angle_png);
    gp << "\nset output " << gp_string(angle_png) << "\n"
       << "set multiplot layout 1," << (feedback ? 2 : 1) << " title "
       << gp_string(tasks[t].label + ": alignment per hidden layer (line style: layer)" + over) << "\n";
    gp_panel(gp, data, m, rule_labels, "angle between the rule's update and the gradient", "degrees", false, true,
             [](const MeanCurves::Column& c) { return c.quantity.starts_with("alignment_deg"); });
    if (feedback)
      gp_panel(gp, data, m, rule_labels, "angle between B_l and W_l^T", "degrees", false, true,
               [](const MeanCurves::Column& c) { return c.quantity.starts_with("feedback_angle_deg"); });
    gp << "unset multiplot\n";
  }
  gp << "set output\n";
  return gp.str();
}

// ---- the table ---------------------------------------------------------------------------

// "mean ± sd" in the metric's own format; "[n/N]" when some seeds have no value; "-" for none.
std::string cell(const Row& r, std::size_t seeds) {
  if (r.n == 0) return "-";
  const char* f = "%.4g";
  double scale = 1.0;
  std::string unit;
  if (r.metric == "test_accuracy") {
    f = "%.2f";
    scale = 100.0;
    unit = "%";
  } else if (r.metric.starts_with("alignment_deg") || r.metric.starts_with("feedback_angle_deg")) {
    f = "%.1f";
  } else if (r.metric == "train_samples_per_s" || r.metric.starts_with("steps_to") || r.metric == "params") {
    f = "%.0f";
  }
  std::string s = fmt(f, scale * r.mean);
  if (std::isfinite(r.sd)) s += " ± " + fmt(r.metric == "test_loss" || r.metric == "min_test_loss" ? "%.2g" : f, scale * r.sd);
  s += unit;
  if (static_cast<std::size_t>(r.n) < seeds) s += " [" + std::to_string(r.n) + "/" + std::to_string(seeds) + "]";
  return s;
}

// Where a metric's column goes in the table: the order of compare_command.hpp's list, whatever
// rule happened to report it first (backprop has no feedback angle, FA has).
int column_rank(const std::string& metric) {
  static const std::vector<std::string> order{"params", "test_loss",          "test_accuracy",      "min_test_loss",
                                              "steps_to_target_loss", "steps_to_target_accuracy", "alignment_deg_",
                                              "feedback_angle_deg_", "norm_ratio_",        "snr_",
                                              "train_samples_per_s", "diverged"};
  for (std::size_t i = 0; i < order.size(); ++i)
    if (metric == order[i] || (order[i].back() == '_' && metric.starts_with(order[i]))) return static_cast<int>(i);
  return static_cast<int>(order.size());
}

// The printed name of a metric column, or "" for metrics only the files carry.
std::string column_title(const std::string& metric, const CompareTask& t) {
  if (metric == "test_loss" || metric == "min_test_loss" || metric == "params") return metric;
  if (metric == "test_accuracy") return "test_acc";
  if (metric == "steps_to_target_loss") return "steps_to_loss<=" + fmt("%g", *t.target_loss);
  if (metric == "steps_to_target_accuracy") return "steps_to_acc>=" + fmt("%g", *t.target_accuracy);
  if (metric.starts_with("alignment_deg_")) return "angle_" + metric.substr(14);
  if (metric.starts_with("feedback_angle_deg_")) return "fb_" + metric.substr(19);
  if (metric == "train_samples_per_s") return "samples/s";
  if (metric == "diverged") return "diverged";
  return "";
}

// Display width of UTF-8 text (± is two bytes, one column).
std::size_t width(const std::string& s) {
  std::size_t w = 0;
  for (unsigned char c : s) w += (c & 0xC0) != 0x80;
  return w;
}

void print_table(std::ostream& out, const CompareTask& t, const TaskGrid& g, const std::vector<std::string>& rule_labels,
                 const std::vector<Row>& rows, std::size_t seeds) {
  std::vector<std::string> metrics;   // printed ones, in row order
  for (const auto& r : rows) {
    if (r.task != t.label || column_title(r.metric, t).empty()) continue;
    if (std::find(metrics.begin(), metrics.end(), r.metric) == metrics.end()) metrics.push_back(r.metric);
  }
  // "diverged" only when some run diverged.
  const bool any_diverged = std::any_of(rows.begin(), rows.end(), [&](const Row& r) {
    return r.task == t.label && r.metric == "diverged" && r.n > 0 && r.mean > 0;
  });
  if (!any_diverged) std::erase(metrics, std::string("diverged"));
  std::stable_sort(metrics.begin(), metrics.end(),
                   [](const std::string& a, const std::string& b) { return column_rank(a) < column_rank(b); });
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> head{"rule"};
  for (const auto& m : metrics) head.push_back(column_title(m, t));
  table.push_back(head);
  for (const auto& rule : rule_labels) {
    std::vector<std::string> line{rule};
    for (const auto& m : metrics) {
      const auto it = std::find_if(rows.begin(), rows.end(),
                                   [&](const Row& r) { return r.task == t.label && r.rule == rule && r.metric == m; });
      if (it == rows.end()) {
        line.push_back("-");
      } else if (m == "diverged") {
        line.push_back(fmt("%.0f", it->mean * it->n) + "/" + std::to_string(it->n));
      } else {
        line.push_back(cell(*it, seeds));
      }
    }
    table.push_back(line);
  }
  std::vector<std::size_t> widths(head.size(), 0);
  for (const auto& line : table)
    for (std::size_t c = 0; c < line.size(); ++c) widths[c] = std::max(widths[c], width(line[c]));
  out << "\n" << t.label << " (" << g.shape << ", " << g.instances.front().train->size() << " train, "
      << g.instances.front().test->size() << " test" << (t.split == Split::meta_test ? ", meta-test split" : "")
      << "; mean ± sd over " << seeds << " seed" << (seeds == 1 ? "" : "s")
      << ", last evaluation)\n";
  for (const auto& line : table) {
    std::string text = "  ";
    for (std::size_t c = 0; c < line.size(); ++c) {
      const std::string pad(widths[c] - width(line[c]), ' ');
      text += c == 0 ? line[c] + pad : "  " + pad + line[c];
    }
    out << text << "\n";
  }
}

// ---- the command -------------------------------------------------------------------------

// Every task entry's instances (one per seed, slot (0, 0) of the harness: the task of `plast
// train` and of a search's first generation), distilled where the entry says so. Entries that
// differ only by their student share their instances.
std::vector<TaskGrid> sample_grids(const CompareConfig& cfg) {
  const TrainConfig& c = cfg.train;
  std::vector<TaskGrid> grids(cfg.tasks.size());
  for (std::size_t t = 0; t < cfg.tasks.size(); ++t) {
    const CompareTask& ct = cfg.tasks[t];
    if (ct.base != t) {
      grids[t].instances = grids[ct.base].instances;
      continue;
    }
    const auto family = make_component(task_registry(), ct.task);
    grids[t].instances = sample_instances(*family, c.seeds, ct.split);
    if (!ct.distill) continue;
    const auto teacher = load_teacher(ct.distill->teacher);
    tbb::parallel_for(std::size_t{0}, c.seeds.size(), [&](std::size_t s) {
      try {   // the teacher's soft targets, computed once per instance (tasks/distillation.hpp)
        grids[t].instances[s] = distill(grids[t].instances[s], *teacher, *ct.distill);
      } catch (const Error& e) {
        ct.distill_node->fail(e.what());
      }
    });
  }
  return grids;
}

// Each entry's student (its own, or the file's, with the task's default for what is left
// out), its shape and size, and a unique file stem; entry-level checks that need an instance.
void describe_grids(const CompareConfig& cfg, std::vector<TaskGrid>& grids) {
  const TrainConfig& c = cfg.train;
  std::set<std::string> stems;
  for (std::size_t t = 0; t < cfg.tasks.size(); ++t) {
    const CompareTask& ct = cfg.tasks[t];
    TaskGrid& g = grids[t];
    const Task& first = g.instances.front();
    if (ct.target_accuracy && !first.classification)
      ct.target_accuracy_node->fail("task " + ct.task.type + " is not a classification task (use target_loss)");
    if (!first.trainer && first.train && first.train->size() < c.budget.batch)
      throw Error("task " + ct.label + ": batch = " + std::to_string(c.budget.batch) + ": larger than the training set (" +
                  std::to_string(first.train->size()) + " samples)");
    g.student = (ct.network ? cfg.networks[*ct.network].student : c.student).for_task(first);
    int fan_in = first.input_size;
    for (int h : g.student.hidden) {
      g.params += static_cast<long>(fan_in + 1) * h;
      fan_in = h;
    }
    g.params += static_cast<long>(fan_in + 1) * first.output_size;
    g.shape = std::to_string(first.input_size);
    for (int h : g.student.hidden) g.shape += "-" + std::to_string(h);
    g.shape += "-" + std::to_string(first.output_size) + " " + std::string(to_string(g.student.activation));
    std::string stem = file_stem_of(ct.label);
    for (int k = 2; stems.count(stem); ++k) stem = file_stem_of(ct.label) + "-" + std::to_string(k);
    stems.insert(stem);
    g.file_stem = stem;
  }
}

// A rule that fits only some students (a stored teacher or initialization: made for its study's
// student) is refused here, at its entry, before any training.
void check_rules_fit(const CompareConfig& cfg, const std::vector<TaskGrid>& grids,
                     const std::vector<std::shared_ptr<const LearningRule>>& rules) {
  const TrainConfig& c = cfg.train;
  for (std::size_t t = 0; t < cfg.tasks.size(); ++t) {
    const Task& first = grids[t].instances.front();
    MlpShape shape{{first.input_size}, grids[t].student.activation, first.output_activation};
    for (int h : grids[t].student.hidden) shape.sizes.push_back(h);
    shape.sizes.push_back(first.output_size);
    for (std::size_t r = 0; r < rules.size(); ++r) {
      try {
        rules[r]->make_state(Mlp(shape), c.budget.batch, RandomStream(0, Purpose::feedback));
      } catch (const Error& e) {
        const std::string where = "task " + cfg.tasks[t].label + ": ";
        if (c.rules[r].node) c.rules[r].node->fail(where + e.what());
        throw Error(where + e.what());
      }
    }
  }
}

// The grid of tasks × rules × seeds as harness jobs, each seed's student that of slot (0, 0).
std::vector<Run> train_grid(const CompareFlags& flags, const CompareConfig& cfg, const std::vector<TaskGrid>& grids,
                            const std::vector<std::shared_ptr<const LearningRule>>& rules) {
  const TrainConfig& c = cfg.train;
  std::vector<Run> runs;
  std::vector<Job> jobs;
  for (std::size_t t = 0; t < cfg.tasks.size(); ++t)
    for (std::size_t r = 0; r < rules.size(); ++r)
      for (std::size_t s = 0; s < c.seeds.size(); ++s) {
        runs.push_back({t, r, s, {}});
        jobs.push_back({rules[r].get(), &grids[t].instances[s], grids[t].student, c.optimizer_for(r), c.budget,
                        student_seed(c.seeds[s], 0, 0)});
      }
  if (!flags.quiet)
    std::cout << "plast compare: " << flags.config_path << ": " << rules.size() << " rule" << (rules.size() == 1 ? "" : "s")
              << " x " << cfg.tasks.size() << " task" << (cfg.tasks.size() == 1 ? "" : "s") << " x " << c.seeds.size()
              << " seed" << (c.seeds.size() == 1 ? "" : "s") << " = " << runs.size() << " runs, optimizer "
              << c.optimizer.type << " lr " << c.optimizer.lr << ", batch " << c.budget.batch << ", " << c.budget.epochs
              << " epoch" << (c.budget.epochs == 1 ? "" : "s") << std::endl;
  std::size_t done = 0;
  JobCallbacks callbacks;
  if (!flags.quiet)
    callbacks.on_done = [&](std::size_t i, const Student&, const TrainResult& result) {
      const Run& run = runs[i];
      const Task& task = grids[run.task].instances[run.seed];
      std::cout << "  [" << ++done << "/" << runs.size() << "] " << cfg.rule_labels[run.rule] << " on "
                << cfg.tasks[run.task].label << ", seed " << c.seeds[run.seed] << ": test_loss "
                << fmt("%.5g", result.last().test_loss)
                << (task.classification ? ", test_acc " + fmt("%.2f%%", 100.0 * result.last().test_accuracy) : "")
                << (result.outcome == Outcome::diverged ? "  DIVERGED" : "") << std::endl;
    };
  std::vector<TrainResult> results = run_jobs(jobs, callbacks);
  for (std::size_t i = 0; i < runs.size(); ++i) runs[i].result = std::move(results[i]);
  return runs;
}

// Per rule × task × metric the summary row, over the seeds.
std::vector<Row> summary_rows(const CompareConfig& cfg, std::size_t rule_count, const std::vector<Run>& runs,
                              const std::vector<Metrics>& metrics) {
  std::vector<Row> rows;
  for (std::size_t t = 0; t < cfg.tasks.size(); ++t)
    for (std::size_t r = 0; r < rule_count; ++r) {
      std::vector<std::string> names;
      std::map<std::string, std::vector<double>> values;
      for (std::size_t i = 0; i < runs.size(); ++i) {
        if (runs[i].task != t || runs[i].rule != r) continue;
        for (const auto& [name, value] : metrics[i]) {
          if (!values.count(name)) names.push_back(name);
          values[name].push_back(value);
        }
      }
      for (const auto& name : names) rows.push_back(summarize(cfg.rule_labels[r], cfg.tasks[t].label, name, values[name]));
    }
  return rows;
}

// Everything one compare produced, for the files and the JSON.
struct CompareOutput {
  const CompareConfig& cfg;
  const std::vector<TaskGrid>& grids;
  const std::vector<Run>& runs;
  const std::vector<Metrics>& metrics;
  const std::vector<Row>& rows;
  fs::path dir;
  std::vector<std::string> files;
};

void write_tables(CompareOutput& o) {
  const auto& seeds = o.cfg.train.seeds;
  o.files.push_back(write_file(o.dir, "summary.csv", [&](std::ostream& out) {
    out << "rule,task,metric,mean,sd,n\n";
    for (const auto& r : o.rows)
      out << csv_field(r.rule) << ',' << csv_field(r.task) << ',' << r.metric << ',' << csv_number(r.mean) << ','
          << csv_number(r.sd) << ',' << r.n << '\n';
  }));
  o.files.push_back(write_file(o.dir, "runs.csv", [&](std::ostream& out) {
    out << "task,rule,seed,metric,value\n";
    for (std::size_t i = 0; i < o.runs.size(); ++i)
      for (const auto& [name, value] : o.metrics[i])
        out << csv_field(o.cfg.tasks[o.runs[i].task].label) << ',' << csv_field(o.cfg.rule_labels[o.runs[i].rule]) << ','
            << seeds[o.runs[i].seed] << ',' << name << ',' << csv_number(value) << '\n';
  }));
  o.files.push_back(write_file(o.dir, "curves.csv", [&](std::ostream& out) {
    std::vector<CurveRun> curves;
    for (const auto& r : o.runs)
      curves.push_back({o.cfg.tasks[r.task].label, o.cfg.rule_labels[r.rule], seeds[r.seed], &r.result});
    write_curve_csv(out, curves);
  }));
}

// With `students:`, a score against parameter count: one series per task entry × rule.
std::optional<SizeTable> write_size_table(CompareOutput& o) {
  const CompareConfig& cfg = o.cfg;
  if (cfg.networks.empty()) return std::nullopt;
  SizeTable st;
  st.metric = o.grids.front().instances.front().classification ? "test_accuracy" : "test_loss";
  for (std::size_t n = 0; n < cfg.networks.size(); ++n) st.networks.push_back({cfg.networks[n].label, o.grids[n].params});
  const std::size_t rule_count = cfg.rule_labels.size();
  for (std::size_t t = 0; t < cfg.tasks.size(); t += cfg.networks.size())
    for (std::size_t r = 0; r < rule_count; ++r) {
      SizeTable::Series series{cfg.tasks[t].group + (rule_count > 1 ? " / " + cfg.rule_labels[r] : ""), {}, {}};
      for (std::size_t n = 0; n < cfg.networks.size(); ++n) {
        const auto it = std::find_if(o.rows.begin(), o.rows.end(), [&](const Row& row) {
          return row.task == cfg.tasks[t + n].label && row.rule == cfg.rule_labels[r] && row.metric == st.metric;
        });
        series.mean.push_back(it == o.rows.end() ? kNaN : it->mean);
        series.sd.push_back(it == o.rows.end() ? kNaN : it->sd);
      }
      st.series.push_back(std::move(series));
    }
  o.files.push_back(write_file(o.dir, "accuracy-vs-params.csv", [&](std::ostream& out) { write_size_csv(out, st); }));
  return st;
}

void write_plots(CompareOutput& o, const std::string& config_path, const std::optional<fs::path>& gnuplot) {
  const CompareConfig& cfg = o.cfg;
  const std::size_t seeds = cfg.train.seeds.size();
  const std::optional<SizeTable> size_table = write_size_table(o);
  std::vector<MeanCurves> means;
  for (std::size_t t = 0; t < cfg.tasks.size(); ++t) {
    means.push_back(mean_curves(o.runs, t, cfg.rule_labels.size(), o.grids[t].instances.front().classification,
                                o.grids[t].student.hidden.size()));
    o.files.push_back(write_file(o.dir, "mean-curves-" + o.grids[t].file_stem + ".csv",
                                 [&](std::ostream& out) { write_mean_curves(out, means.back(), cfg.rule_labels); }));
  }
  if (!gnuplot) return;
  std::vector<std::string> pngs;
  std::string script = plot_script(config_path, cfg.tasks, o.grids, means, cfg.rule_labels, seeds, pngs);
  if (size_table) {
    script += size_plot_commands(*size_table, "accuracy-vs-params.csv", "accuracy-vs-params.png",
                                 (size_table->metric == "test_accuracy" ? "test accuracy" : size_table->metric) +
                                     " against student size (mean ± sd over " + std::to_string(seeds) + " seed" +
                                     (seeds == 1 ? "" : "s") + ", last evaluation)");
    pngs.push_back("accuracy-vs-params.png");
  }
  o.files.push_back(write_file(o.dir, "plots.gp", [&](std::ostream& out) { out << script; }));
  for (const auto& png : pngs) fs::remove(o.dir / png);   // a stale one must not pass for new
  run_gnuplot(*gnuplot, o.dir, "plots.gp", "plast compare");
  for (const auto& png : pngs) {
    std::error_code ec;
    if (fs::file_size(o.dir / png, ec) == 0 || ec)
      throw Error("plast compare: gnuplot wrote no " + png + ", CSV files written to " + o.dir.string());
    o.files.push_back((o.dir / png).string());
  }
}

nlohmann::json write_json(CompareOutput& o, const std::string& config_path) {
  const CompareConfig& cfg = o.cfg;
  nlohmann::json j_rows = nlohmann::json::array(), j_runs = nlohmann::json::array();
  for (const auto& r : o.rows)
    j_rows.push_back({{"rule", r.rule}, {"task", r.task}, {"metric", r.metric}, {"mean", json_number(r.mean)},
                      {"sd", json_number(r.sd)}, {"n", r.n}});
  for (std::size_t i = 0; i < o.runs.size(); ++i) {
    nlohmann::json m = nlohmann::json::object();
    for (const auto& [name, value] : o.metrics[i]) m[name] = json_number(value);
    const Run& run = o.runs[i];
    j_runs.push_back({{"task", cfg.tasks[run.task].label}, {"rule", cfg.rule_labels[run.rule]},
                      {"seed", cfg.train.seeds[run.seed]}, {"outcome", run.result.outcome == Outcome::ok ? "ok" : "diverged"},
                      {"steps", run.result.steps}, {"metrics", std::move(m)}});
  }
  nlohmann::json task_labels = nlohmann::json::array();
  for (const auto& t : cfg.tasks) task_labels.push_back(t.label);
  o.files.push_back((o.dir / "compare.json").string());
  const nlohmann::json summary = {{"config", config_path}, {"dir", o.dir.string()}, {"tasks", task_labels},
                                  {"rules", cfg.rule_labels}, {"seeds", cfg.train.seeds}, {"rows", j_rows},
                                  {"runs", j_runs},           {"files", o.files}};
  write_file(o.dir, "compare.json", [&](std::ostream& out) { out << summary.dump(2) << '\n'; });
  return summary;
}

void run_compare(const CompareFlags& flags) {
  const CompareConfig cfg = load_compare_config(ConfigNode::load_file(flags.config_path));
  const TrainConfig& c = cfg.train;
  c.validate();
  const WorkerThreads threads(flags.threads);
  std::optional<fs::path> gnuplot;
  if (!flags.no_plots) {
    gnuplot = find_gnuplot();
    if (!gnuplot)
      throw Error("plast compare: gnuplot not found (install gnuplot-nox: scripts/install-deps, or pass --no-plots)");
  }
  const fs::path dir = flags.out.empty() ? fs::path("out") / (fs::path(flags.config_path).stem().string() + "-compare")
                                         : fs::path(flags.out);
  std::vector<std::shared_ptr<const LearningRule>> rules;
  for (const auto& r : c.rules) rules.push_back(make_rule(r));
  std::vector<TaskGrid> grids = sample_grids(cfg);
  describe_grids(cfg, grids);
  check_rules_fit(cfg, grids, rules);
  const std::vector<Run> runs = train_grid(flags, cfg, grids, rules);

  std::vector<Metrics> metrics(runs.size());
  for (std::size_t i = 0; i < runs.size(); ++i)
    metrics[i] = run_metrics(runs[i].result, cfg.tasks[runs[i].task], grids[runs[i].task].instances.front().classification,
                             cfg.networks.empty() ? -1 : grids[runs[i].task].params);
  const std::vector<Row> rows = summary_rows(cfg, rules.size(), runs, metrics);
  {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create folder (" + ec.message() + ")");
  }
  CompareOutput out{cfg, grids, runs, metrics, rows, dir, {}};
  write_tables(out);
  write_plots(out, flags.config_path, gnuplot);
  const nlohmann::json summary = write_json(out, flags.config_path);
  if (!flags.quiet) {
    for (std::size_t t = 0; t < cfg.tasks.size(); ++t)
      print_table(std::cout, cfg.tasks[t], grids[t], cfg.rule_labels, rows, c.seeds.size());
    std::cout << "\nwrote " << out.files.size() << " files to " << dir.string() << " (summary.csv: every metric, incl. "
              << "norm_ratio and snr)" << std::endl;
  }
  if (flags.json) std::cout << summary.dump() << std::endl;
}

}  // namespace

void add_compare_command(CLI::App& app) {
  auto flags = std::make_shared<CompareFlags>();
  CLI::App* cmd = app.add_subcommand(
      "compare", "Train a grid of rules x tasks x seeds, tabulate mean ± sd per metric, write CSV/JSON and plots");
  cmd->add_option("config", flags->config_path, "study file of kind compare: tasks, rules, student(s), optimizer, training, seeds")->required();
  cmd->add_option("--out", flags->out, "folder for the files (default: out/<file stem>-compare/)");
  cmd->add_option("--threads", flags->threads, "worker threads (default: all cores); results do not depend on it");
  cmd->add_flag("--json", flags->json, "end stdout with one JSON object (rows = {rule, task, metric, mean, sd, n})");
  cmd->add_flag("--quiet", flags->quiet, "print only the JSON object (with --json)");
  cmd->add_flag("--no-plots", flags->no_plots, "write CSV and JSON only (no gnuplot needed)");
  cmd->callback([flags] { run_compare(*flags); });
}

}  // namespace plast
