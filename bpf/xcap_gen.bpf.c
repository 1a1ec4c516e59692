// SPDX-License-Identifier: GPL-2.0
// xcap_gen: the XDP program behind tools/xcap-gen. User space runs it with
// bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES) on one frame and a repeat count; every
// XDP_TX verdict becomes a real transmit out of the veth named as ingress_ifindex, so the
// frame arrives on the peer end (the capture side).
//
// Two modes, chosen in .rodata before load:
//  - template: the frame given to the test run goes out as is, optionally with a 32-bit
//    big-endian sequence number stamped into it so a receiver can count loss and duplicates;
//  - replay: the frames of a pcap file sit in the `replay` array, and each run turns the page
//    into the next one (resize, copy), so a single kernel call sends many frames in file order.
//
// Live frames reuse their pages: the kernel copies the test-run frame into a page only when
// the page is first allocated, and a recycled page keeps whatever the previous run (or the
// receiver's XDP program) left in it. So every run writes the stamp, its checksum, or the
// whole replayed frame again, absolutely (from .rodata seeds or the map), never relative to
// what is in the page.
#include <linux/bpf.h>

#include <bpf/bpf_helpers.h>  // after linux/bpf.h, which it builds on

// Largest frame xcap-gen sends (a live-frames page holds ~3408 bytes of packet data); bounds
// the offsets below for the verifier.
#define XCAP_GEN_MAX_FRAME 3400

// Set by xcap-gen before load; the verifier sees frozen .rodata as constants.
// tx_ifindex: live frames carry it as ingress_ifindex. Anything else passes untouched: xcap-gen
// also parks the program on a loopback to keep it in the kernel's XDP dispatcher (see
// live_frames_sender.cpp), and real traffic must not be bounced there.
const volatile __u32 tx_ifindex = 0;
// seq_offset: byte offset of the stamp from the start of the Ethernet header; 0 = no stamp.
const volatile __u32 seq_offset = 0;
// csum_offset: offset of the L4 checksum covering the stamp (UDP/TCP); 0 = leave it alone.
const volatile __u32 csum_offset = 0;
// csum_seed: the folded one's complement sum the checksum covers with the stamp bytes zero
// (~checksum of the template); the stamp's 16-bit words are added to it on every run.
const volatile __u32 csum_seed = 0;
// csum_odd: the stamp starts at an odd distance from the checksummed header, so its words
// straddle the checksum's words; a one's complement sum commutes with a byte swap.
const volatile __u32 csum_odd = 0;
// replay_data_max: replay mode when non-zero: the bytes of frame data a `replay` slot holds
// (value_size - 8).
const volatile __u32 replay_data_max = 0;

// One replayed frame: its length, then its bytes. value_size and max_entries are set by
// xcap-gen before load to fit the file; user space fills the slots through mmap.
struct replay_slot {
  __u32 len;
  __u32 pad;
  __u8 data[];
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(map_flags, BPF_F_MMAPABLE);
  __uint(key_size, sizeof(__u32));
  __uint(value_size, 8);
  __uint(max_entries, 1);
} replay SEC(".maps");

// Read and written by user space through the skeleton's mmapped .bss, between kernel calls.
// One xcap-gen process drives one program from one thread, so plain globals (not per-CPU) give
// a gap-free sequence even when the thread migrates between calls.
__u64 frames_run = 0;     // frames handed to the driver (XDP_TX)
__u64 frames_failed = 0;  // replay runs that could not build their frame (XDP_ABORTED)
__u32 replay_count = 0;   // slots in use
__u32 replay_next = 0;    // slot the next run sends

static __always_inline __u32 fold(__u32 sum) {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return sum;
}

static __always_inline __u32 swap16(__u32 v) {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

static __always_inline int stamp(struct xdp_md* ctx, __u32 seq) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32 off = seq_offset;
  if (off > XCAP_GEN_MAX_FRAME - 4) return XDP_TX;
  __u8* p = data + off;
  if ((void*)(p + 4) > data_end) return XDP_TX;
  // Byte stores: the stamp may sit at any alignment.
  p[0] = seq >> 24;
  p[1] = seq >> 16;
  p[2] = seq >> 8;
  p[3] = seq;

  __u32 coff = csum_offset;
  if (!coff || coff > XCAP_GEN_MAX_FRAME - 2) return XDP_TX;
  __u8* c = data + coff;
  if ((void*)(c + 2) > data_end) return XDP_TX;
  __u32 hi = seq >> 16, lo = seq & 0xffff;
  if (csum_odd) {
    hi = swap16(hi);
    lo = swap16(lo);
  }
  __u32 sum = ~fold(csum_seed + hi + lo) & 0xffff;
  // UDP reserves 0 for "no checksum"; 0xffff is the same value in one's complement.
  if (sum == 0) sum = 0xffff;
  c[0] = sum >> 8;
  c[1] = sum;
  return XDP_TX;
}

static __always_inline int replay_one(struct xdp_md* ctx) {
  __u32 i = replay_next;
  __u32 next = i + 1;
  replay_next = next >= replay_count ? 0 : next;

  struct replay_slot* s = bpf_map_lookup_elem(&replay, &i);
  if (!s) goto fail;
  __u32 len = s->len;
  if (len < 14 || len > replay_data_max) goto fail;
  int cur = ctx->data_end - ctx->data;
  if (len != (__u32)cur && bpf_xdp_adjust_tail(ctx, (int)len - cur)) goto fail;
  if (bpf_xdp_store_bytes(ctx, 0, s->data, len)) goto fail;
  frames_run++;
  return XDP_TX;
fail:
  frames_failed++;
  return XDP_ABORTED;
}

SEC("xdp")
int xcap_gen_tx(struct xdp_md* ctx) {
  if (ctx->ingress_ifindex != tx_ifindex) return XDP_PASS;
  if (replay_data_max) return replay_one(ctx);

  __u32 seq = (__u32)frames_run;
  frames_run++;
  if (!seq_offset) return XDP_TX;
  return stamp(ctx, seq);
}

char LICENSE[] SEC("license") = "GPL";
