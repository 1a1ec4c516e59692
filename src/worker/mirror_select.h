// MirrorSelect: a replay's stand-in for the XDP program's mirror classification. Live, mirror
// mode takes only tunnelled mirror traffic (UDP to a VXLAN or the GENEVE port, IP protocol
// 47) and passes the rest to the host; a replayed file in mirror mode keeps the same frames,
// so `-r` writes what a live capture of the same frames would have. A frame whose tunnel is
// broken is still mirror traffic (the decapsulation stage counts it).
#pragma once

#include "common/packet_view.h"
#include "decap/decapsulator.h"
#include "worker/worker_counters.h"

namespace xcap::worker {

class MirrorSelect {
 public:
  // ports: the configured VXLAN ports and GENEVE port; the tunnel types are all of them, as
  // in XDP, whatever --decap strips.
  explicit MirrorSelect(const DecapConfig& ports) : decap_(classifier(ports)) {}

  // Keeps the batch's tunnel frames, in order, in place; returns how many.
  unsigned apply(PacketView* batch, unsigned n) {
    unsigned out = 0;
    for (unsigned i = 0; i < n; i++) {
      const DecapResult r = decap_.decap(batch[i].data, batch[i].caplen, batch[i].wire_len);
      if (r.source.tunnel != Tunnel::None) batch[out++] = batch[i];
    }
    if (out < n) skipped_.add(n - out);
    return out;
  }
  // Frames that were not mirror traffic: the host's own, in a live capture.
  const Counter& skipped() const { return skipped_; }

 private:
  static DecapConfig classifier(DecapConfig c) {
    c.mode = DecapConfig::Mode::Auto;
    c.max_depth = 1;
    return c;
  }
  Decapsulator decap_;
  Counter skipped_;
};

}  // namespace xcap::worker
