// SPDX-License-Identifier: GPL-2.0
/* xcap's XDP program: decides per frame whether it is for capture, and if so prepends an
 * xcap_meta record (TAI timestamp, queue, what the parse learned) and redirects it to the
 * AF_XDP socket of its rx queue. Everything not for capture goes on to the kernel (XDP_PASS).
 *
 *   span   : every frame is for capture, malformed ones too (flagged XCAP_META_F_MALFORMED).
 *   mirror : only tunnelled mirror traffic: UDP to a configured VXLAN port or to the GENEVE
 *            port, or IP protocol 47 (GRE/ERSPAN; IPv6 next header 47 too). Everything else,
 *            malformed frames included, is passed: mirror mode never drops host traffic.
 *            IPv4/IPv6 fragments with a non-zero offset carry no UDP header and are passed;
 *            the first fragment of a fragmented tunnel packet is captured, the rest are not
 *            (mirror sources send with DF in practice). GRE is matched on the IP protocol
 *            alone, so non-first GRE fragments are still captured.
 *   local  : not implemented yet: everything is passed (user space rejects --mode local).
 *
 * Filter: when user space installed a tcpdump filter translated to eBPF (src/filter/
 * xdp_filter_translator.cpp) into xcap_filter_progs, a frame for capture is handed to it with a
 * tail call, after the metadata is written. It judges the frame the worker's filter would see
 * (xcap_filter_view: the frame itself, or the inner Ethernet frame of a VXLAN or GENEVE tunnel
 * that the worker strips), redirects what it selects and drops the rest (FILTER_EXCLUDED).
 * Frames whose verdict the XDP side cannot reach exactly go on unfiltered (FILTER_UNDECIDED),
 * and so does everything while the slot is empty: the tail call then falls through.
 *
 * Jumbo frames: the program is SEC("xdp.frags"), so a frame larger than one page arrives as
 * a multi-buffer xdp_buff: the linear part (at least the first page on veth, and the first
 * buffer of a NIC, far more than the headers parsed here) plus fragments. data_end - data is
 * the linear part only; bpf_xdp_get_buff_len() is the whole frame. Without frags support a
 * driver refuses any XDP program once the MTU exceeds a page (veth: ERANGE above 3,506). The
 * AF_XDP socket receives such a frame as a chain of descriptors (XDP_USE_SG) that the worker
 * assembles. Where the socket could not get XDP_USE_SG, user space sets xcap_max_frame to the
 * largest frame one UMEM frame holds: longer frames for capture are dropped here and counted
 * as TOO_BIG (the kernel would drop them too, but into the socket's rx_dropped, which also
 * counts a starved fill ring; or, before 6.6, cut them to their linear part).
 *
 * Counters (xcap_counters, per CPU, indexes in xcap_abi.h): RX_PACKETS/RX_BYTES for every frame;
 * then exactly one of PASS (not for capture), NO_SOCKET (for capture, no socket on the queue:
 * passed), TOO_BIG, REDIRECT or FILTER_EXCLUDED. MALFORMED, META_FAILED, FILTER_UNDECIDED,
 * NOT_READY (also a PASS) and VXLAN/GENEVE/GRE (in both mirror and span mode) count alongside. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>
#include <xdp/xdp_helpers.h>

#include "xcap_abi.h"
#include "xcap_filter_args_map.h"
#include "xcap_parse.h"

/* One AF_XDP socket per rx queue, keyed by queue index; user space inserts xsk fds. */
struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, XCAP_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} xsks_map SEC(".maps");

/* enum xcap_counter -> count, one slot per CPU; user space sums. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, XCAP_CNT_MAX);
  __type(key, __u32);
  __type(value, __u64);
} xcap_counters SEC(".maps");

/* Slot 0: the translated filter program, put there by user space after attach. */
struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32);
} xcap_filter_progs SEC(".maps");

/* Early wake-up of napping workers (struct xcap_wake in xcap_abi.h). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(max_entries, XCAP_MAX_QUEUES);
  __type(key, __u32);
  __type(value, struct xcap_wake);
} xcap_wake SEC(".maps");

struct xcap_wake_ring {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, XCAP_WAKE_RING_BYTES);
};

/* Queue -> its worker's ring buffer (user space creates them and puts them here). */
struct {
  __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
  __uint(max_entries, XCAP_MAX_QUEUES);
  __type(key, __u32);
  __array(values, struct xcap_wake_ring);
} xcap_wake_rings SEC(".maps");

