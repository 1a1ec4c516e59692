#include "archive/hook.h"

#include <spawn.h>
#include <sys/wait.h>

extern char** environ;

namespace xcap::archive {

Result<void> run_hook(const std::string& cmd, const std::string& path) {
  char* argv[] = {const_cast<char*>(cmd.c_str()), const_cast<char*>(path.c_str()), nullptr};
  pid_t pid;
  if (int err = posix_spawnp(&pid, cmd.c_str(), nullptr, nullptr, argv, environ); err != 0)
    return errno_error(err, "-z " + cmd + ": cannot start");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return errno_error("-z " + cmd + ": cannot wait");
  if (WIFSIGNALED(status))
    return make_error(ErrorKind::System, "-z " + cmd + " " + path + ": killed by signal " +
                                             std::to_string(WTERMSIG(status)));
  if (WEXITSTATUS(status) != 0)
    return make_error(ErrorKind::System, "-z " + cmd + " " + path + ": exit status " +
                                             std::to_string(WEXITSTATUS(status)));
  return ok();
}

}  // namespace xcap::archive
