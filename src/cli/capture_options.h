// CaptureOptions: everything `xcap capture` was asked to do, parsed and validated before any
// kernel object is touched. A bad flag yields a UsageError naming it (exit status 2).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf_loader/xdp_mode.h"
#include "common/result.h"
#include "decap/decap_config.h"
#include "filter/filter_set.h"
#include "sink/file/file_ring.h"
#include "xcap_abi.h"

namespace xcap::cli {

struct CaptureOptions {
  std::string iface;  // -i
  int ifindex = 0;
  uint32_t iface_rx_queues = 1;  // queues the interface has
  std::vector<uint32_t> queues;  // --queues: the ones captured (all by default)
  std::string write_path;        // -w; empty = count only (a rate check)
  sink::FileFormat format = sink::FileFormat::Pcap;
  // --split source: one file ring per mirror source (needs -w PATH and decapsulation)
  bool split_by_source = false;
  uint32_t snaplen = 262144;    // -s (0 means the default, as in tcpdump)
  uint64_t count = 0;           // -c; 0 = unlimited
  double duration_s = 0;        // --duration; 0 = until a signal
  uint64_t rotate_mb = 0;       // -C
  uint32_t rotate_seconds = 0;  // -G
  uint32_t max_files = 0;       // -W
  xcap_mode mode = XCAP_MODE_MIRROR;
  DecapConfig::Mode decap = DecapConfig::Mode::Auto;  // --decap (none by default in span mode)
  bool keep_decap_errors = false;                     // --decap-errors keep
  unsigned decap_depth = 1;                           // --decap-depth: delivery levels stripped
  // --bare-ip-link raw: bare IP inner frames get LINKTYPE_RAW interfaces in pcapng instead of
  // a synthesized Ethernet header (tcpdump/libpcap 1.10 cannot read mixed link types).
  bool raw_ip_link = false;
  std::shared_ptr<const FilterSet> filter;  // -f / trailing words; null: no filter
  std::vector<uint16_t> vxlan_ports{XCAP_VXLAN_PORT};
  uint16_t geneve_port = XCAP_GENEVE_PORT;
  bpf_loader::XdpMode xdp_mode = bpf_loader::XdpMode::Auto;
  std::string metrics_addr;  // --metrics, normalised ADDR:PORT
  // Tuning (README "Tuning" explains each).
  unsigned batch_size = 64;
  uint32_t rx_ring = 4096;
  uint32_t fill_ring = 8192;
  uint32_t frame_size = 4096;  // --frame-size (auto: frame_size_for_mtu)
  bool busy_poll = false;
  bool pin_workers = true;
  int rt_priority = 0;      // --rt-priority: SCHED_FIFO for the workers; 0 = off
  int verbosity = 1;        // -q 0, default 1, -v 2
  bool stats_json = false;  // --stats-json: the final counts as a JSON line too
};

// Outcome of parsing: options to run with, or text to print and an exit status.
struct ParsedCapture {
  std::optional<CaptureOptions> options;
  std::string message;  // help text (exit 0) or the error (exit 2)
  int exit_code = 0;
};

// args excludes "xcap" and "capture". Looks the interface up (needs no privilege).
ParsedCapture parse_capture_args(const std::vector<std::string>& args);

// "all" or "0,2-3" against an interface with n rx queues.
Result<std::vector<uint32_t>> parse_queue_list(const std::string& spec, uint32_t n_queues);

// The smallest UMEM frame that holds the interface's largest frame (above 3,840 bytes, 4096:
// AF_XDP multi-buffer then chains a frame over several). A smaller UMEM is a
// smaller cache footprint for the kernel's copy into it: on the veth lab, 8 MiB instead of
// 32 MiB of frames took the sender's core from 2.8 to 3.3-4.1 Mpps. In copy mode the packet
// starts after XDP_PACKET_HEADROOM (256 bytes) of the frame; a frame is MTU + Ethernet + two
// VLAN tags.
inline constexpr uint32_t kXdpHeadroom = 256, kFrameOverhead = 14 + 8;
uint32_t frame_size_for_mtu(uint32_t mtu);
uint32_t interface_mtu(const std::string& ifname);  // 1500 if unknown

// Number of rx queues of an interface from /sys/class/net/IF/queues (1 if unknown).
uint32_t interface_rx_queues(const std::string& ifname);

}  // namespace xcap::cli
