// Several rx queues (one socket and worker each, --queues), and skb (generic) XDP mode.
#include <gtest/gtest.h>

#include <thread>

#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

// veth hands a frame to rx queue (sending CPU % queues); the lab pins xcap-gen to the last core.
uint32_t busy_queue(int queues) {
  return (std::max(1u, std::thread::hardware_concurrency()) - 1) % uint32_t(queues);
}

TEST(Queues, OneSocketPerQueueCapturesAll) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcmq", "198.18.15", 2);
  TempDir dir;
  int port = free_port();
  std::string why;
  auto cap = start_capture(
      lab.cap_if(),
      {"--mode", "span", "-w", dir / "mq.pcap", "--metrics", "127.0.0.1:" + std::to_string(port)},
      &why);
  ASSERT_TRUE(cap) << why;
  EXPECT_NE(cap->err().find("2 queue(s)"), std::string::npos) << cap->err();
  // A paced rate: on a 2-core machine the busy queue's worker shares its core with the sender.
  auto gen = lab.send({"--count", "20000", "--rate", "100000", "--seq", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  // Counters are read at scrape time: scrape until the busy queue has taken every frame.
  const std::string rx = "xcap_rx_packets_total{iface=\"" + lab.cap_if() + "\",queue=\"" +
                         std::to_string(busy_queue(2)) + "\"}";
  Scrape m;
  EXPECT_TRUE(wait_until(
      [&] {
        m = scrape_metrics(port);
        return metric(m, rx).value_or(0) >= 20000u;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(20)))
      << rx << " " << metric(m, rx).value_or(0) << "\n"
      << ::testing::PrintToString(m);
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_GE(stats->captured, 20000u);
  EXPECT_EQ(stats->dropped, 0u) << cap->err();
  EXPECT_EQ(read_pcap(dir / "mq.pcap").records.size(), stats->captured);
}

TEST(Queues, FramesOnAQueueWithoutSocketAreCountedAsKernelDrops) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcmq", "198.18.15", 2);
  uint32_t idle = 1 - busy_queue(2);  // capture only the queue the traffic does not use
  std::string why;
  auto cap =
      start_capture(lab.cap_if(), {"--mode", "span", "--queues", std::to_string(idle), "-v"}, &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--count", "5000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  // Span mode passes frames it has no socket for (the host gets them) and counts them.
  EXPECT_GE(stats->xdp_no_socket, 5000u) << cap->err();
  EXPECT_EQ(stats->kernel, stats->xdp_no_socket);
  EXPECT_EQ(stats->steered(), stats->captured + stats->dropped);
}

TEST(XdpModes, SkbModeCaptures) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcskb", "198.18.16");
  // Generic XDP gives the veth no NAPI of its own: GRO on lets it take the generator's frames.
  ASSERT_EQ(sh("ethtool -K " + lab.cap_if() + " gro on >/dev/null"), 0);
  TempDir dir;
  std::string why;
  auto cap = start_capture(lab.cap_if(),
                           {"--mode", "span", "--xdp-mode", "skb", "-w", dir / "skb.pcap"}, &why);
  ASSERT_TRUE(cap) << why;
  EXPECT_NE(cap->err().find("in skb mode"), std::string::npos) << cap->err();
  auto gen = lab.send({"--count", "2000", "--rate", "100000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_GE(stats->captured, 2000u) << cap->err();
  EXPECT_EQ(read_pcap(dir / "skb.pcap").records.size(), stats->captured);
}

}  // namespace
}  // namespace xcap::test
