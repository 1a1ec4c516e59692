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
  XCAP_MODE_LOCAL = 2,  /* copy and pass: bpf/xcap_local.bpf.c, not this program */
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
  /* Local mode (bpf/xcap_local.bpf.c) only: */
  __u32 partial;  /* the program sees only part of the packet (a non-linear skb, a multi-buffer
                   * xdp_buff): a load past that part leaves the packet undecided instead of
                   * rejecting it, and user space filters its copy */
  __u32 selected; /* set by the filter program when it selected the packet */
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

/* ---- local mode (bpf/xcap_local.bpf.c): copy and pass -------------------------------------
 * An XDP program (ingress) and a TC program (egress) copy the first snaplen bytes of each
 * selected packet into a BPF ring buffer, behind a struct xcap_local_record, and let the packet
 * go on (XDP_PASS, TCX_NEXT). */
#define XCAP_LOCAL_MAX_CAPLEN 65536 /* bytes a record holds at most (a GSO packet is <= 64 KiB) */
#define XCAP_LOCAL_MAX_RINGS 1024   /* xcap_local_rings entries: one ring, or one per CPU */
#define XCAP_LOCAL_MAX_CPUS 1024    /* per-CPU rings: CPUs at most */
/* Prog array slots (xcap_local_xdp_progs, xcap_local_tc_progs). */
#define XCAP_LOCAL_SLOT_FILTER 0 /* the translated filter (src/filter/xdp_filter_translator.h) */
#define XCAP_LOCAL_SLOT_COPY 1   /* the copy program the filter hands selected packets to */

enum xcap_direction {
  XCAP_DIR_UNKNOWN = 0,
  XCAP_DIR_INBOUND = 1,  /* pcapng epb_flags bits 0-1: 01 inbound */
  XCAP_DIR_OUTBOUND = 2, /* 10 outbound */
};

/* xcap_local_record.flags */
enum xcap_local_flags {
  XCAP_LOCAL_F_FILTERED = 1 << 0, /* the kernel filter selected it: user space need not */
  XCAP_LOCAL_F_LOAD_FAILED = 1 << 1, /* the bytes could not be read: caplen is 0 */
};

/* One ring buffer record: this header, then caplen bytes of the packet. 24 bytes. */
struct xcap_local_record {
  __u64 tai_ns;    /* bpf_ktime_get_tai_ns(), the same clock in both programs */
  __u32 ifindex;   /* the interface it crossed */
  __u32 wire_len;  /* the packet's length: xdp_buff with fragments, or skb->len (a GSO packet
                    * is one record of its whole length) */
  __u32 caplen;    /* bytes that follow */
  __u8 direction;  /* enum xcap_direction */
  __u8 flags;      /* enum xcap_local_flags */
  __u16 gso_segs;  /* TC: skb's gso_segs (0 or 1 for a plain packet); XDP: 0 */
};

/* Set in .rodata before load. */
struct xcap_local_config {
  __u32 snaplen;  /* bytes copied at most (<= XCAP_LOCAL_MAX_CAPLEN) */
  __u32 per_cpu;  /* 1: ring i is CPU i's; 0: ring 0 takes every CPU's records */
  __u32 wakeup_bytes; /* a record that finds more than this waiting wakes the consumer;
                       * below it, records are written with BPF_RB_NO_WAKEUP */
  __u32 pad;
};

/* PERCPU_ARRAY xcap_local_counters: index = direction slot (0 ingress, 1 egress) *
 * XCAP_LCNT_MAX + counter. */
enum xcap_local_counter {
  XCAP_LCNT_PACKETS = 0, /* every packet the program saw */
  XCAP_LCNT_BYTES,       /* their lengths */
  XCAP_LCNT_COPIED,      /* records written */
  XCAP_LCNT_RINGBUF_FULL, /* selected, but the ring buffer had no room: lost */
  XCAP_LCNT_FILTER_EXCLUDED, /* the kernel filter did not select it */
  XCAP_LCNT_FILTER_UNDECIDED, /* the kernel filter left it to user space */
  XCAP_LCNT_NOT_READY,   /* before user space armed the program: not copied */
  XCAP_LCNT_LOAD_FAILED, /* the packet bytes could not be read (recorded with caplen 0) */
  XCAP_LCNT_SELF,        /* a TCP packet of xcap's own streaming server: never copied */
  XCAP_LCNT_MAX
};

#endif /* XCAP_ABI_H */
