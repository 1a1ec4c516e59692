// The two batch loops of XskSource that make no syscall: turning RX descriptors into
// PacketViews, and handing the frames back to the kernel through the fill ring. They live
// apart from the socket so bench/ring_bench can measure them on rings in plain memory.
#pragma once

#include <xdp/xsk.h>

#include <cstdint>
#include <cstring>
#include <ctime>

#include "common/packet_view.h"
#include "xcap_abi.h"

namespace xcap::source {

inline uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

// Fills out[0, n) from the RX descriptors at idx. Each frame starts with the xcap_meta the XDP
// program put in front of it (the AF_XDP copy carries it along): its TAI timestamp becomes
// UTC with tai_minus_utc_ns. A frame without the metadata magic (bpf_xdp_adjust_meta refused)
// is stamped now. Returns how many frames had no metadata.
inline unsigned views_from_rx(const xsk_ring_cons& rx, uint32_t idx, unsigned n,
                              const uint8_t* umem, int64_t tai_minus_utc_ns, uint16_t queue,
                              PacketView* out) {
  // The kernel wrote these frames on another core: start every cache miss now so they
  // overlap instead of costing one round trip each in the loop below.
  for (unsigned i = 0; i < n; i++)
    __builtin_prefetch(umem + xsk_ring_cons__rx_desc(&rx, idx + i)->addr - sizeof(xcap_meta));
  unsigned missing = 0;
  for (unsigned i = 0; i < n; i++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rx, idx + i);
    const uint8_t* data = umem + d->addr;
    xcap_meta meta;
    std::memcpy(&meta, data - sizeof meta, sizeof meta);
    PacketView& v = out[i];
    v.data = data;
    v.caplen = d->len;
    v.wire_len = d->len;
    if (meta.magic == XCAP_META_MAGIC) [[likely]] {
      v.ts_ns = meta.tai_ns - uint64_t(tai_minus_utc_ns);
      v.queue = static_cast<uint16_t>(meta.queue);
    } else {
      v.ts_ns = realtime_ns();
      v.queue = queue;
      missing++;
    }
    v.iface_id = 0;
    v.link_type = 1;
  }
  return missing;
}

// Puts the frames of the n RX descriptors at idx back on the fill ring (frame base address:
// aligned mode). False when the fill ring has no room yet: the caller wakes the kernel and
// retries. It cannot stay full: it holds every frame that is not in flight.
inline bool refill_from_rx(xsk_ring_prod& fill, const xsk_ring_cons& rx, uint32_t idx, unsigned n,
                           uint32_t frame_size) {
  uint32_t fidx = 0;
  if (xsk_ring_prod__reserve(&fill, n, &fidx) != n) return false;
  const uint64_t base_mask = ~uint64_t(frame_size - 1);
  for (unsigned i = 0; i < n; i++)
    *xsk_ring_prod__fill_addr(&fill, fidx + i) =
        xsk_ring_cons__rx_desc(&rx, idx + i)->addr & base_mask;
  xsk_ring_prod__submit(&fill, n);
  return true;
}

}  // namespace xcap::source
