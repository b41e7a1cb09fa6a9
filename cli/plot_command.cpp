#include "cli/plot_command.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "cli/output_files.hpp"
#include "lib/error.hpp"
#include "lib/store.hpp"

namespace plast {
namespace {

namespace fs = std::filesystem;

struct PlotFlags {
  std::string store, out;
  bool csv_only = false, json = false;
};

// ---- CSV -------------------------------------------------------------------------------

std::string csv_header(std::vector<std::string> fixed, const std::vector<std::string>& params) {
  fixed.insert(fixed.end(), params.begin(), params.end());
  std::string line;
  for (const auto& f : fixed) line += (line.empty() ? "" : ",") + csv_field(f);
  return line;
}

void append_theta(std::ostream& out, const std::vector<double>& theta) {
  for (double v : theta) out << ',' << csv_number(v);
}

// Per generation its best candidate: the lowest fitness, NaN counting as worst (so every
// generation that has candidates has one); ties go to the lower member.
std::vector<CandidateRecord> best_per_generation(const std::vector<CandidateRecord>& candidates) {
  std::vector<CandidateRecord> best;
  for (const auto& c : candidates) {
    if (best.empty() || best.back().generation != c.generation) {
      best.push_back(c);
    } else if (!std::isnan(c.fitness) && (std::isnan(best.back().fitness) || c.fitness < best.back().fitness)) {
      best.back() = c;
    }
  }
  return best;
}

// ---- gnuplot ---------------------------------------------------------------------------

// How one series is drawn: on a log axis only finite positive values, otherwise only finite
// ones; anything else (nan, inf, a non-number) becomes NaN, which gnuplot leaves out.
std::string gp_column(int column, bool log) {
  const std::string c = "$" + std::to_string(column);
  return "(valid(" + std::to_string(column) + ") && " + (log ? c + " > 0 && " + c + " < 1e308" : "abs(" + c + ") < 1e308") +
         " ? " + c + " : NaN)";
}

bool plottable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

// A log axis when the values have a finite one and every finite one is positive.
bool log_axis(const std::vector<std::vector<double>>& series) {
  bool any = false;
  for (const auto& s : series)
    for (double v : s) {
      if (!std::isfinite(v)) continue;
      if (v <= 0) return false;
      any = true;
    }
  return any;
}

struct Series {
  std::string file;
  int column;
  std::string title, style, axes = "x1y1";
};

// The plot command for the series that have at least one point to draw (gnuplot refuses a
// series with none); a frame with a note when none has.
std::string gp_plot(const std::vector<std::pair<Series, bool>>& series, const std::vector<bool>& log_of) {
  std::string cmd;
  for (std::size_t i = 0; i < series.size(); ++i) {
    const auto& [s, drawable] = series[i];
    if (!drawable) continue;
    cmd += (cmd.empty() ? "plot " : ", \\\n     ") + gp_string(s.file) + " skip 1 using 1:" + gp_column(s.column, log_of[i]) +
           " axes " + s.axes + " with " + s.style + " title " + gp_string(s.title);
  }
  if (cmd.empty())
    return "set label 'no finite values to plot' at graph 0.5, 0.5 center\nunset logscale\nset yrange [0:1]\n"
           "plot -1 notitle\n";
  return cmd + "\n";
}

std::string plot_script(const StudyRecord& study, const std::string& store, const std::vector<GenerationRecord>& history,
                        const std::vector<CandidateRecord>& best) {
  std::vector<double> bests, means, steps;
  for (const auto& g : history) {
    bests.push_back(g.best);
    means.push_back(g.mean);
    steps.push_back(g.step_size);
  }
  const bool log_fitness = log_axis({bests, means}), log_step = log_axis({steps});
  auto any = [](const std::vector<double>& v, bool log) {
    for (double x : v)
      if (plottable(x, log)) return true;
    return false;
  };

  std::ostringstream gp;
  gp << "# Drawn by `plast plot " << store << "`; rerun in this folder with: gnuplot plots.gp\n"
     << "set datafile separator comma\n"
     << "if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {\n"
     << "  set terminal pngcairo noenhanced size 1000,600\n"
     << "} else {\n"
     << "  set terminal png noenhanced size 1000,600\n"
     << "}\n"
     << "set grid\nset key top right\nset xlabel 'generation'\n\n";

  gp << "set output 'fitness.png'\n"
     << "set title " << gp_string(study.name + ": fitness per generation (lower is better)") << "\n"
     << "set ylabel " << gp_string(log_fitness ? "fitness (log scale)" : "fitness") << "\n"
     << "set y2label " << gp_string(log_step ? "step size (log scale)" : "step size") << "\n"
     << "set ytics nomirror\nset y2tics\n"
     << (log_fitness ? "set logscale y\n" : "unset logscale y\n") << (log_step ? "set logscale y2\n" : "unset logscale y2\n")
     << gp_plot({{{"history.csv", 2, "best", "linespoints pt 7 ps 0.6"}, any(bests, log_fitness)},
                 {{"history.csv", 3, "mean", "lines"}, any(means, log_fitness)},
                 {{"history.csv", 5, "step size", "lines dashtype 2", "x1y2"}, any(steps, log_step)}},
                {log_fitness, log_fitness, log_step})
     << "\n";

  gp << "set output 'coefficients.png'\n"
     << "unset label\nunset logscale\nunset y2label\nunset y2tics\nset ytics mirror\nset autoscale y\n"
     << "set title " << gp_string(study.name + ": parameters of each generation's best candidate") << "\n"
     << "set ylabel 'value'\n";
  std::vector<std::pair<Series, bool>> coefficients;
  for (std::size_t k = 0; k < study.param_names.size(); ++k) {
    bool drawable = false;
    for (const auto& c : best) drawable |= k < c.theta.size() && std::isfinite(c.theta[k]);
    coefficients.push_back({{"best.csv", static_cast<int>(4 + k), study.param_names[k], "linespoints pt 7 ps 0.5"}, drawable});
  }
  gp << gp_plot(coefficients, std::vector<bool>(coefficients.size(), false)) << "set output\n";
  return gp.str();
}

// ---- the command -----------------------------------------------------------------------

void plot(const PlotFlags& f) {
  const Store store = Store::open(f.store);
  const StudyRecord& study = store.study();
  const auto history = store.generations();
  const auto candidates = store.candidates();
  if (history.empty()) throw Error(f.store + ": no generations stored yet (nothing to plot)");
  const auto best = best_per_generation(candidates);
  const fs::path dir = f.out.empty() ? fs::path("out") / (study.name + "-plots") : fs::path(f.out);
  {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) throw Error(dir.string() + ": cannot create folder (" + ec.message() + ")");
  }

