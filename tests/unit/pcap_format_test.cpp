// pcap_format: record encoders and file headers, checked byte by byte and by reading them back
// with libpcap from memory.
#include "sink/file/pcap_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "common/pcap_file.h"

namespace xcap::sink {
namespace {

uint32_t u32_at(const std::vector<uint8_t>& b, size_t off) {
  uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}
uint16_t u16_at(const std::vector<uint8_t>& b, size_t off) {
  uint16_t v;
  std::memcpy(&v, b.data() + off, 2);
  return v;
}

std::vector<uint8_t> payload(size_t n, uint8_t seed) {
  std::vector<uint8_t> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = static_cast<uint8_t>(seed + i * 7);
  return d;
}

TEST(PcapFormat, PcapHeaderIsNanosecondVersion24) {
  auto h = pcap_file_header(1500, 1);
  ASSERT_EQ(h.size(), 24u);
  EXPECT_EQ(u32_at(h, 0), 0xa1b23c4du);
  EXPECT_EQ(u16_at(h, 4), 2);
  EXPECT_EQ(u16_at(h, 6), 4);
  EXPECT_EQ(u32_at(h, 16), 1500u);
  EXPECT_EQ(u32_at(h, 20), 1u);
}

TEST(PcapFormat, RecordLengthsCutToSnaplenAndKeepWireLength) {
  PacketView p;
  p.caplen = 2000;
  p.wire_len = 9000;
  auto l = record_lengths(p, 1500);
  EXPECT_EQ(l.caplen, 1500u);
  EXPECT_EQ(l.origlen, 9000u);
  p.wire_len = 10;  // a broken source: the original length never drops below caplen
  l = record_lengths(p, 65535);
  EXPECT_EQ(l.caplen, 2000u);
  EXPECT_EQ(l.origlen, 2000u);
}

TEST(PcapFormat, PcapRecordBytes) {
  auto data = payload(100, 1);
  PacketView p{data.data(), 100, 300, 1'700'000'000'123'456'789ull};
  std::vector<uint8_t> rec(pcap_record_bytes(60), 0xee);
  ASSERT_EQ(encode_pcap_record(rec.data(), p, record_lengths(p, 60)), 76u);
  EXPECT_EQ(u32_at(rec, 0), 1'700'000'000u);
  EXPECT_EQ(u32_at(rec, 4), 123'456'789u);
  EXPECT_EQ(u32_at(rec, 8), 60u);
  EXPECT_EQ(u32_at(rec, 12), 300u);
  EXPECT_EQ(0, std::memcmp(rec.data() + 16, data.data(), 60));
}

TEST(PcapFormat, PcapngHeaderBlocks) {
  auto h = pcapng_file_header("eth7", 4096, 1);
  ASSERT_EQ(h.size() % 4, 0u);
  EXPECT_EQ(u32_at(h, 0), kPcapngShbType);
  const uint32_t shb_len = u32_at(h, 4);
  EXPECT_EQ(u32_at(h, 8), kPcapngByteOrderMagic);
  EXPECT_EQ(u32_at(h, shb_len - 4), shb_len);  // trailing length matches
  const size_t idb = shb_len;
  EXPECT_EQ(u32_at(h, idb), kPcapngIdbType);
  const uint32_t idb_len = u32_at(h, idb + 4);
  EXPECT_EQ(idb + idb_len, h.size());
  EXPECT_EQ(u32_at(h, idb + idb_len - 4), idb_len);
  EXPECT_EQ(u16_at(h, idb + 8), 1);       // link type
  EXPECT_EQ(u32_at(h, idb + 12), 4096u);  // snaplen
  // Options: if_name "eth7", then if_tsresol = 9, then end.
  EXPECT_EQ(u16_at(h, idb + 16), 2);
  EXPECT_EQ(u16_at(h, idb + 18), 4);
  EXPECT_EQ(0, std::memcmp(h.data() + idb + 20, "eth7", 4));
  EXPECT_EQ(u16_at(h, idb + 24), 9);
  EXPECT_EQ(u16_at(h, idb + 26), 1);
  EXPECT_EQ(h[idb + 28], 9);
  EXPECT_EQ(u16_at(h, idb + 32), 0);
}

TEST(PcapFormat, PcapngEpbIsPaddedWithZeroesAndCarriesNanoseconds) {
  auto data = payload(61, 3);
  const uint64_t ts = 0x0000'0001'2345'6789ull * 1000 + 7;
  PacketView p{data.data(), 61, 70, ts, 0, 0};
  std::vector<uint8_t> rec(pcapng_record_bytes(61), 0xee);
  ASSERT_EQ(rec.size(), 32u + 64u);
  ASSERT_EQ(encode_pcapng_record(rec.data(), p, record_lengths(p, 65535)), rec.size());
  EXPECT_EQ(u32_at(rec, 0), kPcapngEpbType);
  EXPECT_EQ(u32_at(rec, 4), rec.size());
  EXPECT_EQ(u32_at(rec, 8), 0u);  // interface id
  EXPECT_EQ((uint64_t(u32_at(rec, 12)) << 32) | u32_at(rec, 16), ts);
  EXPECT_EQ(u32_at(rec, 20), 61u);
  EXPECT_EQ(u32_at(rec, 24), 70u);
  EXPECT_EQ(0, std::memcmp(rec.data() + 28, data.data(), 61));
  for (size_t i = 28 + 61; i < 28 + 64; ++i) EXPECT_EQ(rec[i], 0) << i;
  EXPECT_EQ(u32_at(rec, rec.size() - 4), rec.size());
}

// Both formats, many lengths (0, unaligned, cut by snaplen): libpcap must read back exactly
// what was encoded.
class PcapFormatRoundTrip : public ::testing::TestWithParam<bool> {};

TEST_P(PcapFormatRoundTrip, LibpcapReadsBackBytesLengthsAndTimestamps) {
  const bool ng = GetParam();
  const uint32_t snaplen = 128;
  std::vector<uint8_t> file =
      ng ? pcapng_file_header("veth0", snaplen, 1) : pcap_file_header(snaplen, 1);
  std::vector<test::PcapRecord> want;
  uint64_t ts = 1'600'000'000'999'999'990ull;
  for (uint32_t n : {0u, 1u, 3u, 4u, 5u, 60u, 127u, 128u, 129u, 1500u}) {
    auto data = payload(n, static_cast<uint8_t>(n));
    PacketView p{data.data(), n, n + 14, ts, 0, 0};
    const auto len = record_lengths(p, snaplen);
    const size_t at = file.size();
    file.resize(at + (ng ? pcapng_record_bytes(len.caplen) : pcap_record_bytes(len.caplen)));
    const size_t wrote = ng ? encode_pcapng_record(file.data() + at, p, len)
                            : encode_pcap_record(file.data() + at, p, len);
    ASSERT_EQ(at + wrote, file.size());
    want.push_back({ts, len.caplen, n + 14, {data.begin(), data.begin() + len.caplen}});
    ts += 3;  // crosses a second boundary
  }
  const test::PcapContents read = test::read_pcap_bytes(file);
  ASSERT_EQ(read.error, "");
  const auto& got = read.records;
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(got[i].ts_ns, want[i].ts_ns) << i;
    EXPECT_EQ(got[i].caplen, want[i].caplen) << i;
    EXPECT_EQ(got[i].len, want[i].len) << i;
    EXPECT_EQ(got[i].data, want[i].data) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, PcapFormatRoundTrip, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Pcapng" : "Pcap"; });

}  // namespace
}  // namespace xcap::sink
