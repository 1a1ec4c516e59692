// PcapngStreamReader: blocks come out the same however the bytes are cut; malformed or
// truncated input gives an error or waits for more, never a crash or a wrong block.
#include "stream/pcapng_stream_reader.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/frame_builder.h"
#include "sink/file/pcap_format.h"

namespace xcap::stream {
namespace {

using Bytes = std::vector<uint8_t>;

void append_packet(Bytes& out, uint32_t iface, uint64_t ts, const Bytes& frame) {
  PacketView v;
  v.data = frame.data();
  v.caplen = v.wire_len = static_cast<uint32_t>(frame.size());
  v.ts_ns = ts;
  v.iface_id = iface;
  const size_t at = out.size();
  out.resize(at + sink::pcapng_record_bytes(v.caplen));
  sink::encode_pcapng_record(out.data() + at, v, {v.caplen, v.wire_len + 10});
}

// SHB, IDB eth0, 5 packets, an ISB with a comment, a second IDB, 3 packets on it, an ISB.
Bytes sample_stream() {
  Bytes s = sink::pcapng_section_header();
  sink::append_pcapng_interface(s, "eth0", 65535, 1);
  for (int i = 0; i < 5; i++)
    append_packet(
        s, 0, 1'000 + i,
        FrameBuilder().eth().ipv4("198.18.0.1", "198.18.0.2").udp(1, 2).payload(i).build());
  sink::InterfaceStatistics st;
  st.ifrecv = 7, st.osdrop = 2;
  sink::append_pcapng_statistics(s, 0, 2'000, st, "congested: full");
  sink::append_pcapng_interface(s, "vxlan-198.18.9.9", 1500, 101);
  for (int i = 0; i < 3; i++)
    append_packet(s, 1, 3'000 + i,
                  FrameBuilder().ipv6("2001:db8::1", "2001:db8::2").udp(3, 4).build(false));
  sink::append_pcapng_statistics(s, 1, 4'000, {}, "");
  return s;
}

// A block as comparable text.
std::string describe(const StreamBlock& b) {
  if (std::holds_alternative<SectionBlock>(b)) return "SHB";
  if (auto* i = std::get_if<InterfaceBlock>(&b))
    return "IDB " + std::to_string(i->id) + " " + i->name + " " + std::to_string(i->link_type) +
           " " + std::to_string(i->snaplen);
  if (auto* p = std::get_if<PacketBlock>(&b))
    return "EPB " + std::to_string(p->iface) + " " + std::to_string(p->ts_ns) + " " +
           std::to_string(p->caplen) + " " + std::to_string(p->origlen) + " " +
           std::string(reinterpret_cast<const char*>(p->data), p->caplen);
  if (auto* s = std::get_if<StatisticsBlock>(&b))
    return "ISB " + std::to_string(s->iface) + " " + std::to_string(s->ts_ns) + " " + s->comment +
           " " + std::to_string(s->counters.ifrecv.value_or(99)) + " " +
           std::to_string(s->counters.osdrop.value_or(99));
  return "other " + std::to_string(std::get<OtherBlock>(b).type);
}

// Feeds pieces; returns the blocks described, or "ERROR: ..." as the last entry.
std::vector<std::string> read_all(PcapngStreamReader& r, const Bytes& s,
                                  const std::vector<size_t>& cuts) {
  std::vector<std::string> out;
  size_t at = 0;
  std::vector<size_t> ends = cuts;
  ends.push_back(s.size());
  for (size_t end : ends) {
    r.feed(s.data() + at, end - at);
    at = end;
    while (auto b = r.next()) {
      if (!*b) {
        out.push_back("ERROR: " + b->error().message);
        return out;
      }
      out.push_back(describe(**b));
    }
  }
  return out;
}

TEST(PcapngStreamReader, ReadsEveryBlock) {
  PcapngStreamReader r;
  const auto blocks = read_all(r, sample_stream(), {});
  ASSERT_EQ(blocks.size(), 13u);
  EXPECT_EQ(blocks[0], "SHB");
  EXPECT_EQ(blocks[1], "IDB 0 eth0 1 65535");
  EXPECT_EQ(blocks[2].substr(0, 18), "EPB 0 1000 60 70 \x02");
  EXPECT_EQ(blocks[7], "ISB 0 2000 congested: full 7 2");
  EXPECT_EQ(blocks[8], "IDB 1 vxlan-198.18.9.9 101 1500");
  EXPECT_EQ(blocks[12], "ISB 1 4000  99 99");
  EXPECT_EQ(r.pending(), 0u);
}

TEST(PcapngStreamReader, SameBlocksWhereverTheStreamIsCut) {
  const Bytes s = sample_stream();
  PcapngStreamReader whole;
  const auto expected = read_all(whole, s, {});
  for (size_t cut = 0; cut <= s.size(); cut++) {
    PcapngStreamReader r;
    ASSERT_EQ(read_all(r, s, {cut}), expected) << "cut at " << cut;
  }
  std::vector<size_t> every_byte;
  for (size_t i = 1; i < s.size(); i++) every_byte.push_back(i);
  PcapngStreamReader r;
  EXPECT_EQ(read_all(r, s, every_byte), expected);
}

TEST(PcapngStreamReader, TruncatedStreamWaitsForMore) {
  const Bytes s = sample_stream();
  PcapngStreamReader whole;
  const auto expected = read_all(whole, s, {});
  for (size_t len = 0; len < s.size(); len++) {
    PcapngStreamReader r;
    const auto got = read_all(r, Bytes(s.begin(), s.begin() + len), {});
    ASSERT_LT(got.size(), expected.size());
    EXPECT_TRUE(std::equal(got.begin(), got.end(), expected.begin())) << len;
    EXPECT_LE(r.pending(), len);
  }
}

TEST(PcapngStreamReader, ReadsTheOtherByteOrder) {
  // A big-endian SHB, IDB (tsresol 6: microseconds) and EPB, written by hand.
  auto be32 = [](Bytes& b, uint32_t v) {
    for (int s : {24, 16, 8, 0}) b.push_back(uint8_t(v >> s));
  };
  Bytes s;
  for (uint32_t v : {0x0A0D0D0Au, 28u, 0x1A2B3C4Du, 0x00010000u, 0xffffffffu, 0xffffffffu, 28u})
    be32(s, v);
  for (uint32_t v : {1u, 20u, 0x00010000u, 96u, 20u}) be32(s, v);
  for (uint32_t v : {6u, 36u, 0u, 0u, 1'500'000u, 4u, 4u, 0xdeadbeefu, 36u}) be32(s, v);
  PcapngStreamReader r;
  const auto blocks = read_all(r, s, {});
  ASSERT_EQ(blocks.size(), 3u) << (blocks.empty() ? "" : blocks.back());
  EXPECT_EQ(blocks[1], "IDB 0  1 96");
  EXPECT_EQ(blocks[2], "EPB 0 1500000000 4 4 \xde\xad\xbe\xef");  // 1.5 s in microseconds
}

TEST(PcapngStreamReader, RefusesMalformedInput) {
  const Bytes good = sample_stream();
  auto first_error = [](const Bytes& s) {
    PcapngStreamReader r;
    auto got = read_all(r, s, {});
    return got.empty() ? std::string() : got.back();
  };
  EXPECT_NE(first_error(Bytes(40, 0x5a)).find("not a pcapng stream"), std::string::npos);
  auto u32 = [&](size_t at) {
    uint32_t v;
    std::memcpy(&v, good.data() + at, 4);
    return v;
  };
  const size_t idb = u32(4), epb = idb + u32(idb + 4), epb_len = u32(epb + 4);
  Bytes bad_len = good;
  bad_len[idb + 4] = 13;  // the IDB's length: not a multiple of 4
  EXPECT_NE(first_error(bad_len).find("bad length 13"), std::string::npos);
  Bytes unknown_iface = good;
  unknown_iface[epb + 8] = 7;
  EXPECT_NE(first_error(unknown_iface).find("interface 7, which was not described"),
            std::string::npos);
  Bytes long_caplen = good;
  long_caplen[epb + 22] = 0x10;  // caplen 1 MiB + 60 in a 96-byte block
  EXPECT_NE(first_error(long_caplen).find("captured bytes in a block of"), std::string::npos);
  Bytes trailing = good;
  trailing[epb + epb_len - 4] ^= 1;  // the EPB's trailing length
  EXPECT_NE(first_error(trailing).find("trailing length"), std::string::npos);
  Bytes huge = good;
  huge[epb + 7] = 0x40;  // 1 GiB: refused before waiting for it
  EXPECT_NE(first_error(huge).find("bad length"), std::string::npos);
}

TEST(PcapngStreamReader, RandomGarbageNeverCrashes) {
  std::mt19937 rng(42);
  const Bytes good = sample_stream();
  for (int round = 0; round < 3000; round++) {
    Bytes s = good;
    const int flips = 1 + int(rng() % 8);
    for (int i = 0; i < flips; i++) s[rng() % s.size()] = uint8_t(rng());
    s.resize(rng() % (s.size() + 1));
    if (round % 3 == 0) {  // or plain noise after a valid section header
      s = Bytes(good.begin(), good.begin() + 28);
      for (int i = 0; i < 200; i++) s.push_back(uint8_t(rng()));
    }
    PcapngStreamReader r;
    std::vector<size_t> cuts;
    for (size_t c = rng() % 50; c < s.size(); c += 1 + rng() % 50) cuts.push_back(c);
    const auto got = read_all(r, s, cuts);
    if (!got.empty() && got.back().rfind("ERROR", 0) == 0) {
      const auto again = r.next();  // an error stays
      ASSERT_TRUE(again && !*again);
    }
  }
}

}  // namespace
}  // namespace xcap::stream