/* Set by user space through skel->rodata->xcap_cfg before load; the verifier then sees the
 * values as constants and prunes the branches of the other modes. */
const volatile struct xcap_config xcap_cfg = {
    .mode = XCAP_MODE_MIRROR,
    .vxlan_ports = {XCAP_VXLAN_PORT},
    .geneve_port = XCAP_GENEVE_PORT,
    .decap = XCAP_META_F_VXLAN | XCAP_META_F_GENEVE | XCAP_META_F_GRE,
};

/* Non-zero while a filter sits in xcap_filter_progs (user space writes it after the slot):
 * without one, frames skip the search for their inner frame. */
__u32 xcap_filter_installed = 0;

/* Non-zero once user space has put every queue's socket into xsks_map. Attaching comes first
 * (the sockets need the loaded program's map), so until then a frame for capture would find
 * no socket on its queue and count as a drop that never was one: it passes instead. */
__u32 xcap_capturing = 0;
/* 0 while the AF_XDP sockets chain descriptors (XDP_USE_SG): any frame fits. Otherwise the
 * largest frame (bytes, without xcap_meta) one UMEM frame holds: longer frames are TOO_BIG.
 * Written by user space after binding the sockets. */
__u32 xcap_max_frame = 0;
/* Set with xcap_max_frame on kernels without AF_XDP multi-buffer (before 6.6): they copy only
 * the linear part of a frame in fragments to the socket, so such a frame would be captured
 * cut short. It is TOO_BIG too. */
__u32 xcap_linear_only = 0;
/* xcap's streaming server, if it listens (user space writes it before arming). */
struct xcap_self_endpoint xcap_self = {};

static __always_inline void xcap_count(__u32 idx, __u64 n) {
  __u64 *v = bpf_map_lookup_elem(&xcap_counters, &idx);
  if (v) *v += n;
}

/* Tunnel classification from the outer headers: XCAP_META_F_VXLAN/GENEVE/GRE or 0. */
static __always_inline __u16 xcap_classify(const struct xcap_parsed *p) {
  if (!p->is_ip) return 0;
  if (p->l4_proto == XCAP_IPPROTO_GRE) return XCAP_META_F_GRE;
  if (!p->udp) return 0;
  __u16 dport = bpf_ntohs(p->udp->dest);
#pragma unroll
  for (int i = 0; i < XCAP_MAX_VXLAN_PORTS; i++) {
    __u16 port = xcap_cfg.vxlan_ports[i];
    if (port && port == dport) return XCAP_META_F_VXLAN;
  }
  if (xcap_cfg.geneve_port && xcap_cfg.geneve_port == dport) return XCAP_META_F_GENEVE;
  return 0;
}

#define XCAP_TUN_UNKNOWN -1 /* maybe a tunnel the worker strips: the XDP filter cannot judge */
#define XCAP_TUN_NONE 0     /* the worker keeps this frame as it is */
#define XCAP_TUN_VXLAN 1
#define XCAP_TUN_GENEVE 2

/* Whether the worker's decapsulator (src/decap/decapsulator.cpp) strips a tunnel from this
 * frame, judged from the XDP parse (malformed: xcap_parse failed). Where the two parsers could
 * disagree (a longer IPv6 extension chain than the XDP side walks, GRE whose payload decides),
 * the answer is UNKNOWN. */
