// parse_capture_request: GET /capture's query, decoded and checked; each mistake names the
// parameter on one line.
#include "sink/fanout/capture_request.h"

#include <gtest/gtest.h>

namespace xcap::sink::fanout {
namespace {

constexpr uint32_t kMax = 262144;

TEST(CaptureRequest, NothingMeansEverythingAsPcapng) {
  auto r = parse_capture_request("", kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->filter, "");
  EXPECT_EQ(r->program, nullptr);
  EXPECT_EQ(r->snaplen, kMax);
  EXPECT_EQ(r->count, 0u);
  EXPECT_EQ(r->duration.count(), 0);
  EXPECT_TRUE(r->pcapng);
}

TEST(CaptureRequest, EveryParameter) {
  auto r = parse_capture_request(
      "filter=udp+port%2053&snaplen=96&count=10&duration=1.5&format=pcap", kMax);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->filter, "udp port 53");
  ASSERT_NE(r->program, nullptr);
  EXPECT_EQ(r->program->expression(), "udp port 53");
  EXPECT_EQ(r->snaplen, 96u);
  EXPECT_EQ(r->count, 10u);
  EXPECT_EQ(r->duration.count(), 1500);
  EXPECT_FALSE(r->pcapng);
  EXPECT_EQ(parse_capture_request("snaplen=0", kMax)->snaplen, kMax);  // tcpdump -s 0
  EXPECT_EQ(parse_capture_request("filter=", kMax)->program, nullptr);
  EXPECT_TRUE(parse_capture_request("format=pcapng&&count=1&", kMax).ok());
}

TEST(CaptureRequest, MistakesNameTheParameter) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"count=x", "count: \"x\" is not a whole number"},
      {"count=", "count: \"\" is not a whole number"},
      {"count=99999999999999999999999", "count"},
      {"snaplen=262145", "snaplen: 262145 is out of range (0-262144"},
      {"snaplen=-5", "snaplen"},
      {"duration=0", "duration"},
      {"duration=nan", "duration"},
      {"duration=1e9", "duration"},
      {"format=PCAP", "format: \"PCAP\" is not pcapng or pcap"},
      {"filter=tcp+port+bogus", "filter: invalid filter \"tcp port bogus\""},
      {"filter=%", "filter: bad %-escape"},
      {"filter=%4", "filter: bad %-escape"},
      {"%ZZ=1", "parameter name: bad %-escape"},
      {"Filter=udp", "unknown parameter \"Filter\""},
      {"x%0a=1", "unknown parameter \"x\\x0a\""},  // no line break reaches the client
      {"count=1&count=1", "parameter \"count\" given twice"},
      {"filter=" + std::string(8193, 'a'), "filter: the expression is 8193 bytes"},
  };
  for (const auto& [query, want] : cases) {
    auto r = parse_capture_request(query, kMax);
    ASSERT_FALSE(r.ok()) << query;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidInput);
    EXPECT_NE(r.error().message.find(want), std::string::npos)
        << query.substr(0, 60) << ": " << r.error().message;
    EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace xcap::sink::fanout
