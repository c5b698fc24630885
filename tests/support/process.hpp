#pragma once
// Runs the real esxmirror binary (or any program) as a child process, for tests that assert exit
// codes, output and behaviour across processes (locks, signals).
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

namespace esxmirror::testing {

struct ProcessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string out, err;
  std::string all() const { return out + err; }
};

// Runs `program args...` to completion (killed after `timeout`), capturing stdout and stderr; in the
// working directory `cwd` when given.
ProcessResult run_process(const std::string& program, const std::vector<std::string>& args,
                          std::chrono::seconds timeout = std::chrono::seconds(120),
                          const std::filesystem::path& cwd = {});

// A child left running; its output goes to files. Killed (SIGKILL) when destroyed if still alive.
class Child {
 public:
  Child(const std::string& program, const std::vector<std::string>& args, const std::filesystem::path& output_dir);
  ~Child();
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  int pid() const { return pid_; }
  void signal(int sig);
  // Waits for the exit and returns its result (exit_code -1 and `signal` set when killed).
  ProcessResult wait();

 private:
  int pid_ = -1;
  std::filesystem::path out_file_, err_file_;
  bool reaped_ = false;
};

// A fresh directory under the system temp dir, removed with everything in it when destroyed.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace esxmirror::testing
