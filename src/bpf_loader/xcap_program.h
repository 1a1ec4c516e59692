// XcapProgram: the XDP program of bpf/xcap.bpf.c, configured, loaded through libxdp and
// attached to one interface. Owns the skeleton and the attachment: the destructor detaches.
// Attach order: libxdp's multi-program dispatcher when the host allows it (xcap coexists with
// other XDP programs), else libxdp falls back to a single program; native (driver) mode first,
// then skb (generic) mode when --xdp-mode auto (logged, with the reason native failed). The
// program is multi-buffer (xdp.frags): it attaches at any MTU the driver allows for XDP.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bpf_loader/xdp_mode.h"
#include "common/fd.h"
#include "common/result.h"
#include "decap/decap_config.h"
#include "filter/cbpf_insn.h"
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
  // Tunnels the worker strips (XCAP_META_F_VXLAN/GENEVE/GRE; see decap_tunnels()): the XDP
  // filter judges their inner frame, as the worker's filter does. Set it from --decap.
  uint16_t decap = XCAP_META_F_VXLAN | XCAP_META_F_GENEVE | XCAP_META_F_GRE;
  // Frames for a queue that end its worker's nap at once (xcap_wake); 0: naps run their course.
  uint32_t wake_threshold = 0;
};

// ProgramOptions::decap for a --decap mode.
uint16_t decap_tunnels(DecapConfig::Mode mode);

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

  // Arms capture once every queue's socket is in xsks_map: until then frames for capture pass
  // to the host (XCAP_CNT_NOT_READY), so a socket still being bound costs no drop.
  Result<void> start_capturing();
  // Stops steering packets; safe to call twice. Sockets can still drain what they hold.
  void detach();
  bool attached() const { return attached_; }
  // Asks the kernel whether this program still runs on the interface, alone or in libxdp's
  // dispatcher: `ip link set dev X xdp off` or another tool's detach ends a capture silently
  // otherwise. A netlink query: for /healthz, not the packet path.
  bool still_attached() const;

  int xsks_map_fd() const;
  // Early wake-up of napping workers (source/wake_channel.h): the queue -> ring buffer map,
  // and a queue's entry of the xcap_wake array, mapped into this process (null on failure).
  int wake_rings_fd() const;
  xcap_wake* wake_slot(uint32_t queue);
  // The largest frame the AF_XDP sockets take whole, for sockets bound without XDP_USE_SG;
  // 0 (the default) while they chain descriptors. Frames for capture beyond it are dropped at
  // XDP and counted as XCAP_CNT_TOO_BIG; with linear_only (a kernel that copies only the
  // first buffer of a frame to such a socket) so are all frames in fragments.
  Result<void> set_max_frame(uint32_t bytes, bool linear_only);
  // The streaming server's endpoint, whose connections are never captured (program_state.h).
  Result<void> set_self_endpoint(const std::string& address, uint16_t port);
  XdpCounters counters() const;  // reads the kernel map: call at scrape time, not per packet
  XdpMode attached_mode() const { return mode_; }  // Native or Skb
  const ProgramOptions& options() const { return opts_; }

  // Evaluates the capture filter at XDP (src/filter/xdp_filter_translator.h): translates the
  // program libpcap compiled for LINKTYPE_ETHERNET, loads it and hands it every frame captured
  // from then on; frames it does not select are dropped there and counted as
  // XCAP_CNT_FILTER_EXCLUDED. Call after attach(), once. On error nothing changes (the worker
  // still filters everything) and the error, also kept in xdp_filter_reason(), says why:
  // "uses len ...", "verifier: ...". The worker must keep filtering either way: the XDP side
  // leaves some frames to it (XCAP_CNT_FILTER_UNDECIDED).
  Result<void> install_xdp_filter(std::span<const CbpfInsn> ethernet_program);
  // xcap serve, whose filter (the subscribers' union) changes while it runs: installs
  // ethernet_program in place of the current filter (each frame meets the old one or the new
  // one), or removes the filter when it is empty. If the new one cannot be installed, the old
  // one is removed too, so no frame a new filter would select is dropped at XDP.
  Result<void> replace_xdp_filter(std::span<const CbpfInsn> ethernet_program);
  bool xdp_filter_active() const { return xdp_filter_.valid(); }
  // Why the filter is not active at XDP; empty when it is, or when none was asked for.
  const std::string& xdp_filter_reason() const { return xdp_filter_reason_; }

 private:
  XcapProgram() = default;
  // The steps of attach().
  Result<void> open();
  Result<void> attach_in_a_mode();
  ProgramOptions opts_;
  ::xcap_bpf* skel_ = nullptr;
  xdp_program* prog_ = nullptr;
  XdpMode mode_ = XdpMode::Native;
  bool attached_ = false;
  xcap_wake* wake_ = nullptr;  // the mmapped xcap_wake array, XCAP_MAX_QUEUES entries
  size_t wake_bytes_ = 0;
  uint32_t interface_prog_id_ = 0;  // what the interface ran right after attach (ours, or
                                    // libxdp's dispatcher)
  Fd xdp_filter_;
  std::string xdp_filter_reason_;
};

// Removes xcap programs left attached to ifindex by a capture that was killed (SIGKILL,
// crash). Call only while holding the InterfaceLock. Returns how many were removed; Error if
// another, non-xcap XDP program occupies the interface without a dispatcher.
Result<int> remove_stale_programs(int ifindex, const std::string& ifname);

// libxdp keeps its dispatcher state in bpffs; mount it at /sys/fs/bpf when missing.
Result<void> ensure_bpffs();

}  // namespace xcap::bpf_loader
