// SPDX-License-Identifier: GPL-2.0
/* xcap's local mode ("copy and pass"): the host's own traffic, both directions, captured
 * without taking a packet from it. Two entry programs share this object's maps:
 *
 *   xcap_local_in  (XDP, ingress)     every frame the interface receives
 *   xcap_local_out (TC, egress: tcx)  every packet the host sends through it
 *
 * Each counts the packet, hands it to the kernel filter if one is installed (tail call into
 * slot XCAP_LOCAL_SLOT_FILTER of its prog array; the filter tail-calls the copy program of
 * slot XCAP_LOCAL_SLOT_COPY when it selects the packet, or leaves it undecided), and copies the
 * first snaplen bytes behind a struct xcap_local_record into a BPF ring buffer. The packet always
 * goes on: XDP_PASS, TCX_NEXT.
 *
 * Bytes beyond the linear part (XDP fragments, skb pages of a GSO packet) are read with
 * bpf_xdp_load_bytes / bpf_skb_load_bytes straight into the reserved ring record (one copy).
 * A GSO packet (TC egress sees super-packets of up to 64 KiB) is one record of skb->len.
 *
 * Wake-ups: a record is written with BPF_RB_NO_WAKEUP (a wake-up per record costs the host
 * most of its packet rate); user space drains on a short interval with ring_buffer__consume().
 * Once more than wakeup_bytes wait, records force a wake-up, so a burst never waits for the
 * interval. A record that finds the ring full is lost and counted (XCAP_LCNT_RINGBUF_FULL):
 * the host never waits for xcap. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "xcap_abi.h"
#include "xcap_filter_args_map.h"
#include "xcap_parse.h"

#ifndef TCX_NEXT
#define TCX_NEXT -1 /* linux/bpf.h of 6.6: go on with the next program (TC_ACT_UNSPEC) */
#endif

#define XCAP_DIR_SLOT_IN 0
#define XCAP_DIR_SLOT_OUT 1

/* The ring buffers: entry 0, or one per CPU. User space creates them (their size is its
 * option) and puts them here before arming. */
struct xcap_local_ring {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 1 << 16); /* replaced by user space before load */
};
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, XCAP_LOCAL_MAX_RINGS);
  __type(key, __u32);
  __array(values, struct xcap_local_ring);
} xcap_local_rings SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 2 * XCAP_LCNT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} xcap_local_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} xcap_local_xdp_progs SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 2);
  __type(key, __u32);
  __type(value, __u32);
} xcap_local_tc_progs SEC(".maps");

const volatile struct xcap_local_config xcap_local_cfg = {
    .snaplen = XCAP_LOCAL_MAX_CAPLEN,
    .per_cpu = 0,
    .wakeup_bytes = 1 << 20,
};

/* Written by user space through the .bss map: armed once the rings are in place, and whether a
 * filter sits in slot XCAP_LOCAL_SLOT_FILTER of each prog array. */
__u32 xcap_local_capturing = 0;
__u32 xcap_local_filter_in = 0;
__u32 xcap_local_filter_out = 0;
/* xcap serve's streaming server: its own connections are never copied, or a client following
 * the interface it connects through would receive its own stream, again and again. */
struct xcap_self_endpoint xcap_self = {};

static __always_inline void xcap_lcount(__u32 dir, __u32 idx, __u64 n) {
  __u32 key = dir * XCAP_LCNT_MAX + idx;
  __u64 *v = bpf_map_lookup_elem(&xcap_local_counters, &key);
  if (v) *v += n;
}

static __always_inline __u32 xcap_wire_len(void *ctx, int tc) {
  if (tc) return ((struct __sk_buff *)ctx)->len;
  return bpf_xdp_get_buff_len((struct xdp_md *)ctx);
}

static __always_inline __u32 xcap_linear_len(void *ctx, int tc) {
  if (tc) {
    struct __sk_buff *skb = ctx;
    return (__u32)((long)skb->data_end - (long)skb->data);
  }
  struct xdp_md *x = ctx;
  return (__u32)((long)x->data_end - (long)x->data);
}

/* Reads len (1..XCAP_LOCAL_MAX_CAPLEN) packet bytes into dst. */
static __always_inline long xcap_load(void *ctx, int tc, __u8 *dst, __u32 len) {
  if (tc) return bpf_skb_load_bytes(ctx, 0, dst, len);
  return bpf_xdp_load_bytes(ctx, 0, dst, len);
}

/* One record of data room `room` (a power of two, a constant at each call): reserved in the
 * ring, filled in place, submitted. len (1..room, or 0) bytes are read into it. Returns
 * whether the ring had room. */
