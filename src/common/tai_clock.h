// TAI and UTC: the BPF programs stamp packets with bpf_ktime_get_tai_ns() (CLOCK_TAI), which
// runs ahead of UTC (CLOCK_REALTIME) by the kernel's TAI offset: 37 s where a time daemon set
// it, 0 where none did. Captures are written in UTC, so user space subtracts the offset, read
// afresh about once a second (a leap second or a daemon setting it changes it).
#pragma once

#include <time.h>

#include <cstdint>

namespace xcap {

// A TAI timestamp in UTC, given CLOCK_TAI - CLOCK_REALTIME in nanoseconds.
constexpr uint64_t tai_to_utc_ns(uint64_t tai_ns, int64_t tai_minus_utc_ns) {
  return tai_ns - uint64_t(tai_minus_utc_ns);
}

inline int64_t clock_now_ns(clockid_t c) {
  timespec ts{};
  clock_gettime(c, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// UTC now (CLOCK_REALTIME), in nanoseconds since the epoch.
inline uint64_t realtime_ns() {
  return uint64_t(clock_now_ns(CLOCK_REALTIME));
}

// CLOCK_TAI - CLOCK_REALTIME now: REALTIME sampled between two TAI reads, so the offset is
// exact to the cost of the call (a whole number of seconds, give or take that cost).
inline int64_t sample_tai_minus_utc_ns() {
  const int64_t a = clock_now_ns(CLOCK_TAI), u = clock_now_ns(CLOCK_REALTIME),
                b = clock_now_ns(CLOCK_TAI);
  return (a + (b - a) / 2) - u;
}

}  // namespace xcap
