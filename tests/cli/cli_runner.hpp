#pragma once
// Runs the built `plast` executable (PLAST_BINARY) as a child process and captures its exit
// code, stdout and stderr, for tests of what a user sees. fork/execve with no shell, so
// arguments need no quoting; stdout and stderr go to temporary files (no pipe can fill up
// and block the child); stdin is /dev/null; the child runs in a scratch folder so that a
// run that unexpectedly trains writes nothing into the source tree; a child still running
// after `timeout_s` is killed (a hang is a failure, not a stuck test binary).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ;

namespace plast::test {

struct CliResult {
  int exit_code = -1;     // the child's exit status; 128 + N if signal N ended it
  bool timed_out = false;
  std::string out, err;
};

// Environment changes for the child: `set` adds or replaces variables, `unset` removes them.
struct CliEnv {
  std::vector<std::pair<std::string, std::string>> set;
  std::vector<std::string> unset;
};

inline std::string read_whole_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

inline CliResult run_plast(const std::vector<std::string>& args, const CliEnv& env = {},
                           double timeout_s = 60.0) {
  namespace fs = std::filesystem;
  // A private scratch folder per call: the child's working directory and its output files.
  std::string tmpl = (fs::temp_directory_path() / "plast-cli-test-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) return {};
  const fs::path dir = tmpl;
  const std::string out_path = (dir / "stdout").string(), err_path = (dir / "stderr").string();

  // Everything the child needs is built before fork: after fork only async-signal-safe calls.
  std::vector<std::string> argv_s{PLAST_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_s;
  for (char** e = environ; *e; ++e) {
    const std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    bool drop = false;
    for (const auto& u : env.unset) drop |= name == u;
    for (const auto& [k, v] : env.set) drop |= name == k;
    if (!drop) env_s.push_back(entry);
  }
  for (const auto& [k, v] : env.set) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  const int out_fd = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int err_fd = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  const int in_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  CliResult result;
  const pid_t pid = (out_fd >= 0 && err_fd >= 0 && in_fd >= 0) ? fork() : -1;
  if (pid == 0) {
    // dup2 clears FD_CLOEXEC on the new descriptors.
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0 || chdir(tmpl.c_str()) != 0) _exit(126);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  for (int fd : {out_fd, err_fd, in_fd})
    if (fd >= 0) close(fd);
  if (pid > 0) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
    int status = 0;
    for (;;) {
      const pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid) break;
      if (done < 0) {
        status = -1;
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) {
        result.timed_out = true;
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    if (status == -1) result.exit_code = -1;
    else if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
    result.out = read_whole_file(out_path);
    result.err = read_whole_file(err_path);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return result;
}

// A private temporary folder for a test's files, removed with everything in it.
struct ScratchDir {
  std::filesystem::path dir;
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "plast-test-XXXXXX").string();
    dir = mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string path(const std::string& name) const { return (dir / name).string(); }
  // Writes `text` to the file `name` and returns its path.
  std::string write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
    return path(name);
  }
};

}  // namespace plast::test
