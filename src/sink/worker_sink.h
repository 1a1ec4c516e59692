// WorkerSink: where a worker hands its packets, one per sink and worker, used by that worker's
// thread only. The file ring's producer is one; the streaming fanout plugs in the same way.
// A virtual call per batch, never per packet; append() never waits (a sink that cannot keep
// up drops and counts).
#pragma once

#include <cstdint>
#include <span>

#include "common/packet_view.h"

namespace xcap::sink {

class WorkerSink {
 public:
  virtual ~WorkerSink() = default;
  // The batch's views are valid only during the call: a sink copies what it keeps.
  virtual void append(std::span<const PacketView> batch) = 0;
  // Called after every poll with a monotonic time: hand on what waited long enough.
  virtual void flush_if_idle(uint64_t now_ns) = 0;
  // The worker ends: hand on everything held.
  virtual void seal() = 0;
};

}  // namespace xcap::sink
