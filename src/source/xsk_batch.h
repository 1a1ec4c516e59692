// The two batch loops of XskSource that make no syscall: turning RX descriptors into
// PacketViews, and handing the frames back to the kernel through the fill ring. They live
// apart from the socket so bench/ring_bench can measure them on rings in plain memory.
//
// Multi-buffer (XDP_USE_SG): a frame longer than one UMEM frame arrives as a chain of
// descriptors, every one but the last flagged XDP_PKT_CONTD, each in its own UMEM frame. The
// pipeline (decap, filter, file records) wants one contiguous frame, so a chain is copied once
// into the source's scratch arena and its view points there. A frame in one descriptor, the
// common case, is never copied: its view points into the UMEM as before. Every descriptor of
// a chain is consumed, refilled and released with its batch, exactly once.
#pragma once

#include <xdp/xsk.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/packet_view.h"
#include "common/tai_clock.h"
#include "source/xsk_frame.h"
#include "xcap_abi.h"

// Debian 12's <linux/if_xdp.h> predates AF_XDP multi-buffer (kernel 6.6).
#ifndef XDP_USE_SG
#define XDP_USE_SG (1 << 4)
#endif
#ifndef XDP_PKT_CONTD
#define XDP_PKT_CONTD (1 << 0)
#endif

namespace xcap::source {

// The longest frame assembled from a chain: an Ethernet frame at the largest MTU there is
// (65,535) with two VLAN tags. A longer chain is dropped and counted as too_big.
inline constexpr uint32_t kMaxFrameBytes = 65535 + kL2Overhead;
// A chain spans at most this many descriptors (2 KiB UMEM frames hold 1,792 bytes after the
// kernel's 256 bytes of headroom). receive() peeks this many beyond the batch, so a chain
// that starts in the batch's last slot can end in the same peek.
inline constexpr unsigned kMaxChainDescs =
    kMaxFrameBytes / (kMinUmemFrame - kXdpPacketHeadroom) + 1;
// Room for the chains of one batch (about 28 frames of 9,000 bytes). A batch ends early when
// the next chain does not fit; it is the first of the next batch.
inline constexpr size_t kChainScratchBytes = size_t(256) << 10;

// Where chains are assembled; the source owns the memory. used restarts at 0 every batch: the
// views of the previous batch were released by then.
struct ChainScratch {
  uint8_t* data = nullptr;
  size_t size = 0;
  size_t used = 0;
  // Inside a chain too long to assemble whose start went with an earlier batch: its
  // remaining descriptors are consumed without a view, up to and including its last.
  bool skipping = false;
  bool reload = false;  // descriptors were handed back: reload the producer before a peek
};

struct RxBatch {
  unsigned views = 0;         // PacketViews written
  unsigned descs = 0;         // RX descriptors consumed (refill and release these); >= views
  unsigned missing_meta = 0;  // views without xcap metadata, stamped in user space
  unsigned too_big = 0;       // frames dropped: chains longer than kMaxFrameBytes
};

// One view. meta_end: where the frame starts in the UMEM; the xcap_meta the XDP program put in
// front of it (the AF_XDP copy carries it along) ends there. Its TAI timestamp becomes UTC with
// tai_minus_utc_ns; its FILTERED flag becomes xdp_selected. A frame without the metadata magic
// (bpf_xdp_adjust_meta refused) is stamped now and left to the worker's filter.
inline void fill_view(PacketView& v, const uint8_t* meta_end, const uint8_t* data, uint32_t len,
                      int64_t tai_minus_utc_ns, unsigned& missing) {
  xcap_meta meta;
  std::memcpy(&meta, meta_end - sizeof meta, sizeof meta);
  v.data = data;
  v.caplen = len;
  v.wire_len = len;
  if (meta.magic == XCAP_META_MAGIC) [[likely]] {
    v.ts_ns = meta.tai_ns - uint64_t(tai_minus_utc_ns);
    v.xdp_selected = meta.flags & XCAP_META_F_FILTERED;
  } else {
    v.ts_ns = realtime_ns();
    v.xdp_selected = false;
    missing++;
  }
  v.iface_id = 0;
  v.link_type = linktype_value(LinkType::Ethernet);
}

// Where the chain that starts at descriptor i of the peek ends, if it ends in the peek.
struct ChainEnd {
  unsigned last = 0;   // its last descriptor, if complete; else n
  uint64_t bytes = 0;  // the length of its descriptors up to last
  bool complete = false;
};

inline ChainEnd find_chain_end(const xsk_ring_cons& rx, uint32_t idx, unsigned i, unsigned n) {
  ChainEnd end{i};
  for (; end.last < n; end.last++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rx, idx + end.last);
    end.bytes += d->len;
    if (!(d->options & XDP_PKT_CONTD)) {
      end.complete = true;
      break;
    }
  }
  return end;
}

// Copies the fragments of descriptors first..last, in order, to dst.
inline void gather_chain(const xsk_ring_cons& rx, uint32_t idx, unsigned first, unsigned last,
                         const uint8_t* umem, uint8_t* dst) {
  for (unsigned k = first; k <= last; k++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rx, idx + k);
    std::memcpy(dst, umem + d->addr, d->len);
    dst += d->len;
  }
}

