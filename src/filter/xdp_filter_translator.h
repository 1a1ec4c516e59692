// XDP filter translator: turns the classic BPF program libpcap compiled for Ethernet
// (FilterProgram::instructions()) into a complete eBPF XDP program that bpf/xcap.bpf.c reaches
// by tail call, so frames the filter does not select are dropped before they cost an AF_XDP
// copy. The idea is Cloudflare's cbpfc, written anew for this one purpose.
//
// The program it makes:
//   - reads where the frame to judge lies from the per-CPU map xcap_filter_args
//     (struct xcap_filter_args in xcap_abi.h: off from ctx->data, caplen), written by the main
//     program just before the tail call; frames past XCAP_FILTER_MAX_OFF/_CAPLEN go on
//     unfiltered;
//   - runs the cBPF program with libpcap's semantics (those of CbpfInterpreter): A, X and the
//     16 scratch words start at 0, 32-bit unsigned wrapping arithmetic, big-endian loads
//     relative to the frame start, a load past caplen (or past the packet) or a division by
//     X == 0 ends the program with 0, shifts by X >= 32 give 0, at most 64 backward jumps
//     (with several loops, 64 / loops each; a packet needing more is left to the worker);
//   - selected (non-zero result): sets XCAP_META_F_FILTERED in the xcap_meta in front of the
//     frame (when there is one) and does what the main program does for capture,
//     bpf_redirect_map(xsks_map, rx_queue, XDP_PASS), counting REDIRECT or NO_SOCKET;
//   - not selected: counts XCAP_CNT_FILTER_EXCLUDED and returns XDP_DROP;
//   - undecided (loop budget spent, bad arguments): counts XCAP_CNT_FILTER_UNDECIDED and
//     captures unfiltered, for the worker to judge.
//
// Not translated (the worker filters instead; the error says which):
//   - `len`, `less`, `greater` (BPF_LEN): the worker tests the wire length repaired from the
//     inner IP header when a mirror truncated the packet; XDP does not know that length.
//   - instructions CbpfInterpreter refuses, programs too large for eBPF's 16-bit jumps, more
//     than 16 loops, programs the verifier refuses (too complex: "verifier: ...").
//
// The header carries no <linux/bpf.h> (see cbpf_insn.h): EbpfInsn mirrors struct bpf_insn.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "filter/cbpf_insn.h"

namespace xcap {

// One eBPF instruction, declared as the kernel's struct bpf_insn, so a vector of them is a
// program bpf_prog_load takes as it is.
struct EbpfInsn {
  uint8_t code = 0;
  uint8_t dst : 4 = 0;
  uint8_t src : 4 = 0;
  int16_t off = 0;
  int32_t imm = 0;
};
static_assert(sizeof(EbpfInsn) == 8, "must match struct bpf_insn");

// The maps of the loaded main program (bpf/xcap.bpf.c) that the filter program uses, by fd;
// the program refers to them as BPF_PSEUDO_MAP_FD immediates.
struct XdpFilterMaps {
  int xsks_map = -1;  // XSKMAP xsks_map: where selected frames go
  int counters = -1;  // PERCPU_ARRAY xcap_counters
  int args = -1;      // PERCPU_ARRAY xcap_filter_args
  // Local mode (bpf/xcap_local.bpf.c, copy and pass) when local_progs >= 0: a selected packet
  // is handed to the copy program in slot XCAP_LOCAL_SLOT_COPY of this PROG_ARRAY (with
  // xcap_filter_args.selected set), a rejected one passes (XDP_PASS, TCX_NEXT) and counts
  // counter_base + XCAP_LCNT_FILTER_EXCLUDED in counters (xcap_local_counters), an undecided
  // one is copied unjudged. A load past the part of a packet the program sees
  // (xcap_filter_args.partial: skb pages, XDP fragments) leaves it undecided. xsks_map unused.
  int local_progs = -1;
  bool tc = false;  // local mode at TC: the context is a struct __sk_buff (BPF_PROG_TYPE_SCHED_CLS)
  uint32_t counter_base = 0;
};

// Translates a cBPF program (validated as CbpfInterpreter::create validates) into the XDP
// filter program. Pure: no system call. Errors: "uses len (BPF_LEN) ...", "cBPF instruction
// N (code 0x..): ...", "too large ...".
Result<std::vector<EbpfInsn>> translate_to_xdp(std::span<const CbpfInsn> program,
                                               const XdpFilterMaps& maps);

struct XdpFilterLoadOptions {
  // Must equal the main program's, or the prog array refuses the filter (the kernel keeps
  // tail-call targets to one program type and attach type).
  uint32_t expected_attach_type = 0;
  // Must equal the main program's too: the kernel refuses to mix multi-buffer (xdp.frags) and
  // single-buffer programs in one prog array.
  bool xdp_frags = false;
  const char* name = "xcap_filter";
};

// translate_to_xdp, then bpf_prog_load as BPF_PROG_TYPE_XDP. The error of a refused program
// starts with "verifier: " and ends with the last lines of the verifier's log.
Result<Fd> load_xdp_filter(std::span<const CbpfInsn> program, const XdpFilterMaps& maps,
                           const XdpFilterLoadOptions& options = {});

}  // namespace xcap
