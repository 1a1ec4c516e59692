// File rings under real traffic (-C/-W and -G) and the Prometheus endpoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <regex>

#include "common/lab.h"
#include "common/pcap_file.h"
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
  for (const auto& n : names) {
    EXPECT_TRUE(std::regex_match(n, name_re)) << n;
    auto f = read_pcap(dir / n);
    EXPECT_TRUE(f.error.empty()) << n << ": " << f.error;
    EXPECT_FALSE(f.records.empty()) << n;
    EXPECT_LT(fs::file_size(dir / n), 3'000'000u) << n;
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
  auto stats = parse_stats_line(cap->err());
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
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string body = http_get(port, "/metrics");
  ASSERT_FALSE(body.empty());
  const std::string q = "iface=\"" + lab.cap_if() + "\",queue=\"0\"";
  for (const std::string& want : std::vector<std::string>{
           "xcap_build_info{version=", "xcap_rx_packets_total{" + q + "} 1000",
           "xcap_captured_packets_total{iface=\"" + lab.cap_if() + "\"} 1000",
           "xcap_dropped_packets_total{" + q + ",reason=\"xsk_ring_full\"} 0",
           "xcap_dropped_packets_total{" + q + ",reason=\"fill_ring_empty\"} 0",
           "reason=\"xdp_no_socket\"", "xcap_filter_excluded_packets_total",
           "xcap_xdp_verdicts_total{iface=\"" + lab.cap_if() + "\",verdict=\"redirect\"} 1000",
           "xcap_xdp_classified_packets_total{iface=\"" + lab.cap_if() + "\",kind=\"vxlan\"} 1000"})
    EXPECT_NE(body.find(want), std::string::npos) << "missing: " << want << "\n" << body;
  cap->signal(SIGINT);
  EXPECT_EQ(cap->wait(30), 0) << cap->err();
}

}  // namespace
}  // namespace xcap::test
