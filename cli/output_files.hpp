#pragma once
// What the commands that write files share: CSV numbers and fields, writing a file with one
// clear line when it fails, the learning-curve CSV of `plast train` and `plast compare`, and
// running gnuplot (gnuplot-nox) on a script.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "lib/train.hpp"

namespace plast {

// 17 significant digits (round-trips a double); non-finite values as nan / inf / -inf
// (printf would write "-nan" for a NaN with its sign bit set).
std::string csv_number(double v);
// RFC 4180: a field is quoted only if it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s);
// Writes DIR/NAME through `fill` and returns its path; one line naming the file if it fails.
std::string write_file(const std::filesystem::path& dir, const std::string& name,
                       const std::function<void(std::ostream&)>& fill);

// The learning curves, one row per evaluation of every run:
//   task,rule,seed,step,epoch,train_loss,validation_loss,validation_accuracy,test_loss,test_accuracy,
//   alignment_deg_h1..hK[,feedback_angle_deg_h1..hK,norm_ratio_h1..hK][,snr_h1..hK,snr_out],outcome
// (the telemetry of lib/train.hpp: "hk" is hidden layer k, "out" the output layer). The
// feedback and SNR groups appear when some run has them; a run without them, or with fewer
// hidden layers than K (the deepest run's count), leaves those fields empty, and a value that
// is undefined at that point is written nan.
struct CurveRun {
  std::string task, rule;
  std::uint64_t seed = 0;
  const TrainResult* result = nullptr;
};
void write_curve_csv(std::ostream& out, const std::vector<CurveRun>& runs);
// The same into PATH (its folder created); "PATH: cannot write the CSV file" if that fails.
void write_curve_csv(const std::string& path, const std::vector<CurveRun>& runs);

// A gnuplot single-quoted string (no escapes inside; a quote is doubled).
std::string gp_string(const std::string& s);
// The gnuplot executable on PATH, if any.
std::optional<std::filesystem::path> find_gnuplot();
// Runs `gnuplot SCRIPT` in `dir` (stdin and stdout /dev/null); on failure, one line
// "COMMAND: gnuplot failed (its last error line), CSV files written to DIR".
void run_gnuplot(const std::filesystem::path& gnuplot, const std::filesystem::path& dir, const std::string& script,
                 const std::string& command);

}  // namespace plast
