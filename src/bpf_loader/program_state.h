// The switches user space flips in a loaded bpf/xcap.bpf.c at run time, both in its .bss:
// whether a filter sits in xcap_filter_progs, and whether capture is armed (every queue's
// socket is in xsks_map). Written through the .bss map rather than skel->bss: that pointer
// reaches the kernel's copy only when the skeleton itself loaded the object, and libxdp loads
// it in XcapProgram.
#pragma once

#include "common/result.h"

struct xcap_bpf;  // the bpftool skeleton (build/bpf/xcap.skel.h)

namespace xcap::bpf_loader {

Result<void> set_filter_installed(::xcap_bpf* skel, bool on);
// Until armed, frames for capture pass to the host and count XCAP_CNT_NOT_READY.
Result<void> set_capturing(::xcap_bpf* skel, bool on);

}  // namespace xcap::bpf_loader