static __always_inline int xcap_emit(void *ring, void *ctx, int tc,
                                     const struct xcap_local_record *h, __u32 len, __u32 room,
                                     __u64 wake) {
  struct xcap_local_record *r = bpf_ringbuf_reserve(ring, sizeof(*r) + room, 0);
  if (!r) return 0;
  *r = *h;
  if (len) {
    /* The verifier must see 1 <= len <= room on the very register the helper gets. A check
     * on len alone is not enough: the compiler may test one copy and pass another ("invalid
     * zero-sized read", "R4 min value is negative"). Behind the barrier, a mask bounds the
     * register itself: ((len - 1) & (room - 1)) + 1 is len for 1 <= len <= room. */
    asm volatile("" : "+r"(len));
    len = ((len - 1) & (room - 1)) + 1;
    if (xcap_load(ctx, tc, (__u8 *)(r + 1), len) != 0) {
      xcap_lcount(tc, XCAP_LCNT_LOAD_FAILED, 1);
      r->flags |= XCAP_LOCAL_F_LOAD_FAILED;
      len = 0;
    }
  }
  r->caplen = len;
  bpf_ringbuf_submit(r, wake);
  return 1;
}

/* One record into the ring: header, then min(wire length, snaplen) bytes, read straight into
 * the ring. A reservation has a constant size, so the record takes the smallest power-of-two
 * room that holds the bytes (at most twice what they need); caplen says how many are real. */
static __always_inline void xcap_local_copy(void *ctx, int tc, __u8 flags) {
  __u32 dir = tc ? XCAP_DIR_SLOT_OUT : XCAP_DIR_SLOT_IN;
  __u32 ring_idx = xcap_local_cfg.per_cpu ? bpf_get_smp_processor_id() : 0;
  void *ring = bpf_map_lookup_elem(&xcap_local_rings, &ring_idx);
  if (!ring) {
    xcap_lcount(dir, XCAP_LCNT_NOT_READY, 1);
    return;
  }
  struct xcap_local_record h = {};
  __u32 wire = xcap_wire_len(ctx, tc);
  __u32 len = wire < xcap_local_cfg.snaplen ? wire : xcap_local_cfg.snaplen;
  if (len > XCAP_LOCAL_MAX_CAPLEN) len = XCAP_LOCAL_MAX_CAPLEN;
  h.tai_ns = bpf_ktime_get_tai_ns();
  h.wire_len = wire;
  h.direction = tc ? XCAP_DIR_OUTBOUND : XCAP_DIR_INBOUND;
  h.flags = flags;
  if (tc) {
    struct __sk_buff *skb = ctx;
    h.ifindex = skb->ifindex;
    h.gso_segs = skb->gso_segs;
  } else {
    h.ifindex = ((struct xdp_md *)ctx)->ingress_ifindex;
  }
  __u64 waiting = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA);
  __u64 wake = waiting > xcap_local_cfg.wakeup_bytes ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
  int room;
  if (len <= 128)
    room = xcap_emit(ring, ctx, tc, &h, len, 128, wake);
  else if (len <= 256)
    room = xcap_emit(ring, ctx, tc, &h, len, 256, wake);
  else if (len <= 512)
    room = xcap_emit(ring, ctx, tc, &h, len, 512, wake);
  else if (len <= 1024)
    room = xcap_emit(ring, ctx, tc, &h, len, 1024, wake);
  else if (len <= 2048)
    room = xcap_emit(ring, ctx, tc, &h, len, 2048, wake);
  else if (len <= 4096)
    room = xcap_emit(ring, ctx, tc, &h, len, 4096, wake);
  else if (len <= 8192)
    room = xcap_emit(ring, ctx, tc, &h, len, 8192, wake);
  else if (len <= 16384)
    room = xcap_emit(ring, ctx, tc, &h, len, 16384, wake);
  else if (len <= 32768)
    room = xcap_emit(ring, ctx, tc, &h, len, 32768, wake);
  else
    room = xcap_emit(ring, ctx, tc, &h, len, XCAP_LOCAL_MAX_CAPLEN, wake);
  xcap_lcount(dir, room ? XCAP_LCNT_COPIED : XCAP_LCNT_RINGBUF_FULL, 1);
}

static __always_inline int xcap_addr_eq(const __u8 *a, const __u8 *b, int len) {
#pragma unroll
  for (int i = 0; i < 16; i++)
    if (i < len && a[i] != b[i]) return 0;
  return 1;
}

