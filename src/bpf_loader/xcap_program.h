// XcapProgram: the XDP program of bpf/xcap.bpf.c, configured, loaded through libxdp and
// attached to one interface. Owns the skeleton and the attachment: the destructor detaches.
// Attach order: libxdp's multi-program dispatcher when the host allows it (xcap coexists with
// other XDP programs), else libxdp falls back to a single program; native (driver) mode first,
// then skb (generic) mode when --xdp-mode auto.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bpf_loader/xdp_mode.h"
#include "common/result.h"
#include "xcap_abi.h"

struct xcap_bpf;  // the bpftool skeleton (build/bpf/xcap.skel.h)
struct xdp_program;

namespace xcap::bpf_loader {

struct ProgramOptions {
  std::string ifname;
  int ifindex = 0;
  xcap_mode mode = XCAP_MODE_MIRROR;
  std::vector<uint16_t> vxlan_ports{XCAP_VXLAN_PORT};
  uint16_t geneve_port = XCAP_GENEVE_PORT;
  XdpMode xdp_mode = XdpMode::Auto;
};

// Sum over CPUs of the xcap_counters PERCPU_ARRAY.
struct XdpCounters {
  uint64_t v[XCAP_CNT_MAX] = {};
  uint64_t operator[](xcap_counter c) const { return v[c]; }
};

class XcapProgram {
 public:
  static Result<std::unique_ptr<XcapProgram>> attach(const ProgramOptions& opts);
  ~XcapProgram();
  XcapProgram(const XcapProgram&) = delete;
  XcapProgram& operator=(const XcapProgram&) = delete;

  // Stops steering packets; safe to call twice. Sockets can still drain what they hold.
  void detach();
  bool attached() const { return attached_; }

  int xsks_map_fd() const;
  XdpCounters counters() const;  // reads the kernel map: call at scrape time, not per packet
  XdpMode attached_mode() const { return mode_; }  // Native or Skb
  bool uses_dispatcher() const { return dispatcher_; }
  const ProgramOptions& options() const { return opts_; }

 private:
  XcapProgram() = default;
  ProgramOptions opts_;
  ::xcap_bpf* skel_ = nullptr;
  xdp_program* prog_ = nullptr;
  XdpMode mode_ = XdpMode::Native;
  bool attached_ = false;
  bool dispatcher_ = false;
};

// Removes xcap programs left attached to ifindex by a capture that was killed (SIGKILL,
// crash). Call only while holding the InterfaceLock. Returns how many were removed; Error if
// another, non-xcap XDP program occupies the interface without a dispatcher.
Result<int> remove_stale_programs(int ifindex, const std::string& ifname);

// libxdp keeps its dispatcher state in bpffs; mount it at /sys/fs/bpf when missing.
Result<void> ensure_bpffs();

}  // namespace xcap::bpf_loader
