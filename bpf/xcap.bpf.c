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
 * Counters (xcap_counters, per CPU, indexes in xcap_abi.h): RX_PACKETS/RX_BYTES for every frame;
 * then exactly one of PASS (not for capture), NO_SOCKET (for capture, no socket on the queue:
 * passed) or REDIRECT. MALFORMED, META_FAILED and VXLAN/GENEVE/GRE (in both mirror and span
 * mode) count alongside. */
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

/* Set by user space through skel->rodata->xcap_cfg before load; the verifier then sees the
 * values as constants and prunes the branches of the other modes. */
const volatile struct xcap_config xcap_cfg = {
    .mode = XCAP_MODE_MIRROR,
    .vxlan_ports = {XCAP_VXLAN_PORT},
    .geneve_port = XCAP_GENEVE_PORT,
};

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

/* For capture: metadata in front of the frame, then to the queue's AF_XDP socket. */
static __always_inline int xcap_capture(struct xdp_md *ctx, __u16 flags) {
  __u32 queue = ctx->rx_queue_index;
  if (!bpf_map_lookup_elem(&xsks_map, &queue)) {
    xcap_count(XCAP_CNT_NO_SOCKET, 1);
    return XDP_PASS;
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

  /* XDP_PASS as the fallback if the socket went away since the lookup. */
  int action = bpf_redirect_map(&xsks_map, queue, XDP_PASS);
  xcap_count(action == XDP_REDIRECT ? XCAP_CNT_REDIRECT : XCAP_CNT_NO_SOCKET, 1);
  return action;
}

SEC("xdp")
int xcap_xdp(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data;
  void *data_end = (void *)(long)ctx->data_end;
  xcap_count(XCAP_CNT_RX_PACKETS, 1);
  xcap_count(XCAP_CNT_RX_BYTES, data_end - data);

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
  return xcap_capture(ctx, flags);
}

/* libxdp: run early in a multi-program dispatcher; chain on to the next program on XDP_PASS. */
struct {
  __uint(priority, 10);
  __uint(XDP_PASS, 1);
} XDP_RUN_CONFIG(xcap_xdp);

char LICENSE[] SEC("license") = "GPL";
