#include "pipeline/health.h"

namespace xcap::pipeline {
namespace {

void add(Health& h, const std::string& why) {
  h.reason += (h.ok ? "" : "; ") + why;
  h.ok = false;
}

}  // namespace

Health HealthCheck::evaluate(const HealthInputs& in, uint64_t now_ns) {
  Health h;
  h.xdp_attached = in.xdp_attached;
  if (in.xdp && !in.xdp_attached)
    add(h, "the XDP program is no longer attached to " + in.iface +
               " (detached by another tool?): nothing is captured");
  for (const auto& [queue, running] : in.queues)
    if (!running) add(h, "queue " + std::to_string(queue) + ": its worker stopped");
  if (in.file && in.file_failed) add(h, "the output failed: no more files are written");
  if (in.file && in.write_started_ns && now_ns > in.write_started_ns &&
      now_ns - in.write_started_ns >= kStalledWriteNs)
    add(h, "writer stalled: a write has not returned for " +
               std::to_string((now_ns - in.write_started_ns) / 1'000'000'000) + " s");
  {
    std::lock_guard lock(mu_);
    if (seen_ && in.backpressure_drops > last_drops_) {
      rose_ = true;
      last_rise_ns_ = now_ns;
    }
    if (rose_ && now_ns - last_rise_ns_ < kBehindWindowNs)
      add(h, "writer behind: packets dropped for want of a free block (writer_backpressure " +
                 std::to_string(in.backpressure_drops) + ") in the last " +
                 std::to_string(kBehindWindowNs / 1'000'000'000) + " s");
    seen_ = true;
    last_drops_ = in.backpressure_drops;
  }
  if (h.ok) h.reason = "ok";
  return h;
}

}  // namespace xcap::pipeline
