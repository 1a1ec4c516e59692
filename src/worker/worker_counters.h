// WorkerCounters: what one worker counts. Only its worker writes (relaxed load+store: a plain
// mov, no locked instruction); the metrics scrape and the stats line read them from elsewhere.
#pragma once

#include <atomic>
#include <cstdint>

namespace xcap::worker {

class Counter {
 public:
  void add(uint64_t n) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

struct WorkerCounters {
  Counter rx_packets;  // frames taken from the AF_XDP RX ring
  Counter rx_bytes;
  Counter filter_excluded;  // not selected by -f, after decapsulation
  Counter delivered;        // handed to the sinks (or counted, in rate-check mode)
  Counter over_limit;       // arrived after -c COUNT was reached: not captured, not a loss
  Counter batches;          // non-empty batches: rx_packets / batches is the mean batch size
};

}  // namespace xcap::worker
