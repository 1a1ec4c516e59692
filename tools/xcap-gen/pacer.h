// Pacer: keeps the average send rate at --rate frames per second (a token bucket on
// CLOCK_MONOTONIC) and picks how many frames each kernel call sends. Frame i is due at
// start + i / rate; a chunk may go once its first frame is due. When the sender falls behind
// (the rate is above what it can do), the schedule slides forward so it never makes up lost
// time with a long burst.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ctime>

namespace xcap::gen {

inline int64_t monotonic_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

class Pacer {
 public:
  static constexpr uint32_t kMaxChunk = 65536;

  Pacer(uint64_t rate_pps, int64_t start_ns) : rate_(rate_pps), start_ns_(start_ns) {}

  // Nanoseconds to wait before frame number `sent` (0-based) may go; 0 when it is due.
  int64_t wait_ns(uint64_t sent, int64_t now_ns) {
    if (rate_ == 0) return 0;
    int64_t due = start_ns_ + int64_t(__int128(sent) * 1'000'000'000 / rate_);
    if (now_ns - due > kMaxLagNs) start_ns_ += now_ns - due - kMaxLagNs;
    return due > now_ns ? due - now_ns : 0;
  }

  // Frames for the next call: about a millisecond's worth, but at least twice what the last
  // call's duration was worth, so a slow call (the kernel may spend milliseconds setting a
  // call up) takes at most half of the time it has. As fast as possible: the largest chunk.
  uint32_t chunk() const { return chunk_; }
  void observe_call(int64_t call_ns) {
    if (rate_ == 0) return;
    uint64_t want =
        std::max<uint64_t>(rate_ / 1000, uint64_t(__int128(2 * call_ns) * rate_ / 1'000'000'000));
    chunk_ = uint32_t(std::clamp<uint64_t>(want, 1, kMaxChunk));
  }

 private:
  static constexpr int64_t kMaxLagNs = 50'000'000;  // at most 50 ms of catch-up burst
  uint64_t rate_;
  int64_t start_ns_;
  uint32_t chunk_ = rate_ ? uint32_t(std::clamp<uint64_t>(rate_ / 1000, 1, kMaxChunk)) : kMaxChunk;
};

}  // namespace xcap::gen
