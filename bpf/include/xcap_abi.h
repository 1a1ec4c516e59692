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

/* --mode */
enum xcap_mode {
  XCAP_MODE_MIRROR = 0, /* steal tunnelled mirror traffic (VXLAN, GENEVE, GRE), pass the rest */
  XCAP_MODE_SPAN = 1,   /* steal every frame: a dedicated capture port */
  XCAP_MODE_LOCAL = 2,  /* copy and pass (reserved for a later issue) */
};

/* xcap_meta.flags: what the XDP side already learned, so user space need not parse again. */
enum xcap_meta_flags {
  XCAP_META_F_VXLAN = 1 << 0,
  XCAP_META_F_GENEVE = 1 << 1,
  XCAP_META_F_GRE = 1 << 2, /* IP protocol 47: GRE or ERSPAN */
  XCAP_META_F_VLAN = 1 << 3,
  XCAP_META_F_IPV6 = 1 << 4,
  XCAP_META_F_MALFORMED = 1 << 5, /* headers cut short or inconsistent (span mode keeps these) */
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
  XCAP_CNT_MAX
};

#endif /* XCAP_ABI_H */
