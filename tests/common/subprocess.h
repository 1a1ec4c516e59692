// Subprocess: runs a program for a test (no shell), its stdout and stderr captured in files,
// with a deadline. The destructor kills what is still running, so a failing test leaves no
// capture behind.
#pragma once

#include <signal.h>

#include <string>
#include <vector>

#include "common/temp_dir.h"

namespace xcap::test {

class Subprocess {
 public:
  // argv[0] is a path. Output goes to files in a fresh temporary directory.
  explicit Subprocess(std::vector<std::string> argv, const std::string& stdout_path = "");
  ~Subprocess();
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  void signal(int sig);
  // Waits up to timeout_s; returns the exit status, or -1 on timeout (the process is killed),
  // or 128+N when it died of signal N.
  int wait(double timeout_s);
  bool running();
  std::string out() const;  // stdout so far
  std::string err() const;  // stderr so far
  // Polls stderr until it contains text (true) or timeout_s passes / the process exits (false).
  bool wait_for_stderr(const std::string& text, double timeout_s);
  int pid() const { return pid_; }

 private:
  int pid_ = -1;
  int status_ = -1;
  bool reaped_ = false;
  TempDir dir_;  // holds stderr (and stdout unless stdout_path is given)
  std::string out_path_, err_path_;
};

// Runs argv to completion; returns {exit status, stdout + stderr}.
struct RunResult {
  int status;
  std::string output;
};
RunResult run(const std::vector<std::string>& argv, double timeout_s = 60);
// Runs a shell command line (for `ip ...` plumbing only), returns its exit status.
int sh(const std::string& cmd);
// The same with its stdout and stderr discarded.
int sh_quiet(const std::string& cmd);
std::string read_file(const std::string& path);

// Skips the test when XCAP_SKIP_PRIVILEGED=1; fails it when not root. Never skips silently.
#define XCAP_REQUIRE_PRIVILEGED()                                                               \
  do {                                                                                          \
    if (const char* s = getenv("XCAP_SKIP_PRIVILEGED"); s && std::string(s) == "1")             \
      GTEST_SKIP() << "XCAP_SKIP_PRIVILEGED=1: privileged test skipped on request";             \
    ASSERT_EQ(geteuid(), 0u) << "privileged test: run as root (or set XCAP_SKIP_PRIVILEGED=1)"; \
  } while (0)

}  // namespace xcap::test
