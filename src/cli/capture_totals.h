// CaptureTotals: the numbers of the final stats line, and the line itself. Every frame the
// XDP program steered to a socket ends up either captured or under one drop reason:
//   kernel = no socket on the queue + AF_XDP rx_dropped (no free frame) + invalid descriptors
//   ring   = AF_XDP RX ring full (user space did not keep up)
//   filter-excluded = delivered but not selected by the filter
//   writer = no free block (writer behind) + lost to a failed write
//   decap-error = failed to decapsulate and dropped (--decap-errors drop)
#pragma once

#include <cstdint>
#include <string>

namespace xcap::cli {

struct CaptureTotals {
  uint64_t captured = 0;
  uint64_t kernel = 0;
  uint64_t ring = 0;
  uint64_t filter_excluded = 0;
  uint64_t writer = 0;
  uint64_t decap_error = 0;
  uint64_t dropped() const { return kernel + ring + filter_excluded + writer + decap_error; }
};

inline std::string stats_line(const CaptureTotals& t) {
  return "xcap: " + std::to_string(t.captured) + " packets captured, " +
         std::to_string(t.dropped()) + " dropped (kernel " + std::to_string(t.kernel) + ", ring " +
         std::to_string(t.ring) + ", filter-excluded " + std::to_string(t.filter_excluded) +
         ", writer " + std::to_string(t.writer) + ", decap-error " + std::to_string(t.decap_error) +
         ")";
}

}  // namespace xcap::cli
