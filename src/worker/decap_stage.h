// DecapStage: the worker's decapsulation step over one batch, in place. Each frame becomes
// the frame under its mirror tunnel (pointer, captured and true wire length), labelled with the
// pcapng interface of its mirror source. Frames whose mirror tunnel is broken are counted by
// tunnel type and dropped, or kept whole (outer frame, interface 0) with --decap-errors keep.
//
// An inner frame that is a bare IP packet (GENEVE from AWS Gateway Load Balancer, GRE with an
// IP payload) gets a synthesized Ethernet header (zero MAC addresses, the IP version's
// ethertype) written in place over the tunnel header just before it, so every interface of a
// file is Ethernet: tcpdump (libpcap 1.10) refuses a pcapng whose interfaces differ in link
// type. With --bare-ip-link raw such a source gets a LINKTYPE_RAW interface instead.
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
  bool keep_errors = false;  // --decap-errors keep
  bool synthesize_ethernet =
      true;  // raw IP inner frames get an Ethernet header (else LINKTYPE_RAW)
  sink::InterfaceTable* interfaces = nullptr;  // pcapng: one interface per source; else 0
};

struct DecapCounters {
  Counter decapsulated;                      // frames with at least one tunnel stripped
  std::array<Counter, kTunnelCount> errors;  // outermost tunnel failed, by its type
  Counter dropped;                           // failed and dropped (--decap-errors drop)
  Counter inner_kept;  // a nested level did not parse: written as it stood above that level
};

class DecapStage {
 public:
  explicit DecapStage(const DecapStageConfig& cfg);
  // Rewrites batch[0, n) in place; returns how many frames remain (failed ones removed unless
  // kept). The frames' bytes may be modified (synthesized Ethernet headers): they are UMEM
  // frames user space owns until it releases them.
  unsigned apply(PacketView* batch, unsigned n);
  const DecapCounters& counters() const { return counters_; }
  // Frames leave apply() with their mirror source's interface id (pcapng, --split source).
  bool names_sources() const { return sources_ != nullptr; }

 private:
  Decapsulator decap_;
  bool keep_errors_;
  bool synthesize_ethernet_;
  std::unique_ptr<SourceCache> sources_;
  DecapCounters counters_;
};

}  // namespace xcap::worker
