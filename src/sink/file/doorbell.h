// Doorbell: lets a consumer thread sleep until a producer hands it something, instead of
// polling on a timer (the file writer polled every 500 us: 2,000 wake-ups a second on an idle
// or quiet capture). A producer rings after each hand-off, which is once per block (about
// 1 MiB of traffic, or a flush), so the futex call it may cost is not per packet.
#pragma once

#include <atomic>
#include <cstdint>

namespace xcap::sink {

class Doorbell {
 public:
  // The consumer: read before looking for work, then wait(that value) if it found none. A ring
  // in between changes the value, so the wait returns at once: no hand-off is slept through.
  uint32_t armed() const { return rings_.load(std::memory_order_acquire); }
  void wait(uint32_t armed) const { rings_.wait(armed, std::memory_order_acquire); }
  // A producer, after its hand-off (or whoever asks the consumer to stop).
  void ring() {
    rings_.fetch_add(1, std::memory_order_release);
    rings_.notify_one();  // one consumer: the writer
  }

 private:
  std::atomic<uint32_t> rings_{0};
};

}  // namespace xcap::sink