static __always_inline int xcap_worker_tunnel(const struct xcap_parsed *p, int malformed,
                                              __u16 decap) {
  if (malformed) {
    /* Broken before any tunnel header: the worker finds no tunnel either (it checks the same
     * Ethernet, VLAN and IP fields), except when the break is a UDP header that may be a
     * tunnel's (cut: no tunnel there; bad length: a decap error). */
    if (p->is_ip && p->l4_proto == IPPROTO_UDP &&
        (decap & (XCAP_META_F_VXLAN | XCAP_META_F_GENEVE)))
      return XCAP_TUN_UNKNOWN;
    return XCAP_TUN_NONE;
  }
  if (!p->is_ip || p->later_fragment) return XCAP_TUN_NONE; /* no L4 header: never a tunnel */
  __u8 l4 = p->l4_proto;
  if ((p->flags & XCAP_META_F_IPV6) && xcap_ipv6_is_ext(l4))
    return decap ? XCAP_TUN_UNKNOWN : XCAP_TUN_NONE;
  if (l4 == XCAP_IPPROTO_GRE) return (decap & XCAP_META_F_GRE) ? XCAP_TUN_UNKNOWN : XCAP_TUN_NONE;
  if (l4 != IPPROTO_UDP) return XCAP_TUN_NONE;
  if (!p->udp) return decap ? XCAP_TUN_UNKNOWN : XCAP_TUN_NONE;
  __u16 dport = bpf_ntohs(p->udp->dest);
  /* VXLAN first: a port configured for both is VXLAN, in the worker too. */
  if (decap & XCAP_META_F_VXLAN) {
#pragma unroll
    for (int i = 0; i < XCAP_MAX_VXLAN_PORTS; i++) {
      __u16 port = xcap_cfg.vxlan_ports[i];
      if (port && port == dport) return XCAP_TUN_VXLAN;
    }
  }
  if ((decap & XCAP_META_F_GENEVE) && dport == xcap_cfg.geneve_port) return XCAP_TUN_GENEVE;
  return XCAP_TUN_NONE;
}

/* The frame the worker's filter will judge, as bytes [off, off + caplen) after data: the frame
 * itself, or the inner Ethernet frame of one VXLAN or GENEVE (protocol 0x6558) tunnel, bounded
 * as the decapsulator bounds it (captured bytes, IP and UDP length fields). Returns -1 where
 * the XDP side cannot be sure to see what the worker sees; the frame then goes on unfiltered.
 * Each check names the decapsulator's: a failure there is a decap error, never filtered here. */
static __always_inline int xcap_filter_view(struct xdp_md *ctx, const struct xcap_parsed *p,
                                            __u16 flags, struct xcap_filter_args *v) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u16 decap = xcap_cfg.decap;
  __u64 len = data_end - data;
  if (len > XCAP_FILTER_MAX_CAPLEN) return -1;
  /* A multi-buffer frame: the filter sees only the linear part, and a load past it would
   * reject a frame the worker's filter (which sees all of it) may select. */
  if (bpf_xdp_get_buff_len(ctx) != len) return -1;

  int t = xcap_worker_tunnel(p, flags & XCAP_META_F_MALFORMED, decap);
  if (t == XCAP_TUN_NONE) {
    v->off = 0;
    v->caplen = len;
    return 0;
  }
  if (t < 0) return -1;

  /* Step::bound: captured bytes, then what IP and UDP declare (declared may exceed them). */
  __u64 end = len, declared = len;
  __u64 l3 = p->l3 - data;
  if (p->ip_len) {
    __u64 at = l3 + p->ip_len;
    if (at <= end) end = at;
    declared = at;
  }
  struct udphdr *udp = p->udp;
  __u64 uoff = (void *)udp - data;
  if (uoff + sizeof(*udp) > end) return -1; /* headers past the IP length: not a tunnel there */
  __u32 ulen = bpf_ntohs(udp->len);
  if (ulen != 0 || !(p->flags & XCAP_META_F_IPV6)) { /* 0 over IPv6: jumbogram, IP rules */
    if (ulen < sizeof(*udp)) return -1;
    __u64 at = uoff + ulen;
    if (at > declared && !p->more_fragments) return -1;
    if (at <= end) end = at;
  }
  __u64 h = uoff + sizeof(*udp);
  if (h + 8 > end) return -1; /* VXLAN and GENEVE headers are at least 8 bytes */
  __u8 *hdr = (void *)(udp + 1);
  if ((void *)(hdr + 8) > data_end) return -1;
  __u64 inner;
  if (t == XCAP_TUN_VXLAN) {
    if (!(hdr[0] & 0x08)) return -1; /* no I flag: a decap error */
    inner = h + 8;
  } else {
    if (hdr[0] >> 6) return -1; /* GENEVE version 0 only */
    __u64 glen = 8 + (__u64)(hdr[0] & 0x3f) * 4;
    if (h + glen > end) return -1;
    /* Ethernet only: an IP payload is a raw-IP frame to the worker, judged by the program
     * libpcap compiled for LINKTYPE_RAW, which is not the one translated here. */
    if (hdr[2] != 0x65 || hdr[3] != 0x58) return -1;
    inner = h + glen;
  }
  if (inner + ETH_HLEN > end || inner > XCAP_FILTER_MAX_OFF) return -1;

  /* The worker strips nested tunnels too and filters the innermost frame: leave those to it. */
  struct xcap_cursor c = {.pos = data + inner, .end = data_end};
  struct xcap_parsed q = {};
  int malformed = xcap_parse(&c, &q) != 0;
  if (xcap_worker_tunnel(&q, malformed, decap) != XCAP_TUN_NONE) return -1;
  v->off = inner;
  v->caplen = end - inner;
  return 0;
}

