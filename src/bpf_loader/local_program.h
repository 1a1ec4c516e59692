// LocalProgram: bpf/xcap_local.bpf.c on one interface, for --mode local (copy and pass). Owns
// the skeleton, the XDP attachment (ingress, through libxdp like XcapProgram: its dispatcher
// where the host allows one, native then skb mode), the TC egress attachment (TcEgress: tcx,
// clsact on older kernels) and the ring buffers the records go to. The destructor detaches
// both programs.
//
// Order of use: attach() (rings created, programs attached but not yet copying), a
// RingbufSource on ring_fds(), start_capturing(); detach() before the source drains.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bpf_loader/tc_egress.h"
#include "bpf_loader/xdp_mode.h"
#include "common/fd.h"
#include "common/result.h"
#include "filter/cbpf_insn.h"
#include "xcap_abi.h"

struct xcap_local_bpf;  // the bpftool skeleton (build/bpf/xcap_local.skel.h)
struct xdp_program;

namespace xcap::bpf_loader {

struct LocalProgramOptions {
  std::string ifname;
  int ifindex = 0;
  uint32_t snaplen = XCAP_LOCAL_MAX_CAPLEN;  // bytes copied per packet (capped at the maximum)
  uint32_t ring_bytes = 16u << 20;           // each ring buffer: a power of two, at least a page
  bool per_cpu = false;                      // one ring per CPU instead of one for the interface
  XdpMode xdp_mode = XdpMode::Auto;
};

// Direction slots of the counters: 0 ingress (XDP), 1 egress (TC).
enum class LocalDirection : unsigned { In = 0, Out = 1 };

struct LocalCounters {
  std::array<std::array<uint64_t, XCAP_LCNT_MAX>, 2> v{};
  uint64_t at(LocalDirection d, xcap_local_counter c) const { return v[unsigned(d)][c]; }
};

class LocalProgram {
 public:
  static Result<std::unique_ptr<LocalProgram>> attach(const LocalProgramOptions& opts);
  ~LocalProgram();
  LocalProgram(const LocalProgram&) = delete;
  LocalProgram& operator=(const LocalProgram&) = delete;

  // The ring buffers (one, or one per CPU), for ring_buffer__add.
  std::vector<int> ring_fds() const;
  // Until armed, packets are counted (XCAP_LCNT_NOT_READY) and not copied.
  Result<void> start_capturing();
  // xcap serve's streaming endpoint: its TCP connections are never copied (XCAP_LCNT_SELF).
  Result<void> set_self_endpoint(const std::string& address, uint16_t port);
  // Detaches XDP and TC; safe to call twice. The rings keep what was written.
  void detach();

  // Installs the cBPF program compiled for LINKTYPE_ETHERNET, translated, in both programs
  // (empty: removes it). Either direction failing leaves that direction unfiltered in the
  // kernel (user space still filters) and the error says why.
  Result<void> replace_filter(std::span<const CbpfInsn> ethernet_program);
  bool filter_active() const { return filter_in_.valid() && filter_out_.valid(); }

  LocalCounters counters() const;  // reads the kernel map: at scrape time, not per packet
  XdpMode attached_mode() const { return mode_; }
  bool egress_tcx() const { return tc_ && tc_->tcx(); }
  const LocalProgramOptions& options() const { return opts_; }

 private:
  LocalProgram() = default;
  Result<void> open();
  Result<void> attach_xdp();
  Result<void> create_rings();
  Result<void> make_rings();
  Result<void> attach_egress();
  Result<Fd> install(std::span<const CbpfInsn> program, LocalDirection d);
  void remove(LocalDirection d);

  LocalProgramOptions opts_;
  ::xcap_local_bpf* skel_ = nullptr;
  xdp_program* prog_ = nullptr;
  XdpMode mode_ = XdpMode::Native;
  bool xdp_attached_ = false;
  std::vector<Fd> rings_;
  std::unique_ptr<TcEgress> tc_;
  Fd filter_in_, filter_out_;
};

}  // namespace xcap::bpf_loader
