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

}  // namespace
}  // namespace xcap::sink