  std::vector<std::string> files;
  files.push_back(write_file(dir, "history.csv", [&](std::ostream& out) {
    out << "generation,best,mean,median,step_size,evaluations,diverged,wall_seconds\n";
    for (const auto& g : history)
      out << g.generation << ',' << csv_number(g.best) << ',' << csv_number(g.mean) << ',' << csv_number(g.median) << ','
          << csv_number(g.step_size) << ',' << g.evaluations << ',' << g.diverged << ',' << csv_number(g.wall_seconds) << '\n';
  }));
  files.push_back(write_file(dir, "candidates.csv", [&](std::ostream& out) {
    out << csv_header({"generation", "member", "status", "fitness"}, study.param_names) << '\n';
    for (const auto& c : candidates) {
      out << c.generation << ',' << c.member << ',' << csv_field(c.status) << ',' << csv_number(c.fitness);
      append_theta(out, c.theta);
      out << '\n';
    }
  }));
  files.push_back(write_file(dir, "best.csv", [&](std::ostream& out) {
    out << csv_header({"generation", "member", "fitness"}, study.param_names) << '\n';
    for (const auto& c : best) {
      out << c.generation << ',' << c.member << ',' << csv_number(c.fitness);
      append_theta(out, c.theta);
      out << '\n';
    }
  }));

  if (!f.csv_only) {
    const auto gnuplot = find_gnuplot();
    if (!gnuplot)
      throw Error("plast plot: gnuplot not found (install gnuplot-nox: scripts/install-deps), CSV files written to " +
                  dir.string());
    files.push_back(write_file(dir, "plots.gp", [&](std::ostream& out) { out << plot_script(study, f.store, history, best); }));
    const std::vector<std::string> pngs{"fitness.png", "coefficients.png"};
    for (const auto& png : pngs) fs::remove(dir / png);   // a stale one must not pass for new
    run_gnuplot(*gnuplot, dir, "plots.gp", "plast plot");
    for (const auto& png : pngs) {
      std::error_code ec;
      if (fs::file_size(dir / png, ec) == 0 || ec)
        throw Error("plast plot: gnuplot wrote no " + png + ", CSV files written to " + dir.string());
      files.push_back((dir / png).string());
    }
  }

  if (f.json) {
    std::cout << nlohmann::json{{"study", study.name}, {"store", f.store}, {"dir", dir.string()}, {"files", files}}.dump()
              << std::endl;
  } else {
    std::string names;
    for (const auto& file : files) names += (names.empty() ? "" : ", ") + fs::path(file).filename().string();
    std::cout << "plast plot: " << study.name << " (" << history.size() << " generations) — wrote " << names << " to "
              << dir.string() << std::endl;
  }
}

}  // namespace

void add_plot_command(CLI::App& app) {
  auto f = std::make_shared<PlotFlags>();
  CLI::App* cmd = app.add_subcommand("plot", "Write a study's history, candidates and best θ as CSV, and plot them (gnuplot)");
  cmd->add_option("store", f->store, "study store (SQLite file)")->required();
  cmd->add_option("--out", f->out, "folder for the files (default: out/<study name>-plots/)");
  cmd->add_flag("--csv", f->csv_only, "write only the CSV files (no gnuplot needed)");
  cmd->add_flag("--json", f->json, "end stdout with one JSON object listing the files written");
  cmd->callback([f] { plot(*f); });
}

}  // namespace plast
