// WakeChannel: how a napping worker is woken early by its queue's traffic. The worker naps to
// let frames gather (worker.cpp); before it sleeps it arms its queue's xcap_wake entry (memory
// shared with the XDP program, no syscall), and the program, after xcap_cfg.wake_threshold
// frames for that queue, writes a record to the queue's BPF ring buffer, which ends the
// worker's wait at once. So the nap can be long at ordinary rates (few wake-ups, little CPU)
// and a burst still finds a worker awake long before the RX ring fills.
#pragma once

#include <cstdint>
#include <memory>

#include "common/fd.h"
#include "common/result.h"
#include "xcap_abi.h"

struct ring_buffer;

namespace xcap::source {

class WakeChannel {
 public:
  // Creates the queue's ring buffer and puts it in the program's xcap_wake_rings map
  // (rings_map_fd); slot is the queue's entry in the mmapped xcap_wake array.
  static Result<std::unique_ptr<WakeChannel>> open(int rings_map_fd, xcap_wake* slot,
                                                   uint32_t queue);
  ~WakeChannel();
  WakeChannel(const WakeChannel&) = delete;
  WakeChannel& operator=(const WakeChannel&) = delete;

  // Sleeps up to ns, or until the program signals that the threshold was reached. Returns
  // true when woken early.
  bool nap(uint64_t ns);

 private:
  WakeChannel(Fd ring, xcap_wake* slot) : ring_fd_(std::move(ring)), slot_(slot) {}
  Fd ring_fd_;
  ring_buffer* ring_ = nullptr;
  xcap_wake* slot_;
};

}  // namespace xcap::source
