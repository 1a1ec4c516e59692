// Source: where a worker's packets come from, one batch at a time: an AF_XDP socket
// (XskSource) or a capture file replayed (PcapFileSource). A virtual call per batch, never per
// packet. The views a receive() returns stay valid until the next release().
#pragma once

#include <time.h>

#include <cstdint>

#include "common/monotonic_clock.h"
#include "common/packet_view.h"

namespace xcap::source {

class Source {
 public:
  virtual ~Source() = default;
  // Up to max packets into out[]; waits up to timeout_ms when none is ready yet.
  virtual unsigned receive(PacketView* out, unsigned max, int timeout_ms) = 0;
  // Hands the last receive()'s packets back (their memory may be reused).
  virtual void release() = 0;
  // True once no packet will ever come again (a replayed file's end); a live source never is.
  virtual bool exhausted() const { return false; }
  // Called by the worker about once a second: re-read clocks and the like.
  virtual void refresh_clock() {}
  // The worker's nap (adaptive polling): sleeps up to ns. A source that can tell when frames
  // pile up ends it early (XskSource with a WakeChannel); true then.
  virtual bool nap(uint64_t ns) {
    const timespec ts = timespec_of_ns(ns);
    nanosleep(&ts, nullptr);
    return false;
  }
  virtual uint32_t queue() const = 0;
};

}  // namespace xcap::source
