// SingleWriterCounter: a counter that one thread adds to and any thread reads (the metrics
// scrape, the stats line). Relaxed load + store: a plain add, no locked instruction.
#pragma once

#include <atomic>
#include <cstdint>

namespace xcap {

class SingleWriterCounter {
 public:
  // Only the owning thread may call add().
  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

}  // namespace xcap
