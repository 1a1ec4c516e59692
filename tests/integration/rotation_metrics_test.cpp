// File rings under real traffic (-C/-W and -G) and the Prometheus endpoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <regex>

#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/temp_dir.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace fs = std::filesystem;

namespace xcap::test {
namespace {

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(RotationUnderTraffic, SizeAndCount) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcrot", "198.18.13");
  TempDir dir;
  std::string why;
  auto cap = start_capture(lab.cap_if(),
                           {"--mode", "span", "-w", dir / "ring.pcap", "-C", "1", "-W", "3"}, &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--count", "12000", "--size", "1000", "--rate", "30000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();

  auto names = files_in(dir.path());
  ASSERT_EQ(names.size(), 3u) << "-W 3 keeps the three newest files";
  static const std::regex name_re(R"(ring-\d{8}T\d{6}\.\d{9}Z-\d+\.pcap)");
  // -C 1: a file takes blocks while they fit in 1,000,000 bytes, and a block with -C holds
  // at most a quarter of that or one snaplen record (262,144 + 16 bytes), whichever is more.
  // So a file is never over 1,000,000 bytes, and one that was rotated (all but the newest,
  // which the end of the capture completed) is over 1,000,000 - 262,160.
  constexpr uint64_t kLimit = 1'000'000, kMaxBlock = 262'144 + 16;
  for (size_t i = 0; i < names.size(); i++) {
    const std::string& n = names[i];
    EXPECT_TRUE(std::regex_match(n, name_re)) << n;
    auto f = read_pcap(dir / n);
    EXPECT_TRUE(f.error.empty()) << n << ": " << f.error;
    EXPECT_FALSE(f.records.empty()) << n;
    EXPECT_LE(fs::file_size(dir / n), kLimit) << n;
    if (i + 1 < names.size()) {
      EXPECT_GT(fs::file_size(dir / n), kLimit - kMaxBlock) << n;
    }
  }
  // Sequence numbers in the names go up, so the survivors are the newest.
  EXPECT_LT(names[0], names[2]);
}

TEST(RotationUnderTraffic, AlignedTime) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcrot", "198.18.13");
  TempDir dir;
  std::string why;
  auto cap = start_capture(
      lab.cap_if(), {"--mode", "span", "-w", dir / "t.pcapng", "--format", "pcapng", "-G", "1"},
      &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--count", "6000", "--rate", "2000", "--quiet"});  // ~3 s
  ASSERT_EQ(gen.status, 0) << gen.output;
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  auto names = files_in(dir.path());
  EXPECT_GE(names.size(), 3u);
  uint64_t total = 0;
  for (const auto& n : names) {
    ASSERT_EQ(n.find(".part"), std::string::npos) << n;
    auto f = read_pcap(dir / n);
    ASSERT_TRUE(f.error.empty()) << n << ": " << f.error;
    ASSERT_FALSE(f.records.empty());
    uint64_t second = f.records.front().ts_ns / 1'000'000'000;
    for (const auto& r : f.records)
      EXPECT_EQ(r.ts_ns / 1'000'000'000, second) << n << " holds packets of two seconds";
    total += f.records.size();
  }
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->captured, total);
}

TEST(Metrics, ExposesCountersPerQueueAtScrapeTime) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcmet", "198.18.14");
  int port = free_port();
  std::string why;
  auto cap = start_capture(lab.cap_if(), {"--metrics", "127.0.0.1:" + std::to_string(port)}, &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--template", "vxlan", "--count", "1000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  const std::string ifc = "iface=\"" + lab.cap_if() + "\"", q = ifc + ",queue=\"0\"";
  // Counters are read at scrape time: scrape until the last frame was written.
  Scrape m;
  EXPECT_TRUE(wait_until(
      [&] {
        m = scrape_metrics(port);
        return metric(m, "xcap_captured_packets_total{" + ifc + "}") == 1000u;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(20)));
  ASSERT_FALSE(m.empty()) << "no answer from /metrics";
  EXPECT_EQ(metric(m, "xcap_build_info{version=\"" XCAP_VERSION "\"}"), 1u);
  for (const auto& [series, want] : std::vector<std::pair<std::string, uint64_t>>{
           {"xcap_rx_packets_total{" + q + "}", 1000},
           {"xcap_captured_packets_total{" + ifc + "}", 1000},
           {"xcap_dropped_packets_total{" + q + ",reason=\"xsk_ring_full\"}", 0},
           {"xcap_dropped_packets_total{" + q + ",reason=\"fill_ring_empty\"}", 0},
           {"xcap_dropped_packets_total{" + ifc + ",queue=\"any\",reason=\"xdp_no_socket\"}", 0},
           {"xcap_filter_excluded_packets_total{" + ifc + ",where=\"worker\"}", 0},
           {"xcap_xdp_verdicts_total{" + ifc + ",verdict=\"redirect\"}", 1000},
           {"xcap_xdp_classified_packets_total{" + ifc + ",kind=\"vxlan\"}", 1000}})
    EXPECT_EQ(metric(m, series), want) << series << "\n" << ::testing::PrintToString(m);
  // veth has no zero-copy: the socket fell back to copy mode and says so, in the metric and in
  // the start line, which also says whether frames arrive whole (multi-buffer).
  const bool multi_buffer = cap->err().find("AF_XDP copy, multi-buffer") != std::string::npos;
  EXPECT_NE(cap->err().find("AF_XDP copy"), std::string::npos) << cap->err();
  for (const char* mode : {"copy", "zero-copy"})
    for (const bool mb : {true, false}) {
      const std::string series = "xcap_socket_info{" + q + ",mode=\"" + mode +
                                 "\",multi_buffer=\"" + (mb ? "true" : "false") + "\"}";
      const bool expected = std::string(mode) == "copy" && mb == multi_buffer;
      EXPECT_EQ(metric(m, series), expected ? std::optional<uint64_t>(1) : std::nullopt)
          << series << "\n"
          << ::testing::PrintToString(m);
    }
  cap->signal(SIGINT);
  EXPECT_EQ(cap->wait(30), 0) << cap->err();
}

TEST(Metrics, CountsPacketsPerMirrorSource) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcmetsrc", "198.18.87");
  TempDir dir;
  const int port = free_port();
  std::string why;
  // pcapng: decapsulation names each mirror source (an interface per source in the file).
  auto cap = start_capture(lab.cap_if(),
                           {"-w", dir / "s.pcapng", "--format", "pcapng", "--metrics",
                            "127.0.0.1:" + std::to_string(port)},
                           &why);
  ASSERT_TRUE(cap) << why;
  for (const char* vni : {"100", "200"}) {
    auto gen = lab.send({"--template", "vxlan", "--vni", vni, "--count", "700", "--quiet"});
    ASSERT_EQ(gen.status, 0) << gen.output;
  }
  const std::string ifc = "iface=\"" + lab.cap_if() + "\"";
  Scrape m;
  EXPECT_TRUE(wait_until(
      [&] {
        m = scrape_metrics(port);
        return metric(m, "xcap_captured_packets_total{" + ifc + "}") == 1400u;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(20)));
  std::map<std::string, uint64_t> per_source;
  for (const auto& [series, v] : m)
    if (series.rfind("xcap_source_packets_total{", 0) == 0) per_source[series] = uint64_t(v);
  ASSERT_EQ(per_source.size(), 2u) << ::testing::PrintToString(m);
  for (const auto& [series, n] : per_source) {
    EXPECT_EQ(n, 700u) << series;
    EXPECT_TRUE(series.find("vni100") != std::string::npos ||
                series.find("vni200") != std::string::npos)
        << series;
  }
  cap->signal(SIGINT);
  EXPECT_EQ(cap->wait(30), 0) << cap->err();
}

}  // namespace
}  // namespace xcap::test
