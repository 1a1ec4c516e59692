// CaptureLimit: the -c COUNT budget shared by all workers. Workers take a whole batch at once
// (one atomic operation per batch, never per packet); the worker that empties it says so.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>

namespace xcap::worker {

class CaptureLimit {
 public:
  explicit CaptureLimit(uint64_t count = 0) : unlimited_(count == 0), left_(int64_t(count)) {}

  // How many of n packets may still be captured.
  unsigned take(unsigned n) {
    if (unlimited_) return n;
    int64_t before = left_.fetch_sub(n, std::memory_order_relaxed);
    if (before <= 0) return 0;
    return unsigned(std::min<int64_t>(before, n));
  }
  bool reached() const { return !unlimited_ && left_.load(std::memory_order_relaxed) <= 0; }

 private:
  const bool unlimited_;
  std::atomic<int64_t> left_;
};

}  // namespace xcap::worker
