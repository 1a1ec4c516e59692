/* The map through which a capture program hands the packet to filter to the translated filter
 * program it tail-calls (src/filter/xdp_filter_translator.cpp): slot 0 holds where the packet
 * lies (struct xcap_filter_args, xcap_abi.h). Both capture programs (xcap.bpf.c and
 * xcap_local.bpf.c) declare it here, so the translator finds the same map in either.
 *
 * Include after <linux/bpf.h> and <bpf/bpf_helpers.h>. */
#ifndef XCAP_FILTER_ARGS_MAP_H
#define XCAP_FILTER_ARGS_MAP_H

#include "xcap_abi.h"

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct xcap_filter_args);
} xcap_filter_args SEC(".maps");

#endif