// The rest of a batch from its first chained descriptor on: views_from_rx's slow path, out of
// line so the loop of single-descriptor frames stays small.
[[gnu::noinline]] inline void chained_views_from_rx(const xsk_ring_cons& rx, uint32_t idx,
                                                    unsigned n, unsigned max_views,
                                                    const uint8_t* umem, int64_t tai_minus_utc_ns,
                                                    PacketView* out, ChainScratch& scratch,
                                                    RxBatch& b) {
  unsigned i = b.descs;
  while (i < n && b.views < max_views) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rx, idx + i);
    if (scratch.skipping) {
      i++;
      scratch.skipping = (d->options & XDP_PKT_CONTD) != 0;
      continue;
    }
    if (!(d->options & XDP_PKT_CONTD)) {
      const uint8_t* data = umem + d->addr;
      fill_view(out[b.views++], data, data, d->len, tai_minus_utc_ns, b.missing_meta);
      i++;
      continue;
    }
    const ChainEnd end = find_chain_end(rx, idx, i, n);
    if (!end.complete) {
      // The kernel writes a frame's descriptors together, so the end is normally just past
      // this peek: leave the chain to the next batch. Only a chain that fills a whole peek by
      // itself can never end in one; it is too long to assemble anyway.
      if (i > 0 || (end.bytes <= kMaxFrameBytes && n - i < kMaxChainDescs)) break;
      b.too_big++;
      scratch.skipping = true;
      i = n;
      break;
    }
    if (end.bytes > kMaxFrameBytes) {
      b.too_big++;
      i = end.last + 1;
      continue;
    }
    if (scratch.used + end.bytes > scratch.size) break;  // the next batch starts with it
    uint8_t* dst = scratch.data + scratch.used;
    gather_chain(rx, idx, i, end.last, umem, dst);
    // Only the first fragment carries the metadata.
    fill_view(out[b.views++], umem + d->addr, dst, uint32_t(end.bytes), tai_minus_utc_ns,
              b.missing_meta);
    scratch.used += (end.bytes + 63) & ~uint64_t(63);  // the next frame on its own cache line
    i = end.last + 1;
  }
  b.descs = i;
}

// Turns the n RX descriptors at idx into at most max_views views in out[]. Descriptors not
// consumed (b.descs < n: the views are full, the scratch arena is full, or a chain's end lies
// beyond the peek) are for the next batch: the caller cancels them from the peek.
inline RxBatch views_from_rx(const xsk_ring_cons& rx, uint32_t idx, unsigned n, unsigned max_views,
                             const uint8_t* umem, int64_t tai_minus_utc_ns, PacketView* out,
                             ChainScratch& scratch) {
  const unsigned lim = n < max_views ? n : max_views;
  // The kernel wrote these frames on another core: start every cache miss now so they
  // overlap instead of costing one round trip each in the loop below. The same pass reads the
  // descriptors' options, so the common batch (no chain) pays no check per frame.
  uint32_t options = 0;
  for (unsigned i = 0; i < lim; i++) {
    const xdp_desc* d = xsk_ring_cons__rx_desc(&rx, idx + i);
    __builtin_prefetch(umem + d->addr - sizeof(xcap_meta));
    options |= d->options;
  }
  scratch.used = 0;
  RxBatch b;
  if (!(options & XDP_PKT_CONTD) && !scratch.skipping) [[likely]] {
    for (unsigned i = 0; i < lim; i++) {
      const xdp_desc* d = xsk_ring_cons__rx_desc(&rx, idx + i);
      const uint8_t* data = umem + d->addr;
      fill_view(out[i], data, data, d->len, tai_minus_utc_ns, b.missing_meta);
    }
    b.views = b.descs = lim;
    return b;
  }
  chained_views_from_rx(rx, idx, n, max_views, umem, tai_minus_utc_ns, out, scratch, b);
  return b;
}

// Hands back the last n descriptors of a peek, for the next one (peek_rx).
inline void unpeek(xsk_ring_cons& rx, unsigned n, ChainScratch& scratch) {
  xsk_ring_cons__cancel(&rx, n);
  scratch.reload = true;
}

// xsk_ring_cons__peek, except after an unpeek: libxdp's peek reloads the producer index only
// once its cached view is used up, so a chain whose last descriptor lay beyond that view would
// be peeked cut short again and again. The index is reloaded first then.
inline unsigned peek_rx(xsk_ring_cons& rx, unsigned want, uint32_t* idx, ChainScratch& scratch) {
  if (scratch.reload) [[unlikely]] {
    rx.cached_prod = __atomic_load_n(rx.producer, __ATOMIC_ACQUIRE);
    scratch.reload = false;
  }
  return xsk_ring_cons__peek(&rx, want, idx);
}

// Puts the frames of the n RX descriptors at idx back on the fill ring. A descriptor's address
// points past the headroom (and into the frame for every fragment of a chain): the fill ring
// takes frame base addresses (aligned mode), so it is masked down. False when the fill ring
// has no room yet: the caller wakes the kernel and retries. It cannot stay full: it holds
// every frame that is not in flight.
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
