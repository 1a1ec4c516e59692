// Filters end to end: a VXLAN-mirrored replay filtered with a compound tcpdump expression
// yields exactly the inner frames that tcpdump itself selects from the inner packets.
#include <gtest/gtest.h>

#include <set>

#include "common/frame_builder.h"
#include "common/frame_format.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

std::vector<Bytes> varied_inner_frames(int n) {
  std::vector<Bytes> out;
  const char* hosts[] = {"198.19.1.1", "198.19.1.2", "198.19.1.3", "198.19.2.9"};
  const uint16_t ports[] = {443, 8443, 80, 53, 22, 5000};
  for (int i = 0; i < n; i++) {
    FrameBuilder b;
    b.eth({0x02, 0xaa, 0, 0, 0, 1}, {0x02, 0xbb, 0, 0, 0, 2});
    if (i % 11 == 0) b.vlan(uint16_t(100 + i % 3));
    if (i % 7 == 0)
      b.ipv6("2001:db8:1::" + std::to_string(1 + i % 4), "2001:db8:2::1");
    else
      b.ipv4(hosts[i % 4], hosts[(i / 4) % 4]);
    const uint16_t sport = uint16_t(30000 + i % 13), dport = ports[(i / 3) % 6];
    if (i % 5 == 0)
      b.udp(sport, dport);
    else if (i % 17 == 0)
      b.icmp_echo(1, uint16_t(i));
    else
      b.tcp(sport, dport, uint8_t(i % 3 == 0 ? 0x02 : 0x18), uint32_t(i));
    out.push_back(b.payload(size_t(i % 700), uint8_t(i)).build());
  }
  return out;
}

TEST(FilterCapture, MirroredReplaySelectsWhatTcpdumpSelects) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcflt", "198.18.18");
  TempDir dir;
  const std::string expr =
      "(tcp and (port 443 or port 8443) and not host 198.19.1.3) or (udp port 53) or "
      "(ip6 and tcp[tcpflags] & tcp-syn != 0)";
  std::vector<Bytes> inner = varied_inner_frames(4000), replay;
  const MacAddr dst = lab.cap_mac_bytes();
  for (size_t i = 0; i < inner.size(); i++)
    replay.push_back(FrameBuilder()
                         .eth(dst, {0x02, 0, 0, 0, 0, 0x10})
                         .ipv4("198.18.0.10", "198.18.0.2")
                         .udp(uint16_t(50000 + i % 64), 4789)
                         .vxlan(100)
                         .bytes(inner[i])
                         .build());
  const std::string inner_pcap = dir / "inner.pcap", want_pcap = dir / "want.pcap",
                    in = dir / "mirrored.pcap", out = dir / "got.pcap";
  write_pcap(inner_pcap, inner);
  write_pcap(in, replay);
  // The reference: tcpdump's own selection from the inner packets.
  auto td = run({"/usr/bin/tcpdump", "-r", inner_pcap, "-w", want_pcap, expr}, 60);
  ASSERT_EQ(td.status, 0) << td.output;
  auto want_records = read_pcap_records(want_pcap);
  ASSERT_GT(want_records.size(), 100u);
  ASSERT_LT(want_records.size(), inner.size() / 2);

  std::string why;
  const int port = free_port();
  auto cap = start_capture(
      lab.cap_if(), {"-w", out, "-f", expr, "-v", "--metrics", "127.0.0.1:" + std::to_string(port)},
      &why);
  ASSERT_TRUE(cap) << why;
  // VXLAN inner frames are decided in the XDP program already.
  EXPECT_NE(cap->err().find("runs in XDP"), std::string::npos) << cap->err();
  auto gen = lab.send({"--pcap", in, "--rate", "50000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  // Counters are read at scrape time: scrape until every frame is captured or excluded, then
  // the two places that exclude must account for all the excluded ones.
  const std::string ifc = "iface=\"" + lab.cap_if() + "\"";
  const std::string captured = "xcap_captured_packets_total{" + ifc + "}",
                    xdp = "xcap_filter_excluded_packets_total{" + ifc + ",where=\"xdp\"}",
                    worker = "xcap_filter_excluded_packets_total{" + ifc + ",where=\"worker\"}";
  Scrape m;
  EXPECT_TRUE(wait_until(
      [&] {
        m = scrape_metrics(port);
        return metric(m, captured).value_or(0) + metric(m, xdp).value_or(0) +
                   metric(m, worker).value_or(0) ==
               inner.size();
      },
      std::chrono::seconds(10), std::chrono::milliseconds(20)))
      << ::testing::PrintToString(m);
  ASSERT_TRUE(metric(m, xdp)) << ::testing::PrintToString(m);
  ASSERT_TRUE(metric(m, worker)) << ::testing::PrintToString(m);
  const uint64_t at_xdp = *metric(m, xdp), at_worker = *metric(m, worker);
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();

  std::multiset<Bytes> want, got;
  for (const auto& r : want_records) want.insert(r.data);
  for (const auto& r : read_pcap_records(out)) got.insert(r.data);
  EXPECT_FRAMES_EQ(got, want) << "xcap's selection differs from tcpdump's";
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->captured, want.size());
  EXPECT_EQ(stats->filter_excluded, inner.size() - want.size()) << cap->err();
  EXPECT_EQ(at_xdp + at_worker, stats->filter_excluded);
  EXPECT_GT(at_xdp, 0u);
  EXPECT_EQ(stats->steered(), stats->captured + stats->dropped) << cap->err();
  std::cout << "filter: " << want.size() << " of " << inner.size() << " selected; excluded "
            << at_xdp << " in XDP (" << 100.0 * double(at_xdp) / double(inner.size())
            << "% of the mirrored frames), " << at_worker << " in the workers\n";
}

}  // namespace
}  // namespace xcap::test
