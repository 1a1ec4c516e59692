// Fd: owns a file descriptor and closes it once (RAII). Move-only. Kept local to the file
// sink; swap for a shared one if src/common grows one.
#pragma once

#include <unistd.h>

#include <utility>

namespace xcap::sink {

class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { reset(); }
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Closes now and reports close(2)'s result: on NFS and some disks the last write error
  // only shows up here, so a writer that cares checks it.
  int close() {
    if (fd_ < 0) return 0;
    return ::close(std::exchange(fd_, -1));
  }
  void reset() { (void)close(); }

 private:
  int fd_ = -1;
};

}  // namespace xcap::sink
