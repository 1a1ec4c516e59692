// The monotonic clock in nanoseconds: the precise one (vDSO, a few ns), not CLOCK_MONOTONIC_COARSE,
// whose tick (4 ms at HZ=250) is too coarse for a worker's naps.
#pragma once

#include <time.h>

#include <cstdint>

namespace xcap {

// ns as the timespec of a relative wait (nanosleep, epoll_pwait2).
inline timespec timespec_of_ns(uint64_t ns) {
  return timespec{time_t(ns / 1'000'000'000), long(ns % 1'000'000'000)};
}

inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

}  // namespace xcap
