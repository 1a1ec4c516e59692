// CaptureTotals: the numbers of the final stats line, and the line itself. Every frame the
// XDP program steered to a socket ends up either captured or under one drop reason:
//   kernel = no socket on the queue + AF_XDP rx_dropped (no free frame) + invalid descriptors
//   ring   = AF_XDP RX ring full (user space did not keep up)
//   filter-excluded = delivered but not selected by the filter
//   writer = no free block (writer behind) + lost to a failed write
//   decap-error = failed to decapsulate and dropped (--decap-errors drop)
//   too-big = longer than the sockets take whole (dropped at XDP without multi-buffer; chains
//             longer than the worker assembles)
// Local mode has no sockets: ring = the BPF ring buffer was full (ringbuf_full, both
// directions), filter-excluded includes what the kernel filter did not select.
// --stats-json prints the same numbers, and CaptureAccounting's, as one JSON line for scripts
// and tests; the stats line itself is a contract and stays as it is.
#pragma once

#include <cstdint>
#include <string>
#include <utility>

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

// Local mode, after the stats line, one per interface:
// "xcap: eth0 in 10 copied, 0 ringbuf-full; out 12 copied, 0 ringbuf-full"
inline std::string local_stats_line(const metrics::LocalSnapshot& l) {
  auto dir = [&](unsigned d) {
    return std::to_string(l.counters[d][XCAP_LCNT_COPIED]) + " copied, " +
           std::to_string(l.counters[d][XCAP_LCNT_RINGBUF_FULL]) + " ringbuf-full";
  };
  return "xcap: " + l.iface + " in " + dir(0) + "; out " + dir(1);
}

// The totals of a snapshot: the same counters the metrics show, summed over queues.
inline CaptureTotals totals_of(const metrics::CaptureSnapshot& s) {
  CaptureTotals t;
  t.captured = s.captured();
  t.kernel = s.xdp_count(XCAP_CNT_NO_SOCKET);
  t.too_big = s.xdp_count(XCAP_CNT_TOO_BIG);
  t.filter_excluded = s.xdp_count(XCAP_CNT_FILTER_EXCLUDED);
  t.ring = s.local_count(XCAP_LCNT_RINGBUF_FULL);
  t.filter_excluded += s.local_count(XCAP_LCNT_FILTER_EXCLUDED);
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

// Where every frame went (the -v accounting line's numbers): the XDP program's counts, and what
// the sockets delivered to the workers. The frames steered to capture, xdp_redirected +
// xdp_no_socket + xdp_filter_excluded + xdp_too_big, are captured + dropped (+ over_count, past
// -c).
struct CaptureAccounting {
  uint64_t xdp_seen = 0, xdp_passed = 0, xdp_redirected = 0, xdp_no_socket = 0, xdp_malformed = 0,
           xdp_filter_excluded = 0, delivered = 0, over_count = 0, xdp_too_big = 0, not_ready = 0;
  // Local mode, both directions of every interface: packets the programs saw, records copied,
  // records lost to a full ring buffer, packets the kernel filter left to user space.
  uint64_t local_seen = 0, local_copied = 0, ringbuf_full = 0, local_undecided = 0;
};

inline CaptureAccounting accounting_of(const metrics::CaptureSnapshot& s) {
  CaptureAccounting a;
  a.xdp_seen = s.xdp_count(XCAP_CNT_RX_PACKETS);
  a.xdp_passed = s.xdp_count(XCAP_CNT_PASS);
  a.xdp_redirected = s.xdp_count(XCAP_CNT_REDIRECT);
  a.xdp_no_socket = s.xdp_count(XCAP_CNT_NO_SOCKET);
  a.xdp_malformed = s.xdp_count(XCAP_CNT_MALFORMED);
  a.xdp_filter_excluded = s.xdp_count(XCAP_CNT_FILTER_EXCLUDED);
  a.xdp_too_big = s.xdp_count(XCAP_CNT_TOO_BIG);
  a.not_ready = s.xdp_count(XCAP_CNT_NOT_READY) + s.local_count(XCAP_LCNT_NOT_READY);
  a.local_seen = s.local_count(XCAP_LCNT_PACKETS);
  a.local_copied = s.local_count(XCAP_LCNT_COPIED);
  a.ringbuf_full = s.local_count(XCAP_LCNT_RINGBUF_FULL);
  a.local_undecided = s.local_count(XCAP_LCNT_FILTER_UNDECIDED);
  for (const metrics::QueueSnapshot& q : s.queues) {
    a.delivered += q.rx_packets;
    a.over_count += q.over_limit;
  }
  return a;
}

// One line, one flat object of "key":number, keys always present and in this order:
// {"captured":N,"dropped":N,"kernel":N,"ring":N,"filter_excluded":N,"writer":N,
//  "decap_error":N,"too_big":N,"xdp_seen":N,"xdp_passed":N,"xdp_redirected":N,
//  "xdp_no_socket":N,"xdp_malformed":N,"xdp_filter_excluded":N,"delivered":N,
//  "over_count":N,"xdp_too_big":N,"not_ready":N,"local_seen":N,"local_copied":N,
//  "ringbuf_full":N,"local_undecided":N}
// The -v accounting line: where every frame went, so the stats line can be checked to add up.
inline std::string accounting_line(const CaptureAccounting& a) {
  auto n = [](uint64_t v) { return std::to_string(v); };
  return "accounting: xdp seen " + n(a.xdp_seen) + ", passed " + n(a.xdp_passed) + ", redirected " +
         n(a.xdp_redirected) + ", no-socket " + n(a.xdp_no_socket) + ", malformed " +
         n(a.xdp_malformed) + ", filter-excluded " + n(a.xdp_filter_excluded) +
         "; sockets delivered " + n(a.delivered) + ", over-count " + n(a.over_count) +
         "; xdp too-big " + n(a.xdp_too_big) + "; passed before start " + n(a.not_ready);
}

inline std::string stats_json(const CaptureTotals& t, const CaptureAccounting& a) {
  const std::pair<const char*, uint64_t> fields[] = {
      {"captured", t.captured},
      {"dropped", t.dropped()},
      {"kernel", t.kernel},
      {"ring", t.ring},
      {"filter_excluded", t.filter_excluded},
      {"writer", t.writer},
      {"decap_error", t.decap_error},
      {"too_big", t.too_big},
      {"xdp_seen", a.xdp_seen},
      {"xdp_passed", a.xdp_passed},
      {"xdp_redirected", a.xdp_redirected},
      {"xdp_no_socket", a.xdp_no_socket},
      {"xdp_malformed", a.xdp_malformed},
      {"xdp_filter_excluded", a.xdp_filter_excluded},
      {"delivered", a.delivered},
      {"over_count", a.over_count},
      {"xdp_too_big", a.xdp_too_big},
      {"not_ready", a.not_ready},
      {"local_seen", a.local_seen},
      {"local_copied", a.local_copied},
      {"ringbuf_full", a.ringbuf_full},
      {"local_undecided", a.local_undecided},
  };
  std::string out = "{";
  for (const auto& [key, value] : fields)
    out += (out.size() > 1 ? ",\"" : "\"") + std::string(key) + "\":" + std::to_string(value);
  return out + "}";
}

}  // namespace xcap::cli
