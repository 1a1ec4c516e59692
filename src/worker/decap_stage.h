// DecapStage: the worker's decapsulation step over one batch, in place. Each frame becomes
// its innermost frame (pointer, captured and true wire length), labelled with the pcapng
// interface of its mirror source. Frames that fail to decapsulate are counted by tunnel type
// and dropped, or kept whole (outer frame, interface 0) with --decap-errors keep.
//
// pcap files have one link type, Ethernet: an inner frame that is a bare IP packet (GENEVE
// from AWS Gateway Load Balancer, GRE with an IP payload) gets a synthesized Ethernet header
// (zero MAC addresses, the IP version's ethertype) written in place over the tunnel header
// just before it. pcapng files instead give such a source a LINKTYPE_RAW interface.
#pragma once

#include <array>
#include <memory>

#include "common/packet_view.h"
#include "decap/decapsulator.h"
#include "worker/source_cache.h"
#include "worker/worker_counters.h"

namespace xcap::worker {

struct DecapStageConfig {
  DecapConfig decap;
  bool keep_errors = false;          // --decap-errors keep
  bool synthesize_ethernet = false;  // pcap output: raw IP inner frames get an Ethernet header
  sink::InterfaceTable* interfaces = nullptr;  // pcapng: one interface per source; else 0
};

struct DecapCounters {
  Counter decapsulated;                      // frames with at least one tunnel stripped
  std::array<Counter, kTunnelCount> errors;  // failed, by the tunnel that failed
  Counter dropped;                           // failed and dropped (--decap-errors drop)
};

class DecapStage {
 public:
  explicit DecapStage(const DecapStageConfig& cfg);
  // Rewrites batch[0, n) in place; returns how many frames remain (failed ones removed unless
  // kept). The frames' bytes may be modified (synthesized Ethernet headers): they are UMEM
  // frames user space owns until it releases them.
  unsigned apply(PacketView* batch, unsigned n);
  const DecapCounters& counters() const { return counters_; }

 private:
  Decapsulator decap_;
  bool keep_errors_;
  bool synthesize_ethernet_;
  std::unique_ptr<SourceCache> sources_;
  DecapCounters counters_;
};

}  // namespace xcap::worker
