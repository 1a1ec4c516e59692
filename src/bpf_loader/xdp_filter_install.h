// Installing the XDP filter next to a loaded bpf/xcap.bpf.c: the translated program goes into
// slot 0 of xcap_filter_progs, then the main program's xcap_filter_installed flag is set, so
// captured frames are handed to it by tail call. XcapProgram::install_xdp_filter uses this; so
// do the BPF tests, on skeletons they load themselves.
#pragma once

#include <cstdint>
#include <span>

#include "common/fd.h"
#include "common/result.h"
#include "filter/cbpf_insn.h"

struct xcap_bpf;  // the bpftool skeleton (build/bpf/xcap.skel.h)
struct bpf_program;

namespace xcap::bpf_loader {

// skel must be loaded (xcap_bpf__load, or attached through libxdp). Translates and loads the
// cBPF program compiled for LINKTYPE_ETHERNET with the main program's maps and attach type.
// The returned Fd is the filter program; the prog array holds its own reference, so closing it
// does not remove the filter. Errors: the translator's ("uses len ...", "verifier: ...") or the
// prog array's refusal.
Result<Fd> install_xdp_filter(::xcap_bpf* skel, std::span<const CbpfInsn> ethernet_program);

// Whether prog is (or will be, once loaded) a multi-buffer XDP program: a program it
// tail-calls must be one too.
bool xdp_frags(const bpf_program* prog);

// Empties the slot and clears the flag: frames are captured unfiltered again.
void remove_xdp_filter(::xcap_bpf* skel);

}  // namespace xcap::bpf_loader
