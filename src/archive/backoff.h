// Retry waits: exponential backoff with full jitter. The n-th retry (n from 0) waits a time
// drawn uniformly from [0, min(cap, base * 2^n)], so many sinks that lost the store at once
// do not all come back at the same moment.
#pragma once

#include <cstdint>
#include <random>

namespace xcap::archive {

class Backoff {
 public:
  Backoff(double base_s, double cap_s, uint64_t seed = std::random_device{}())
      : base_s_(base_s), cap_s_(cap_s), rng_(seed) {}
  // The upper bound of the n-th wait.
  double ceiling(unsigned attempt) const;
  // The next wait, in seconds; each call counts one failure.
  double next();
  void reset() { attempt_ = 0; }
  unsigned attempt() const { return attempt_; }

 private:
  double base_s_, cap_s_;
  unsigned attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace xcap::archive
