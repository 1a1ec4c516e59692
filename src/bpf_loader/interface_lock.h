// InterfaceLock: one xcap per interface. An flock on /run/xcap/<iface>@netns-<inode>.lock is
// held for the life of the capture; the kernel drops it when the process dies, even by
// SIGKILL, so a lock that can be taken means any xcap program still attached is a leftover,
// safe to remove. Interface names are unique only within a network namespace: eth1 in one
// container and eth1 in another are two interfaces, so the namespace is part of the key.
#pragma once

#include <string>

#include "common/fd.h"
#include "common/result.h"

namespace xcap::bpf_loader {

class InterfaceLock {
 public:
  // Error "interface X is already in use by xcap (pid N)" when another capture holds it.
  static Result<InterfaceLock> acquire(const std::string& ifname, const std::string& dir);
  // The directory of the locks: $RUNTIME_DIRECTORY when set (systemd's RuntimeDirectory=xcap,
  // which makes it /run/xcap owned by the service's user), else /run/xcap.
  static std::string default_dir();

  InterfaceLock(InterfaceLock&&) = default;
  InterfaceLock& operator=(InterfaceLock&&) = default;
  ~InterfaceLock();

 private:
  explicit InterfaceLock(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

}  // namespace xcap::bpf_loader
