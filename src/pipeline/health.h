// Health: what GET /healthz on the metrics listener answers. A load balancer in front of a sink
// VM (AWS NLB/GWLB, OCI NLB) probes it and sends mirror traffic only to a sink that answers
// 200: every queue is capturing (XDP still attached, each worker running) and the writer keeps
// up. Otherwise 503 with the reasons, so the probe's log says what to fix.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace xcap::pipeline {

struct Health {
  bool ok = true;
  std::string reason;         // "ok", or every reason it is not, joined by "; "
  bool xdp_attached = false;  // the kernel's answer the verdict used (xcap_xdp_attached)
};

// What the pipeline knows at a probe, read then (HealthCheck turns it into a Health).
struct HealthInputs {
  std::string iface;
  bool xdp = false;           // a live capture: an XDP program should be attached
  bool xdp_attached = false;  // the kernel still runs it on iface
  std::vector<std::pair<uint32_t, bool>> queues;  // queue, its worker running
  bool file = false;                              // writing files (-w)
  bool file_failed = false;                       // the output failed for good
  uint64_t write_started_ns = 0;  // monotonic start of the write in progress; 0: none
  uint64_t backpressure_drops = 0;
};

class HealthCheck {
 public:
  // A write() that has not returned for this long is a stalled writer (a reader that stopped
  // reading, a hung disk), whether or not packets come to be dropped.
  static constexpr uint64_t kStalledWriteNs = 5'000'000'000;
  // Packets dropped because the writer was behind keep the answer at 503 this long after the
  // last probe that saw the count rise, so a probe every 5-10 s sees a writer that drops now
  // and then.
  static constexpr uint64_t kBehindWindowNs = 10'000'000'000;

  Health evaluate(const HealthInputs& in, uint64_t now_ns);

 private:
  std::mutex mu_;  // probes may come from more than one connection
  bool seen_ = false;
  uint64_t last_drops_ = 0;
  uint64_t last_rise_ns_ = 0;
  bool rose_ = false;
};

}  // namespace xcap::pipeline