static __always_inline int xcap_same_addr(const __u8 *a, const __u8 *b, int len) {
#pragma unroll
  for (int i = 0; i < 16; i++)
    if (i < len && a[i] != b[i]) return 0;
  return 1;
}

/* Whether a frame is TCP from or to xcap_self, the streaming server's own connections. The
 * cursor stands after the IP header (and IPv6 extension headers). */
static __always_inline int xcap_is_self(const struct xcap_parsed *p, struct xcap_cursor *cur) {
  __u16 port = xcap_self.port;
  if (!port || !p->is_ip || p->l4_proto != IPPROTO_TCP || p->later_fragment) return 0;
  __u16 *ports = xcap_pull(cur, 2 * sizeof(__u16));
  if (!ports) return 0;
  int from = ports[0] == port, to = ports[1] == port;
  if (!from && !to) return 0;
  if (xcap_self.any_addr) return 1;
  const __u8 *l3 = p->l3;
  if (p->flags & XCAP_META_F_IPV6) {
    if (!xcap_self.ipv6) return 0;
    const struct ipv6hdr *ip6 = p->l3;
    return (from && xcap_same_addr((const __u8 *)&ip6->saddr, xcap_self.addr, 16)) ||
           (to && xcap_same_addr((const __u8 *)&ip6->daddr, xcap_self.addr, 16));
  }
  if (xcap_self.ipv6) return 0;
  const struct iphdr *ip = (const void *)l3;
  return (from && xcap_same_addr((const __u8 *)&ip->saddr, xcap_self.addr, 4)) ||
         (to && xcap_same_addr((const __u8 *)&ip->daddr, xcap_self.addr, 4));
}

/* Counts a frame for queue's socket while its worker naps; at the threshold, wakes it once.
 * Frames the filter then drops count too: the worker wakes a little early, never late. */
static __always_inline void xcap_wake_check(__u32 queue) {
  struct xcap_wake *w = bpf_map_lookup_elem(&xcap_wake, &queue);
  if (!w || !w->armed) return;
  if (++w->pending < xcap_cfg.wake_threshold) return;
  w->armed = 0;
  void *ring = bpf_map_lookup_elem(&xcap_wake_rings, &queue);
  if (ring) bpf_ringbuf_output(ring, &queue, sizeof(queue), 0);
}

/* For capture: metadata in front of the frame, then (through the filter, if installed) to the
 * queue's AF_XDP socket. */
