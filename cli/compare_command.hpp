#pragma once
// `plast compare STUDY.yaml [--out DIR] [--threads N] [--json] [--quiet] [--no-plots]`: the
// classic comparison table. Trains every rule × task × seed of the file (cli/train_config.hpp,
// load_compare_config) in parallel with TBB, one student per thread; each run writes its own
// slot, so every number except samples/s is bitwise identical for any --threads. Task
// instance and student of a run are keyed by its seed, as in `plast train`.
// With `networks:` (a list of students instead of `network:`) every task entry runs with each
// student as the entry "LABEL hWIDTHS" ("distilled h300"), sharing the entry's task instances.
// A task entry with `distill: {teacher, temperature, hard_weight}` trains on a teacher's
// softened outputs (tasks/distillation.hpp), computed once per seed.
//
// Metrics of one run (the last evaluation unless said otherwise):
//   params (with `networks:` only: the student's weights and biases),
//   test_loss, test_accuracy (classification), min_test_loss (over the curve),
//   steps_to_target_loss / steps_to_target_accuracy (the first evaluation's step at which the
//     test loss is <= / the test accuracy is >= the task's target; NaN if never reached),
//   alignment_deg_hK, feedback_angle_deg_hK, norm_ratio_hK, snr_hK, snr_out (the telemetry of
//     lib/train.hpp, for the rules it applies to), train_samples_per_s (timing: the only
//     metric that differs between runs of the same file), diverged (1 or 0).
// Per rule × task × metric, a row {rule, task, metric, mean, sd, n} over the seeds whose value
// is finite (n of them: a diverged run, or a target never reached, is left out and counted by
// n); sd is the sample standard deviation (n − 1), NaN (JSON null) for n < 2.
//
// Files, in DIR (default out/<file stem>-compare/):
//   summary.csv             rule,task,metric,mean,sd,n (17 significant digits, nan for none)
//   runs.csv                task,rule,seed,metric,value: every run's metrics
//   curves.csv              every evaluation of every run (cli/output_files.hpp, write_curve_csv)
//   mean-curves-TASK.csv    per task: step, epoch, then for each rule its test loss, test
//                           accuracy, alignment and feedback angles, mean over seeds (empty
//                           where a seed has no finite value there)
//   compare.json            the object --json prints
//   plots.gp, curves-TASK.png, angles-TASK.png (unless --no-plots): test loss (and accuracy)
//                           against the epoch per rule; the alignment angle per hidden layer
//                           (and ∠(B, Wᵀ) for rules with feedback matrices), mean over seeds
//   accuracy-vs-params.csv, accuracy-vs-params.png (with `networks:`): per network its label and
//                           parameter count (the first task's input and output sizes), then per
//                           task entry × rule the mean and sd of the final test accuracy (test
//                           loss for regression); the PNG draws it against log parameter count
// stdout: a table per task (mean ± sd of the metrics above, except norm ratio and SNR, which
// are in the files), then the folder; --json ends it with one JSON object:
//   {"config", "dir", "tasks", "rules", "seeds", "rows": [{rule, task, metric, mean, sd, n}],
//    "runs": [{task, rule, seed, outcome, steps, metrics: {name: value}}], "files"}
// --quiet prints only that object (with --json). gnuplot (gnuplot-nox) must be on PATH unless
// --no-plots; its absence is reported before any training.
#include <CLI/CLI.hpp>

namespace plast {

void add_compare_command(CLI::App& app);

}  // namespace plast
