/* The one header that the XDP program and the C++ side share: map sizes, the metadata record
 * prepended to every captured frame, the configuration in .rodata, and counter indexes.
 * Change it in one place; both sides rebuild (CMake lists every header in bpf/include as a
 * dependency). */
#ifndef XCAP_ABI_H
#define XCAP_ABI_H

#include <linux/types.h>

#define XCAP_MAX_QUEUES 256       /* XSKMAP entries: one AF_XDP socket per rx queue */
#define XCAP_MAX_VXLAN_PORTS 8    /* --vxlan-port may be given this many times */
#define XCAP_VXLAN_PORT 4789
#define XCAP_GENEVE_PORT 6081
#define XCAP_META_MAGIC 0x7863 /* "xc": tells user space the metadata was really written */
/* The XDP filter judges frames (or inner frames) that start at most XCAP_FILTER_MAX_OFF bytes
 * into the packet and hold at most XCAP_FILTER_MAX_CAPLEN bytes; user space judges the others.
 * The bounds keep every packet pointer of the translated program provable for the verifier. */
#define XCAP_FILTER_MAX_OFF 1024
#define XCAP_FILTER_MAX_CAPLEN 32768

/* --mode */
enum xcap_mode {
  XCAP_MODE_MIRROR = 0, /* steal tunnelled mirror traffic (VXLAN, GENEVE, GRE), pass the rest */
  XCAP_MODE_SPAN = 1,   /* steal every frame: a dedicated capture port */
  XCAP_MODE_LOCAL = 2,  /* copy and pass (not implemented: user space refuses it) */
};

/* xcap_meta.flags: what the XDP side learned of the frame. The worker reads FILTERED; the
 * others record the XDP parse (tests/bpf/xdp_program_test.cpp checks them). VXLAN, GENEVE and
 * GRE also name tunnels in xcap_config.decap. */
enum xcap_meta_flags {
  XCAP_META_F_VXLAN = 1 << 0,
  XCAP_META_F_GENEVE = 1 << 1,
  XCAP_META_F_GRE = 1 << 2, /* IP protocol 47: GRE or ERSPAN */
  XCAP_META_F_VLAN = 1 << 3,
  XCAP_META_F_IPV6 = 1 << 4,
  XCAP_META_F_MALFORMED = 1 << 5, /* headers cut short or inconsistent (span mode keeps these) */
  XCAP_META_F_FILTERED = 1 << 6,  /* the XDP filter selected this frame: the worker's filter
                                   * would too, and is not run on it */
};

/* Prepended in front of the frame with bpf_xdp_adjust_meta; the AF_XDP copy carries it,
 * so it sits in the UMEM just before the packet data. 16 bytes (must be a multiple of 4). */
struct xcap_meta {
  __u64 tai_ns; /* bpf_ktime_get_tai_ns() at XDP: user space converts to UTC */
  __u32 queue;  /* rx queue the frame arrived on */
  __u16 magic;  /* XCAP_META_MAGIC */
  __u16 flags;  /* enum xcap_meta_flags */
};

/* Set in .rodata before load (const volatile in the program). */
struct xcap_config {
  __u32 mode; /* enum xcap_mode */
  __u16 vxlan_ports[XCAP_MAX_VXLAN_PORTS]; /* host byte order; 0 = unused slot */
  __u16 geneve_port;                      /* host byte order */
  __u16 pad;
  /* Tunnels the worker strips (XCAP_META_F_VXLAN/GENEVE/GRE; GRE stands for GRE and ERSPAN),
   * from --decap. The XDP filter must judge the frame the worker's filter will see: the inner
   * frame of a tunnel stripped there, the frame itself otherwise. */
  __u16 decap;
  __u16 pad2;
  /* Early wake-up (struct xcap_wake): frames that make a queue's napping worker wake at once;
   * 0: never. */
  __u32 wake_threshold;
};

/* ARRAY xcap_wake (mmapped by user space), one per queue: a worker that naps arms its entry;
 * the program counts the frames it steers to that queue meanwhile and, at
 * xcap_cfg.wake_threshold, disarms it and writes a record to the queue's ring buffer in
 * xcap_wake_rings, which wakes the worker: a burst cuts a nap short, so naps can be long at
 * ordinary rates without a burst overflowing the RX ring. */
struct xcap_wake {
  __u32 armed;   /* user space: 1 while napping */
  __u32 pending; /* frames steered since armed */
};
#define XCAP_WAKE_RING_BYTES 4096 /* one page: a few records at most are ever in it */

/* PERCPU_ARRAY xcap_filter_args, one entry: the main program writes where the frame to filter
 * lies, then tail-calls the filter program (PROG_ARRAY xcap_filter_progs, slot 0), which reads
 * it. Per CPU, and XDP runs to completion on one CPU, so the two never race. */
struct xcap_filter_args {
  __u32 off;    /* where the frame to filter starts, in bytes after ctx->data */
  __u32 caplen; /* its captured length as the worker sees it (the filter also stops at
                 * data_end; ~0 means "to the end of the packet") */
  /* The filter program's own (xdp_filter_translator.cpp says why they live in memory): */
  __u32 limit;   /* min(caplen, what the packet holds after off) */
  __u32 scratch; /* the offset of an indexed load */
};

/* The streaming server's listening endpoint, written by user space into the program's .bss
 * (xcap_self). TCP frames to or from it are the server's own connections: they are passed and
 * never captured, so a stream never carries itself and, in span mode, its connection is not
 * taken from the host. */
struct xcap_self_endpoint {
  __u8 addr[16]; /* IPv4 in the first 4 bytes */
  __u16 port;    /* network order; 0: no server */
  __u8 ipv6;     /* addr is IPv6 */
  __u8 any_addr; /* the server listens on every address: the port alone decides */
};

/* PERCPU_ARRAY xcap_counters: one __u64 per index, summed over CPUs in user space. */
enum xcap_counter {
  XCAP_CNT_RX_PACKETS = 0, /* every frame the program saw */
  XCAP_CNT_RX_BYTES,
  XCAP_CNT_PASS,        /* XDP_PASS: not for capture */
  XCAP_CNT_REDIRECT,    /* handed to bpf_redirect_map for an AF_XDP socket */
  XCAP_CNT_NO_SOCKET,   /* for capture, but no socket on this queue: passed */
  XCAP_CNT_MALFORMED,   /* headers cut short or inconsistent */
  XCAP_CNT_META_FAILED, /* bpf_xdp_adjust_meta refused: redirected without metadata */
  XCAP_CNT_VXLAN,       /* classified as VXLAN (mirror and span mode) */
  XCAP_CNT_GENEVE,
  XCAP_CNT_GRE,
  XCAP_CNT_FILTER_EXCLUDED,  /* the XDP filter did not select the frame: dropped (XDP_DROP) */
  XCAP_CNT_FILTER_UNDECIDED, /* a filter is installed, but this captured frame is left to the
                              * worker's filter (GRE/ERSPAN, GENEVE carrying IP, nested or
                              * malformed tunnels, multi-buffer frames, frames past the
                              * XCAP_FILTER_MAX_ bounds) */
  XCAP_CNT_TOO_BIG,          /* for capture, but longer than xcap_max_frame (sockets without
                              * XDP_USE_SG): dropped (XDP_DROP) */
  XCAP_CNT_NOT_READY, /* for capture, but user space has not armed the program yet (its sockets
                       * are still being bound): passed, counted in PASS too */
  XCAP_CNT_SELF,      /* a TCP frame of xcap's own streaming server (xcap_self): passed, counted
                       * in PASS too */
  XCAP_CNT_MAX
};

#endif /* XCAP_ABI_H */
