// The switches user space flips in a loaded bpf/xcap.bpf.c at run time, all in its .bss:
// whether a filter sits in xcap_filter_progs, whether capture is armed (every queue's socket
// is in xsks_map), and the largest frame the sockets take whole. Written through the .bss map
// rather than skel->bss: that pointer reaches the kernel's copy only when the skeleton itself
// loaded the object, and libxdp loads it in XcapProgram.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "xcap_abi.h"

struct xcap_bpf;  // the bpftool skeleton (build/bpf/xcap.skel.h)

namespace xcap::bpf_loader {

Result<void> set_filter_installed(::xcap_bpf* skel, bool on);
// Until armed, frames for capture pass to the host and count XCAP_CNT_NOT_READY.
Result<void> set_capturing(::xcap_bpf* skel, bool on);
// Sockets without multi-buffer (XDP_USE_SG): frames over bytes are TOO_BIG; linear_only for
// kernels that copy only a fragmented frame's linear part. bytes 0: any frame fits.
Result<void> set_max_frame(::xcap_bpf* skel, uint32_t bytes, bool linear_only);
// The streaming server's listening address ("198.18.0.1", "2001:db8::1", "0.0.0.0", "::")
// and port: its TCP connections are passed to the host and never captured (XCAP_CNT_SELF).
// A wildcard address matches on the port alone. An address that does not parse is
// InvalidInput.
Result<void> set_self_endpoint(::xcap_bpf* skel, const std::string& address, uint16_t port);
// The same endpoint as the programs' .bss holds it (local mode's program has one too).
Result<xcap_self_endpoint> self_endpoint(const std::string& address, uint16_t port);

}  // namespace xcap::bpf_loader
