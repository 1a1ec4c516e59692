// Frames in a form a person can read when a test fails, as Katran's PacketBuilder prints them:
// each header field by field (Ethernet, VLAN, IPv4, IPv6, UDP, TCP, ICMP, VXLAN, GENEVE, GRE,
// ERSPAN), then a hex dump of what is left. Used by the assertions below in place of gtest's
// dump of a byte vector.
//
//   EXPECT_FRAME_EQ(Bytes(r.data, r.data + r.caplen), inner);
//   EXPECT_FRAMES_EQ(got, want);  // two std::multiset<Bytes>: the first differences, readable
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace xcap::test {

// Ip: IPv4 or IPv6 by the version nibble. Guess: Ethernet when bytes 12-13 are an ethertype
// it knows, else IP when the first nibble is 4 or 6 (bare IP inner frames), else Ethernet.
enum class FrameStart { Guess, Ethernet, Ip };

// One line per header, fields named, offsets from the frame's start; the bytes after the last
// header it understands (payload, or a header cut short) as a hex dump.
std::string describe_frame(std::span<const uint8_t> frame, FrameStart start = FrameStart::Guess);

// For EXPECT_PRED_FORMAT2: equal bytes, or both frames described and the first differing offset.
::testing::AssertionResult SameFrame(const char* got_expr, const char* want_expr,
                                     std::span<const uint8_t> got, std::span<const uint8_t> want);

// For EXPECT_PRED_FORMAT2: the same frames as many times each, or the counts and the first
// kShown frames only one side holds, described.
::testing::AssertionResult SameFrames(const char* got_expr, const char* want_expr,
                                      const std::multiset<std::vector<uint8_t>>& got,
                                      const std::multiset<std::vector<uint8_t>>& want);

}  // namespace xcap::test

#define EXPECT_FRAME_EQ(got, want) EXPECT_PRED_FORMAT2(::xcap::test::SameFrame, got, want)
#define ASSERT_FRAME_EQ(got, want) ASSERT_PRED_FORMAT2(::xcap::test::SameFrame, got, want)
#define EXPECT_FRAMES_EQ(got, want) EXPECT_PRED_FORMAT2(::xcap::test::SameFrames, got, want)
