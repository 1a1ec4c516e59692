// StreamMerger: puts the records of several streams (one per target) into one timestamp order,
// within a bounded reorder window. A packet is held until it is older than the newest packet
// seen minus the window, or until it has been held for the window in wall time (a quiet
// stream must not hold the others' packets forever); then records go out in timestamp order.
// A packet that arrives after a newer one was already written goes out at once, out of order,
// and is counted as late for its stream.
//
// Statistics records have no place in packet time: each goes out right after the packets its
// own stream sent before it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <vector>

namespace xcap::stream {

struct MergedRecord {
  uint64_t ts_ns = 0;  // where it sorts
  uint64_t seq = 0;    // arrival order: ties keep it
  uint32_t source = 0;
  bool packet = false;
  std::vector<uint8_t> bytes;  // the encoded output record
};

class StreamMerger {
 public:
  using Clock = std::chrono::steady_clock;
  using Write = std::function<void(const MergedRecord&)>;

  StreamMerger(uint64_t window_ns, Clock::duration hold_limit);

  void push_packet(uint32_t source, uint64_t ts_ns, std::vector<uint8_t> bytes,
                   Clock::time_point now);
  void push_status(uint32_t source, std::vector<uint8_t> bytes, Clock::time_point now);

  // Writes the records now due, in order.
  void release(Clock::time_point now, const Write& write);
  // Writes everything held, in order (the end of the capture).
  void release_all(const Write& write);

  // Packets of this source written out of order so far.
  uint64_t late(uint32_t source) const;
  size_t held() const { return heap_.size(); }
  // When release() will next have something to write by wall time alone; nullopt when empty.
  std::optional<Clock::time_point> next_due() const;

 private:
  struct Later {
    bool operator()(const MergedRecord& a, const MergedRecord& b) const {
      return a.ts_ns != b.ts_ns ? a.ts_ns > b.ts_ns : a.seq > b.seq;
    }
  };
  void push(MergedRecord r, Clock::time_point now);
  void pop_and_write(const Write& write);

  const uint64_t window_ns_;
  const Clock::duration hold_limit_;
  std::priority_queue<MergedRecord, std::vector<MergedRecord>, Later> heap_;
  std::deque<std::pair<Clock::time_point, uint64_t>> arrivals_;  // (when, ts), arrival order
  uint64_t seq_ = 0;
  uint64_t newest_ns_ = 0;                // newest packet timestamp pushed
  uint64_t held_long_ns_ = 0;             // newest timestamp among records held past hold_limit
  uint64_t last_written_ns_ = 0;          // newest packet timestamp written
  std::vector<uint64_t> last_packet_ns_;  // per source: its newest packet so far
  std::vector<uint64_t> late_;            // per source
};

}  // namespace xcap::stream
