#include "stream/stream_merger.h"

#include <algorithm>

namespace xcap::stream {

StreamMerger::StreamMerger(uint64_t window_ns, Clock::duration hold_limit)
    : window_ns_(window_ns), hold_limit_(hold_limit) {}

void StreamMerger::push(MergedRecord r, Clock::time_point now) {
  if (r.source >= late_.size()) {
    late_.resize(r.source + 1, 0);
    last_packet_ns_.resize(r.source + 1, 0);
  }
  r.seq = seq_++;
  arrivals_.emplace_back(now, r.ts_ns);
  heap_.push(std::move(r));
}

void StreamMerger::push_packet(uint32_t source, uint64_t ts_ns, std::vector<uint8_t> bytes,
                               Clock::time_point now) {
  newest_ns_ = std::max(newest_ns_, ts_ns);
  push(MergedRecord{ts_ns, 0, source, true, std::move(bytes)}, now);
  last_packet_ns_[source] = std::max(last_packet_ns_[source], ts_ns);
}

void StreamMerger::push_status(uint32_t source, std::vector<uint8_t> bytes, Clock::time_point now) {
  const uint64_t at = source < last_packet_ns_.size() ? last_packet_ns_[source] : 0;
  push(MergedRecord{at, 0, source, false, std::move(bytes)}, now);
}

void StreamMerger::pop_and_write(const Write& write) {
  const MergedRecord& r = heap_.top();
  if (r.packet) {
    if (r.ts_ns < last_written_ns_)
      late_[r.source]++;
    else
      last_written_ns_ = r.ts_ns;
  }
  write(r);
  heap_.pop();
}

void StreamMerger::release(Clock::time_point now, const Write& write) {
  while (!arrivals_.empty() && arrivals_.front().first + hold_limit_ <= now) {
    held_long_ns_ = std::max(held_long_ns_, arrivals_.front().second);
    arrivals_.pop_front();
  }
  const uint64_t by_window = newest_ns_ > window_ns_ ? newest_ns_ - window_ns_ : 0;
  const uint64_t due = std::max(by_window, held_long_ns_);
  // A record older than one already written is out of order anyway: no reason to hold it.
  while (!heap_.empty() && (heap_.top().ts_ns <= due || heap_.top().ts_ns < last_written_ns_))
    pop_and_write(write);
  if (heap_.empty()) arrivals_.clear();
}

void StreamMerger::release_all(const Write& write) {
  while (!heap_.empty()) pop_and_write(write);
  arrivals_.clear();
}

uint64_t StreamMerger::late(uint32_t source) const {
  return source < late_.size() ? late_[source] : 0;
}

std::optional<StreamMerger::Clock::time_point> StreamMerger::next_due() const {
  if (arrivals_.empty()) return std::nullopt;
  return arrivals_.front().first + hold_limit_;
}

}  // namespace xcap::stream
