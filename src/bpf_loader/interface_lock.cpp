#include "bpf_loader/interface_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/log.h"

namespace xcap::bpf_loader {

std::string InterfaceLock::default_dir() {
  const char* d = getenv("RUNTIME_DIRECTORY");
  // systemd may list several directories, separated by ':'; xcap's unit names one.
  return d && *d ? std::string(d).substr(0, std::string(d).find(':')) : "/run/xcap";
}

Result<InterfaceLock> InterfaceLock::acquire(const std::string& ifname, const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return errno_error("cannot create lock directory " + dir);
  // This process's network namespace, by the inode of its nsfs file.
  struct stat ns {};
  if (stat("/proc/self/ns/net", &ns) != 0)
    return errno_error("cannot identify the network namespace (/proc/self/ns/net)");
  const std::string path =
      dir + "/" + ifname + "@netns-" + std::to_string(uint64_t(ns.st_ino)) + ".lock";
  Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("cannot open lock file " + path);
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return errno_error("cannot lock " + path);
    char buf[32] = {};
    ssize_t n = pread(fd.get(), buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, strnlen(buf, size_t(n))) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return make_error(ErrorKind::Busy, "interface " + ifname +
                                           " is already in use by another xcap (pid " + pid +
                                           "); stop it first");
  }
  // The pid only tells a second xcap whom to stop; the flock is the lock. Without it that
  // message says "pid ?", so a failure here is logged, not fatal.
  std::string me = std::to_string(getpid()) + "\n";
  if (ftruncate(fd.get(), 0) != 0 ||
      pwrite(fd.get(), me.data(), me.size(), 0) != ssize_t(me.size()))
    log_debug("%s", errno_error("cannot write this pid to " + path).message.c_str());
  return InterfaceLock(std::move(fd));
}

InterfaceLock::~InterfaceLock() {
  // Leave the file: unlinking a lock file races with a second process opening it. Emptying it
  // is tidiness only: the pid is read only while someone holds the lock, who wrote their own.
  if (fd_.valid()) (void)!ftruncate(fd_.get(), 0);
}

}  // namespace xcap::bpf_loader
