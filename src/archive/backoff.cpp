#include "archive/backoff.h"

#include <algorithm>
#include <cmath>

namespace xcap::archive {

double Backoff::ceiling(unsigned attempt) const {
  return std::min(cap_s_, base_s_ * std::ldexp(1.0, static_cast<int>(std::min(attempt, 62u))));
}

double Backoff::next() {
  std::uniform_real_distribution<double> d(0.0, ceiling(attempt_));
  attempt_++;
  return d(rng_);
}

}  // namespace xcap::archive
