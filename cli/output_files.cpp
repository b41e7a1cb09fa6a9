#include "cli/output_files.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "lib/error.hpp"

namespace plast {

namespace fs = std::filesystem;

std::string csv_number(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string write_file(const fs::path& dir, const std::string& name, const std::function<void(std::ostream&)>& fill) {
  const std::string path = (dir / name).string();
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (out) fill(out);
  out.close();
  if (!out) throw Error(path + ": cannot write file");
  return path;
}

namespace {

// `count` fields from `values` (empty where there is none).
void append_fields(std::ostream& out, const std::vector<double>& values, std::size_t count) {
  for (std::size_t k = 0; k < count; ++k) out << ',' << (k < values.size() ? csv_number(values[k]) : std::string());
}

}  // namespace

void write_curve_csv(std::ostream& out, const std::vector<CurveRun>& runs) {
  std::size_t hidden = 0;
  bool feedback = false, snr = false;
  for (const auto& r : runs)
    for (const auto& p : r.result->curve) {
      hidden = std::max(hidden, p.alignment_deg.size());
      feedback |= !p.feedback_angle_deg.empty();
      snr |= !p.snr.empty();
      if (!p.snr.empty()) hidden = std::max(hidden, p.snr.size() - 1);
    }
  out << "task,rule,seed,step,epoch,train_loss,validation_loss,validation_accuracy,test_loss,test_accuracy";
  for (std::size_t k = 1; k <= hidden; ++k) out << ",alignment_deg_h" << k;
  if (feedback) {
    for (std::size_t k = 1; k <= hidden; ++k) out << ",feedback_angle_deg_h" << k;
    for (std::size_t k = 1; k <= hidden; ++k) out << ",norm_ratio_h" << k;
  }
  if (snr) {
    for (std::size_t k = 1; k <= hidden; ++k) out << ",snr_h" << k;
    out << ",snr_out";
  }
  out << ",outcome\n";
  for (const auto& r : runs)
    for (const auto& p : r.result->curve) {
      out << csv_field(r.task) << ',' << csv_field(r.rule) << ',' << r.seed << ',' << p.step << ',' << csv_number(p.epoch)
          << ',' << csv_number(p.train_loss) << ',' << csv_number(p.validation_loss) << ','
          << csv_number(p.validation_accuracy) << ',' << csv_number(p.test_loss) << ',' << csv_number(p.test_accuracy);
      append_fields(out, p.alignment_deg, hidden);
      if (feedback) {
        append_fields(out, p.feedback_angle_deg, hidden);
        append_fields(out, p.norm_ratio, hidden);
      }
      if (snr) {
        // The output layer's SNR is the last entry, whatever this run's depth.
        const std::vector<double> layers(p.snr.begin(), p.snr.empty() ? p.snr.end() : p.snr.end() - 1);
        append_fields(out, layers, hidden);
        out << ',' << (p.snr.empty() ? std::string() : csv_number(p.snr.back()));
      }
      out << ',' << (r.result->outcome == Outcome::ok ? "ok" : "diverged") << '\n';
    }
}

void write_curve_csv(const std::string& path, const std::vector<CurveRun>& runs) {
  const auto parent = fs::path(path).parent_path();
  std::error_code ec;
  if (!parent.empty()) fs::create_directories(parent, ec);
  std::ofstream out(path);
  if (out) write_curve_csv(out, runs);
  out.close();
  if (!out) throw Error(path + ": cannot write the CSV file");
}

std::string gp_string(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("''") : std::string(1, c);
  return quoted + "'";
}

std::optional<fs::path> find_gnuplot() {
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const fs::path candidate = fs::path(dir.empty() ? "." : dir) / "gnuplot";
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return std::nullopt;
}

void run_gnuplot(const fs::path& gnuplot, const fs::path& dir, const std::string& script, const std::string& command) {
  std::string log_path = (fs::temp_directory_path() / "plast-gnuplot-XXXXXX").string();
  const int log_fd = mkstemp(log_path.data());
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  std::vector<std::string> args{gnuplot.string(), script};
  std::vector<char*> argv{args[0].data(), args[1].data(), nullptr};
  const std::string workdir = dir.string();
  const pid_t pid = (log_fd >= 0 && null_fd >= 0) ? fork() : -1;
  if (pid == 0) {
    if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(log_fd, 2) < 0 || chdir(workdir.c_str()) != 0) _exit(126);
    execv(argv[0], argv.data());
    _exit(127);
  }
  for (int fd : {log_fd, null_fd})
    if (fd >= 0) close(fd);
  int status = -1;
  if (pid > 0)
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  std::string last;
  if (log_fd >= 0) {
    std::ifstream log(log_path);
    for (std::string line; std::getline(log, line);)
      if (line.find_first_not_of(" \t\r^") != std::string::npos) last = line;
    std::remove(log_path.c_str());
  }
  if (pid < 0) throw Error(command + ": cannot start gnuplot");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(command + ": gnuplot failed" + (last.empty() ? std::string() : " (" + last + ")") + ", CSV files written to " +
                workdir);
}

}  // namespace plast