static __always_inline int xcap_capture(struct xdp_md *ctx, __u16 flags,
                                        const struct xcap_parsed *p, __u64 frame_len) {
  if (!xcap_capturing) {
    xcap_count(XCAP_CNT_NOT_READY, 1);
    xcap_count(XCAP_CNT_PASS, 1);
    return XDP_PASS;
  }
  __u32 queue = ctx->rx_queue_index;
  if (!bpf_map_lookup_elem(&xsks_map, &queue)) {
    xcap_count(XCAP_CNT_NO_SOCKET, 1);
    return XDP_PASS;
  }
  __u32 max_frame = xcap_max_frame;
  if (max_frame && (frame_len > max_frame ||
                    (xcap_linear_only && frame_len != ctx->data_end - ctx->data))) {
    xcap_count(XCAP_CNT_TOO_BIG, 1);
    return XDP_DROP;
  }
  if (xcap_cfg.wake_threshold) xcap_wake_check(queue);

  /* Found now: bpf_xdp_adjust_meta below invalidates the parse's packet pointers. */
  struct xcap_filter_args view = {};
  int filter = 0;
  if (xcap_filter_installed) {
    filter = xcap_filter_view(ctx, p, flags, &view) == 0;
    if (!filter) xcap_count(XCAP_CNT_FILTER_UNDECIDED, 1);
  }

  int written = 0;
  if (bpf_xdp_adjust_meta(ctx, -(int)sizeof(struct xcap_meta)) == 0) {
    void *data = (void *)(long)ctx->data;
    struct xcap_meta *meta = (void *)(long)ctx->data_meta;
    if ((void *)(meta + 1) <= data) {
      meta->tai_ns = bpf_ktime_get_tai_ns();
      meta->queue = queue;
      meta->magic = XCAP_META_MAGIC;
      meta->flags = flags;
      written = 1;
    }
  }
  /* Without metadata user space sees no magic and timestamps the frame itself. */
  if (!written) xcap_count(XCAP_CNT_META_FAILED, 1);

  if (filter) {
    __u32 zero = 0;
    struct xcap_filter_args *a = bpf_map_lookup_elem(&xcap_filter_args, &zero);
    if (a) {
      *a = view;
      bpf_tail_call(ctx, &xcap_filter_progs, 0);
    }
    /* Reached only when the slot is empty (a filter being removed): capture unfiltered. */
  }

  /* XDP_PASS as the fallback if the socket went away since the lookup. */
  int action = bpf_redirect_map(&xsks_map, queue, XDP_PASS);
  xcap_count(action == XDP_REDIRECT ? XCAP_CNT_REDIRECT : XCAP_CNT_NO_SOCKET, 1);
  return action;
}

SEC("xdp.frags")
int xcap_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  __u64 frame_len = bpf_xdp_get_buff_len(ctx); /* fragments included */
  xcap_count(XCAP_CNT_RX_PACKETS, 1);
  xcap_count(XCAP_CNT_RX_BYTES, frame_len);

  __u32 mode = xcap_cfg.mode;
  if (mode != XCAP_MODE_MIRROR && mode != XCAP_MODE_SPAN) {
    xcap_count(XCAP_CNT_PASS, 1);
    return XDP_PASS;
  }

  struct xcap_cursor cur = {.pos = data, .end = data_end};
  struct xcap_parsed p = {};
  __u16 flags = 0;
  if (xcap_parse(&cur, &p)) {
    flags |= XCAP_META_F_MALFORMED;
    xcap_count(XCAP_CNT_MALFORMED, 1);
  } else {
    flags |= xcap_classify(&p);
  }
  flags |= p.flags;

  if (flags & XCAP_META_F_VXLAN) xcap_count(XCAP_CNT_VXLAN, 1);
  if (flags & XCAP_META_F_GENEVE) xcap_count(XCAP_CNT_GENEVE, 1);
  if (flags & XCAP_META_F_GRE) xcap_count(XCAP_CNT_GRE, 1);

  int capture = mode == XCAP_MODE_SPAN ||
                (flags & (XCAP_META_F_VXLAN | XCAP_META_F_GENEVE | XCAP_META_F_GRE));
  if (!capture) {
    xcap_count(XCAP_CNT_PASS, 1);
    return XDP_PASS;
  }
  /* Span mode takes every frame: the streaming server's own connections must stay the host's
   * (mirror mode takes only tunnels, which they are not). */
  if (mode == XCAP_MODE_SPAN && !(flags & XCAP_META_F_MALFORMED) && xcap_is_self(&p, &cur)) {
    xcap_count(XCAP_CNT_SELF, 1);
    xcap_count(XCAP_CNT_PASS, 1);
    return XDP_PASS;
  }
  return xcap_capture(ctx, flags, &p, frame_len);
}

/* libxdp: run early in a multi-program dispatcher; chain on to the next program on XDP_PASS. */
struct {
  __uint(priority, 10);
  __uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xcap_xdp);

char LICENSE[] SEC("license") = "GPL";
