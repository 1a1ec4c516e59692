// StreamMerger: timestamp order within the window, wall-clock release of quiet streams, late
// packets written and counted, statistics after their stream's packets.
#include "stream/stream_merger.h"

#include <gtest/gtest.h>

#include <string>

namespace xcap::stream {
namespace {

using Clock = StreamMerger::Clock;
constexpr uint64_t kS = 1'000'000'000;

std::vector<uint8_t> tag(const std::string& s) {
  return {s.begin(), s.end()};
}

struct Collected {
  std::vector<std::string> tags;
  StreamMerger::Write writer() {
    return [this](const MergedRecord& r) { tags.emplace_back(r.bytes.begin(), r.bytes.end()); };
  }
};

TEST(StreamMerger, HoldsPacketsUntilTheyAreOlderThanTheWindow) {
  StreamMerger m(kS, std::chrono::hours(1));
  Collected out;
  const auto t0 = Clock::now();
  m.push_packet(0, 10 * kS, tag("a10"), t0);
  m.push_packet(1, 10 * kS + 500, tag("b10.5"), t0);
  m.release(t0, out.writer());
  EXPECT_TRUE(out.tags.empty());
  m.push_packet(1, 11 * kS, tag("b11"), t0);  // newest 11 s: 10 s is due
  m.push_packet(0, 10 * kS + 200, tag("a10.2"), t0);
  m.release(t0, out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"a10"}));
  m.push_packet(0, 12 * kS, tag("a12"), t0);
  m.release(t0, out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"a10", "a10.2", "b10.5", "b11"}));
  m.release_all(out.writer());
  EXPECT_EQ(out.tags.back(), "a12");
  EXPECT_EQ(m.late(0) + m.late(1), 0u);
}

TEST(StreamMerger, LatePacketsAreWrittenAndCounted) {
  StreamMerger m(kS, std::chrono::hours(1));
  Collected out;
  const auto t0 = Clock::now();
  m.push_packet(0, 10 * kS, tag("a10"), t0);
  m.push_packet(0, 12 * kS, tag("a12"), t0);
  m.release(t0, out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"a10"}));
  m.push_packet(1, 9 * kS, tag("b9"), t0);        // older than one already written
  m.push_packet(1, 11 * kS + 1, tag("b11"), t0);  // still in time
  m.release(t0, out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"a10", "b9"}));
  EXPECT_EQ(m.late(1), 1u);
  EXPECT_EQ(m.late(0), 0u);
  m.release_all(out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"a10", "b9", "b11", "a12"}));
}

TEST(StreamMerger, AQuietStreamDoesNotHoldPacketsForever) {
  StreamMerger m(kS, std::chrono::milliseconds(100));
  Collected out;
  const auto t0 = Clock::now();
  m.push_packet(0, 10 * kS, tag("a10"), t0);
  m.push_packet(0, 10 * kS + 1, tag("a10+"), t0 + std::chrono::milliseconds(50));
  EXPECT_EQ(m.next_due(), t0 + std::chrono::milliseconds(100));
  m.release(t0 + std::chrono::milliseconds(99), out.writer());
  EXPECT_TRUE(out.tags.empty());
  m.release(t0 + std::chrono::milliseconds(100), out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"a10"}));
  m.release(t0 + std::chrono::milliseconds(150), out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"a10", "a10+"}));
  EXPECT_EQ(m.held(), 0u);
  EXPECT_FALSE(m.next_due());
}

TEST(StreamMerger, StatisticsFollowTheirStreamsPackets) {
  StreamMerger m(kS, std::chrono::hours(1));
  Collected out;
  const auto t0 = Clock::now();
  m.push_packet(0, 10 * kS, tag("a10"), t0);
  m.push_status(0, tag("isb-a"), t0);
  m.push_packet(1, 9 * kS, tag("b9"), t0);
  m.push_packet(0, 10 * kS + 5, tag("a10+"), t0);
  m.release_all(out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"b9", "a10", "isb-a", "a10+"}));
}

TEST(StreamMerger, ZeroWindowWritesAtOnceInArrivalOrder) {
  StreamMerger m(0, std::chrono::hours(1));
  Collected out;
  const auto t0 = Clock::now();
  m.push_packet(0, 5, tag("5"), t0);
  m.release(t0, out.writer());
  m.push_packet(1, 3, tag("3"), t0);
  m.release(t0, out.writer());
  EXPECT_EQ(out.tags, (std::vector<std::string>{"5", "3"}));
  EXPECT_EQ(m.late(1), 1u);
}

}  // namespace
}  // namespace xcap::stream
