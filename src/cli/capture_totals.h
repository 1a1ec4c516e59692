// CaptureTotals: the numbers of the final stats line, and the line itself. Every frame the
// XDP program steered to a socket ends up either captured or under one drop reason:
//   kernel = no socket on the queue + AF_XDP rx_dropped (no free frame) + invalid descriptors
//   ring   = AF_XDP RX ring full (user space did not keep up)
//   filter-excluded = delivered but not selected by the filter
//   writer = no free block (writer behind) + lost to a failed write
//   decap-error = failed to decapsulate and dropped (--decap-errors drop)
//   too-big = longer than the sockets take whole (dropped at XDP without multi-buffer; chains
//             longer than the worker assembles)
#pragma once

#include <cstdint>
#include <string>

#include "metrics/capture_snapshot.h"

namespace xcap::cli {

struct CaptureTotals {
  uint64_t captured = 0;
  uint64_t kernel = 0;
  uint64_t ring = 0;
  uint64_t filter_excluded = 0;
  uint64_t writer = 0;
  uint64_t decap_error = 0;
  uint64_t too_big = 0;
  uint64_t dropped() const {
    return kernel + ring + filter_excluded + writer + decap_error + too_big;
  }
};

inline std::string stats_line(const CaptureTotals& t) {
  return "xcap: " + std::to_string(t.captured) + " packets captured, " +
         std::to_string(t.dropped()) + " dropped (kernel " + std::to_string(t.kernel) + ", ring " +
         std::to_string(t.ring) + ", filter-excluded " + std::to_string(t.filter_excluded) +
         ", writer " + std::to_string(t.writer) + ", decap-error " + std::to_string(t.decap_error) +
         ", too-big " + std::to_string(t.too_big) + ")";
}

// The totals of a snapshot: the same counters the metrics show, summed over queues.
inline CaptureTotals totals_of(const metrics::CaptureSnapshot& s) {
  CaptureTotals t;
  t.captured = s.captured();
  t.kernel = s.xdp_count(XCAP_CNT_NO_SOCKET);
  t.too_big = s.xdp_count(XCAP_CNT_TOO_BIG);
  t.filter_excluded = s.xdp_count(XCAP_CNT_FILTER_EXCLUDED);
  for (const metrics::QueueSnapshot& q : s.queues) {
    t.kernel += q.fill_ring_empty + q.invalid_descs;
    t.ring += q.xsk_ring_full;
    t.too_big += q.too_big;
    t.decap_error += q.decap_dropped;
    t.filter_excluded += q.filter_excluded;
  }
  if (s.file) t.writer = s.files.backpressure_drops + s.files.write_error_drops;
  return t;
}

}  // namespace xcap::cli
