// file_namer: rotation file names (an outside contract) and -G period math.
#include "sink/file/file_namer.h"

#include <gtest/gtest.h>

#include <regex>

namespace xcap::sink {
namespace {

TEST(FileNamer, BaseDropsPcapAndPcapngExtensions) {
  EXPECT_EQ(rotation_base("/data/cap.pcap"), "/data/cap");
  EXPECT_EQ(rotation_base("/data/cap.pcapng"), "/data/cap");
  EXPECT_EQ(rotation_base("/data/cap"), "/data/cap");
  EXPECT_EQ(rotation_base("cap.pcap.gz"), "cap.pcap.gz");
  EXPECT_EQ(rotation_base(".pcap"), ".pcap");  // nothing would be left
}

TEST(FileNamer, UtcStampHasNanoseconds) {
  EXPECT_EQ(utc_stamp(0), "19700101T000000.000000000Z");
  // 2024-03-01T00:00:00Z is 1709251200: one nanosecond-ish before is the leap day.
  EXPECT_EQ(utc_stamp(1'709'251'199'123'456'789ull), "20240229T235959.123456789Z");
  EXPECT_EQ(utc_stamp(1'709'251'200'000'000'001ull), "20240301T000000.000000001Z");
}

TEST(FileNamer, RotationNameMatchesContract) {
  const std::string n = rotation_file_name("/d/cap", 1'709'251'199'123'456'789ull, 7, "pcapng");
  EXPECT_EQ(n, "/d/cap-20240229T235959.123456789Z-000007.pcapng");
  EXPECT_TRUE(std::regex_match(n, std::regex(R"(.*-\d{8}T\d{6}\.\d{9}Z-\d{6}\.pcap(ng)?)")));
  // Past six digits the sequence grows instead of wrapping.
  EXPECT_EQ(rotation_file_name("c", 0, 1234567, "pcap"),
            "c-19700101T000000.000000000Z-1234567.pcap");
}

TEST(FileNamer, PeriodsAreEpochAligned) {
  EXPECT_EQ(period_ns(60), 60'000'000'000ull);
  EXPECT_EQ(period_index(0, 60), 0u);
  EXPECT_EQ(period_index(59'999'999'999ull, 60), 0u);
  EXPECT_EQ(period_index(60'000'000'000ull, 60), 1u);
  // 1709251199.9 s and 1709251200.0 s straddle a 1 s, 10 s and 3600 s boundary.
  for (uint32_t g : {1u, 10u, 3600u}) {
    EXPECT_EQ(period_index(1'709'251'200'000'000'000ull, g),
              period_index(1'709'251'199'900'000'000ull, g) + 1)
        << g;
  }
}

TEST(FileNamer, RingFileNamesParseBackAndOthersDoNot) {
  const std::string name = rotation_file_name("cap", 1'709'251'199'900'000'001ull, 42, "pcapng");
  auto parsed = parse_ring_file_name(name, "cap");
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->seq, 42u);
  EXPECT_EQ(parsed->stamp, utc_stamp(1'709'251'199'900'000'001ull));
  EXPECT_EQ(parse_ring_file_name("cap-20240229T235959.900000001Z-1234567.pcap", "cap")->seq,
            1234567u);
  for (const char* other :
       {"cap-20240229T235959.900000001Z-000042.pcap.part",  // being written
        "cap-eth1-20240229T235959.900000001Z-000042.pcap",  // another base (a source)
        "cap-20240229T235959.900000001Z-000042.1.pcap",     // a numbered alternative
        "cap-20240229T235959.9Z-000042.pcap", "cap.pcap", "cap-x.pcap",
        "cap-20240229T235959.900000001Z-42.pcap",  // seq has 6 digits at least
        "capx-20240229T235959.900000001Z-000042.pcap"})
    EXPECT_FALSE(parse_ring_file_name(other, "cap")) << other;
}

TEST(FileNamer, NumberedNamesKeepTheExtension) {
  EXPECT_EQ(numbered_name("/d/x.pcap", 1), "/d/x.1.pcap");
  EXPECT_EQ(numbered_name("/d/x.pcapng", 12), "/d/x.12.pcapng");
  EXPECT_EQ(numbered_name("/d/x", 2), "/d/x.2");
}

}  // namespace
}  // namespace xcap::sink
