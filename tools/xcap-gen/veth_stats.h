// What the veth's peer did with our frames. A live-frames XDP_TX that the peer cannot take
// (it has no NAPI: no XDP program attached, GRO off, or it is down) is dropped without a
// trace, and the test run still succeeds. The sender's ethtool statistics tell: veth counts,
// per peer queue, the frames it queued there (tx_queue_N_xdp_xmit) and the ones the full
// queue refused (tx_queue_N_xdp_xmit_errors), both only once the peer had NAPI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace xcap::gen {

struct PeerCounters {
  uint64_t queued = 0;   // frames the peer's rx queues took
  uint64_t refused = 0;  // frames refused by a full peer queue
};

// Sums the counters over all queues; nullopt when IFACE is not a veth (no such statistics).
std::optional<PeerCounters> read_peer_counters(const std::string& iface);

}  // namespace xcap::gen
