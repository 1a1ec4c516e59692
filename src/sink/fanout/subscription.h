// Subscription: one streaming client's view of the capture. The fanout thread offers it every
// record; it keeps those its filter selects, encodes them (pcapng, or pcap) into its own
// bounded buffer, and the client's connection takes the bytes out. A client that reads too
// slowly fills its buffer and loses packets itself: counted, and reported in the stream
// (pcapng comment blocks), never felt by the workers, the files or other clients.
//
// Status in a pcapng stream: an Interface Statistics Block every second (isb_ifrecv: records
// offered, isb_filteraccept: selected, isb_osdrop: lost to this client's full buffer,
// isb_usrdeliv: put in its stream, isb_ifdrop: lost before the fanout), one with a comment at
// each change (congested; cleared, or congested until the end, each with the count lost in
// that congestion) and a last one saying why it ended.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/defaults.h"
#include "common/packet_view.h"
#include "filter/filter_set.h"
#include "sink/interface_table.h"

namespace xcap::sink::fanout {

struct SubscriptionConfig {
  std::shared_ptr<const FilterSet> filter;  // null: every record
  uint32_t snaplen = defaults::kSnaplen;
  bool pcapng = true;  // else pcap: Ethernet records only, packets only
  size_t buffer_bytes = size_t(64) << 20;
  uint64_t count = 0;  // finish after this many packets; 0: no limit
  std::string client;  // who, for logs and labels ("198.18.0.1:51234")
};

struct SubscriptionStats {
  uint64_t offered = 0, matched = 0, delivered = 0, dropped = 0, congestions = 0;
  bool congested = false;
};

class Subscription {
 public:
  // interfaces: the capture's pcapng interfaces (shared, append-only); iface0 is used when
  // there is no table (no decapsulation).
  Subscription(SubscriptionConfig cfg, std::shared_ptr<const InterfaceTable> interfaces,
               std::string iface0);

  // ---- fanout thread ----
  // Offers a hand-off block's raw records (raw_record.h).
  void offer(const uint8_t* records, size_t bytes, uint64_t now_ns);
  // Once a second: the statistics block; ends the stream when -c was reached. upstream_drops:
  // records lost before the fanout so far (isb_ifdrop).
  void tick(uint64_t now_ns, uint64_t upstream_drops);
  // Ends the stream: a last statistics block saying why. Later offers are ignored.
  void finish(const std::string& why, uint64_t now_ns, uint64_t upstream_drops);

  // ---- the client's connection ----
  // Everything buffered so far; waits up to wait for something. Empty and done(): the stream
  // is complete.
  std::vector<uint8_t> take(std::chrono::milliseconds wait);
  bool done() const;
  // finish() has run: stats() are final (bytes may still wait to be taken).
  bool ended() const;

  SubscriptionStats stats() const;
  const SubscriptionConfig& config() const { return cfg_; }

 private:
  // Status blocks may use this much beyond buffer_bytes, so a full buffer can still say it
  // is congested.
  static constexpr size_t kStatusSlack = 64 * 1024;
  void encode(const PacketView& v);
  void add_interfaces(uint32_t up_to);
  void push(std::vector<uint8_t>& bytes, size_t limit);  // appends if it fits under limit
  void status(const std::string& comment, uint64_t now_ns, uint64_t upstream_drops);
  // "this client lost N packets while congested (M in all)": the congestion's own count.
  std::string lost_while_congested(const SubscriptionStats& s) const;

  const SubscriptionConfig cfg_;
  const std::shared_ptr<const InterfaceTable> interfaces_;
  const std::string iface0_;
  // Fanout thread only.
  std::vector<uint8_t> staging_;
  uint32_t idbs_ = 0;                   // pcapng: interfaces [0, idbs_) described in the stream
  uint64_t dropped_at_congestion_ = 0;  // stats_.dropped when the congestion began
  bool finished_ = false;
  // Shared with the connection.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<uint8_t>> chunks_;
  size_t buffered_ = 0;
  bool done_ = false;
  SubscriptionStats stats_;
};

}  // namespace xcap::sink::fanout
