#include "bpf_loader/interface_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace xcap::bpf_loader {

Result<InterfaceLock> InterfaceLock::acquire(const std::string& ifname, const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST)
    return make_error("cannot create lock directory " + dir + ": " + strerror(errno));
  // This process's network namespace, by the inode of its nsfs file.
  struct stat ns {};
  if (stat("/proc/self/ns/net", &ns) != 0)
    return make_error(std::string("cannot identify the network namespace (/proc/self/ns/net): ") +
                      strerror(errno));
  const std::string path =
      dir + "/" + ifname + "@netns-" + std::to_string(uint64_t(ns.st_ino)) + ".lock";
  Fd fd(open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd.valid()) return make_error("cannot open lock file " + path + ": " + strerror(errno));
  if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    ssize_t n = pread(fd.get(), buf, sizeof buf - 1, 0);
    std::string pid = n > 0 ? std::string(buf, strnlen(buf, size_t(n))) : "?";
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return make_error("interface " + ifname + " is already in use by another xcap (pid " + pid +
                      "); stop it first");
  }
  std::string me = std::to_string(getpid()) + "\n";
  if (ftruncate(fd.get(), 0) == 0) (void)!pwrite(fd.get(), me.data(), me.size(), 0);
  return InterfaceLock(std::move(fd));
}

InterfaceLock::~InterfaceLock() {
  // Leave the file: unlinking a lock file races with a second process opening it.
  if (fd_.valid()) (void)!ftruncate(fd_.get(), 0);
}

}  // namespace xcap::bpf_loader
