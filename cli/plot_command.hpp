#pragma once
// `plast plot STORE [--out DIR] [--csv] [--json]`: what a study did, as CSV files and PNG
// plots in DIR (default out/<study name>-plots/):
//   history.csv      one row per generation: best, mean, median, step_size, evaluations,
//                    diverged, wall_seconds (the store's statistics)
//   candidates.csv   one row per candidate: generation, member, status, fitness, then one
//                    column per searched parameter, named as in the study
//   best.csv         the coefficient trajectories: per generation its best candidate (lowest
//                    fitness; NaN counts as worst): generation, member, fitness, θ by name
//   plots.gp         the gnuplot script that draws the PNGs (rerun: cd DIR && gnuplot plots.gp)
//   fitness.png      best and mean fitness per generation (log axis when every finite value is
//                    positive), step size on the second axis
//   coefficients.png every searched parameter of best.csv against the generation
// Numbers are written with 17 significant digits; non-finite ones as nan, inf, -inf (gnuplot
// skips them). --csv writes only the CSV files; otherwise gnuplot (gnuplot-nox) must be on
// PATH: without it the CSV files are still written and the command fails with one line
// saying so. --json ends stdout with one object: {"study", "store", "dir", "files": [...]}.
#include <CLI/CLI.hpp>

namespace plast {

void add_plot_command(CLI::App& app);

}  // namespace plast
