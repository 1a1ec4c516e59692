// CaptureOptions: everything `xcap capture` was asked to do, as src/cli parsed and checked it,
// and all a Pipeline needs to build itself. Fields marked "environment" are filled by
// resolve_capture_environment (src/cli/capture_environment.h) from the host, not by parsing.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "archive/archive_config.h"
#include "bpf_loader/xdp_mode.h"
#include "common/defaults.h"
#include "decap/decap_config.h"
#include "filter/filter_set.h"
#include "sink/file/file_ring.h"
#include "xcap_abi.h"

namespace xcap::pipeline {

// The streaming server's flags (--listen and the ones that need it). Files are read when the
// pipeline starts, not while parsing.
struct ServerOptions {
  std::string listen;      // --listen, normalised ADDR:PORT; empty: no streaming
  std::string token_file;  // --token-file: the bearer token clients must send
  std::string tls_cert, tls_key, tls_client_ca;  // --tls-cert/--tls-key, --tls-client-ca (mTLS)
  unsigned max_streams = defaults::kMaxStreams;
  unsigned max_streams_per_client = defaults::kMaxStreamsPerClient;
  size_t buffer_bytes = defaults::kStreamBufferMiB << 20;  // --stream-buffer, per client
};

struct CaptureOptions {
  std::string iface;  // -i (live capture); in local mode the first of local_ifaces
  // --mode local: every interface captured (-i repeated, or -i all expanded by the environment),
  // each on its own pcapng interface, and their indexes (environment).
  std::vector<std::string> local_ifaces;
  std::vector<int> local_ifindexes;
  uint32_t ringbuf_bytes = defaults::kRingbufKiB << 10;  // --ringbuf-size, per ring
  bool ringbuf_per_cpu = false;                          // --ringbuf-per-cpu
  std::string read_path;            // -r: replay this file instead of capturing live
  int ifindex = 0;                  // environment
  uint32_t iface_rx_queues = 1;     // environment: queues the interface has
  std::string queues_spec = "all";  // --queues as given
  std::vector<uint32_t> queues;     // environment: --queues against the interface's queues
  std::string write_path;           // -w; empty = count only (a rate check)
  sink::FileFormat format = sink::FileFormat::Pcap;
  // --split source: one file ring per mirror source (needs -w PATH and decapsulation)
  bool split_by_source = false;
  uint32_t snaplen = defaults::kSnaplen;  // -s (0 on the command line means this)
  uint64_t count = 0;                     // -c; 0 = unlimited
  double duration_s = 0;                  // --duration; 0 = until a signal
  uint64_t rotate_mb = 0;                 // -C
  uint32_t rotate_seconds = 0;            // -G
  uint32_t max_files = 0;                 // -W
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
  archive::ArchiveConfig archive;  // --archive, -z and their flags (off by default)
  std::string metrics_addr;        // --metrics, normalised ADDR:PORT
  ServerOptions stream;
  // Tuning (README "Tuning" explains each).
  unsigned batch_size = defaults::kBatchSize;
  uint32_t rx_ring = defaults::kRxRing;
  uint32_t fill_ring = defaults::kFillRingPerRxSlot * defaults::kRxRing;
  uint32_t frame_size = 0;  // --frame-size; 0 (auto) until the environment picks by MTU
  uint32_t mtu = 0;         // environment: the interface's MTU (0 unknown)
  bool busy_poll = false;
  bool pin_workers = true;
  int rt_priority = 0;      // --rt-priority: SCHED_FIFO for the workers; 0 = off
  int verbosity = 1;        // -q 0, default 1, -v 2
  bool stats_json = false;  // --stats-json: the final counts as a JSON line too

  bool replay() const { return !read_path.empty(); }
  bool local() const { return mode == XCAP_MODE_LOCAL; }
};

}  // namespace xcap::pipeline