/* Whether the packet is TCP from or to xcap_self (headers in the linear part only). */
static __always_inline int xcap_local_is_self(void *ctx, int tc) {
  struct xcap_cursor c;
  if (tc) {
    struct __sk_buff *skb = ctx;
    c.pos = (void *)(long)skb->data;
    c.end = (void *)(long)skb->data_end;
  } else {
    struct xdp_md *x = ctx;
    c.pos = (void *)(long)x->data;
    c.end = (void *)(long)x->data_end;
  }
  struct xcap_parsed p = {};
  if (xcap_parse(&c, &p) || !p.is_ip || p.l4_proto != IPPROTO_TCP || p.later_fragment) return 0;
  __u16 *ports = xcap_pull(&c, 2 * sizeof(__u16));
  if (!ports) return 0;
  __u16 port = xcap_self.port;
  int from = ports[0] == port, to = ports[1] == port;
  if (!from && !to) return 0;
  if (xcap_self.any_addr) return 1;
  int v6 = (p.flags & XCAP_META_F_IPV6) != 0;
  if (v6 != !!xcap_self.ipv6) return 0;
  const __u8 *src, *dst;
  if (v6) {
    const struct ipv6hdr *ip6 = p.l3;
    src = (const __u8 *)&ip6->saddr, dst = (const __u8 *)&ip6->daddr;
  } else {
    const struct iphdr *ip = p.l3;
    src = (const __u8 *)&ip->saddr, dst = (const __u8 *)&ip->daddr;
  }
  int len = v6 ? 16 : 4;
  return (from && xcap_addr_eq(src, xcap_self.addr, len)) ||
         (to && xcap_addr_eq(dst, xcap_self.addr, len));
}

static __always_inline int xcap_local_entry(void *ctx, int tc) {
  __u32 dir = tc ? XCAP_DIR_SLOT_OUT : XCAP_DIR_SLOT_IN;
  int pass = tc ? TCX_NEXT : XDP_PASS;
  __u32 wire = xcap_wire_len(ctx, tc);
  xcap_lcount(dir, XCAP_LCNT_PACKETS, 1);
  xcap_lcount(dir, XCAP_LCNT_BYTES, wire);
  if (!xcap_local_capturing) {
    xcap_lcount(dir, XCAP_LCNT_NOT_READY, 1);
    return pass;
  }
  if (xcap_self.port && xcap_local_is_self(ctx, tc)) {
    xcap_lcount(dir, XCAP_LCNT_SELF, 1);
    return pass;
  }
  if (tc ? xcap_local_filter_out : xcap_local_filter_in) {
    __u32 zero = 0;
    struct xcap_filter_args *a = bpf_map_lookup_elem(&xcap_filter_args, &zero);
    if (a) {
      a->off = 0;
      a->caplen = wire;
      a->limit = 0;
      a->scratch = 0;
      a->partial = xcap_linear_len(ctx, tc) < wire;
      a->selected = 0;
      if (tc)
        bpf_tail_call(ctx, &xcap_local_tc_progs, XCAP_LOCAL_SLOT_FILTER);
      else
        bpf_tail_call(ctx, &xcap_local_xdp_progs, XCAP_LOCAL_SLOT_FILTER);
    }
    /* The slot is empty (a filter being replaced): copy unfiltered. */
  }
  xcap_local_copy(ctx, tc, 0);
  return pass;
}

/* The filter's verdict "selected" (args.selected) or "undecided" lands here. */
static __always_inline int xcap_local_copy_entry(void *ctx, int tc) {
  __u32 zero = 0;
  struct xcap_filter_args *a = bpf_map_lookup_elem(&xcap_filter_args, &zero);
  __u8 flags = a && a->selected ? XCAP_LOCAL_F_FILTERED : 0;
  xcap_local_copy(ctx, tc, flags);
  return tc ? TCX_NEXT : XDP_PASS;
}

/* First in the object: libxdp takes the first program of its section. */
SEC("xdp.frags")
int xcap_local_in(struct xdp_md *ctx) {
  return xcap_local_entry(ctx, 0);
}

SEC("xdp.frags")
int xcap_local_in_copy(struct xdp_md *ctx) {
  return xcap_local_copy_entry(ctx, 0);
}

SEC("tc")
int xcap_local_out(struct __sk_buff *skb) {
  return xcap_local_entry(skb, 1);
}

SEC("tc")
int xcap_local_out_copy(struct __sk_buff *skb) {
  return xcap_local_copy_entry(skb, 1);
}

/* libxdp: run early in a multi-program dispatcher; chain on to the next program on XDP_PASS. */
struct {
  __uint(priority, 10);
  __uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xcap_local_in);

char LICENSE[] SEC("license") = "GPL";
