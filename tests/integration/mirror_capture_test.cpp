// Mirror mode end to end: a replay that mixes VXLAN-mirrored frames with ordinary traffic.
// xcap must take exactly the VXLAN frames (byte for byte) and leave the rest to the host,
// which keeps answering ping while the capture runs.
#include <gtest/gtest.h>

#include <time.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/frame_builder.h"
#include "common/frame_format.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

struct Replay {
  std::vector<Bytes> all;
  std::vector<Bytes> vxlan;
};

Replay mixed_replay(const MacAddr& dst, int rounds) {
  const MacAddr src{0x02, 0, 0, 0, 0, 0x11};
  Replay r;
  for (int i = 0; i < rounds; i++) {
    uint16_t v = uint16_t(i);
    Bytes vx = FrameBuilder()
                   .eth(dst, src)
                   .ipv4("198.18.0.10", "198.18.0.2")
                   .udp(uint16_t(49152 + i % 1000), 4789)
                   .vxlan(100 + uint32_t(i % 3))
                   .eth()
                   .ipv4("198.18.1.1", "198.18.1.2")
                   .tcp(uint16_t(40000 + i % 500), 443, 0x18, uint32_t(i))
                   .payload(size_t(10 + i % 1200), uint8_t(i))
                   .build();
    r.vxlan.push_back(vx);
    r.all.push_back(vx);
    r.all.push_back(FrameBuilder()
                        .eth(dst, src)
                        .ipv4("198.18.0.10", "198.18.0.2")
                        .udp(5000, 5001)
                        .payload(20 + v % 50)
                        .build());
    r.all.push_back(FrameBuilder()
                        .eth(dst, src)
                        .ipv4("198.18.0.10", "198.18.0.2")
                        .tcp(50000, 22)
                        .payload(40)
                        .build());
    r.all.push_back(FrameBuilder()
                        .eth(dst, src)
                        .ipv4("198.18.0.10", "198.18.0.2")
                        .icmp_echo(7, v)
                        .payload(56)
                        .build());
    // UDP *from* port 4789 is not VXLAN; the XDP program must look at the destination port.
    r.all.push_back(FrameBuilder()
                        .eth(dst, src)
                        .ipv4("198.18.0.10", "198.18.0.2")
                        .udp(4789, 6000)
                        .payload(30)
                        .build());
    r.all.push_back(FrameBuilder()
                        .eth(dst, src)
                        .ipv6("2001:db8::10", "2001:db8::2")
                        .udp(5353, 53)
                        .payload(30)
                        .build());
    r.all.push_back(FrameBuilder()
                        .eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, src, 0x0806)
                        .bytes({0,   1,  8, 0,  6, 4, 0, 1, 2, 0, 0,   0,  0, 0x11,
                                198, 18, 0, 10, 0, 0, 0, 0, 0, 0, 198, 18, 0, 99})
                        .build());
  }
  return r;
}

TEST(MirrorCapture, TakesExactlyTheVxlanFramesWhilePingAnswers) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcmirr", "198.18.11");
  TempDir dir;
  Replay replay = mixed_replay(lab.cap_mac_bytes(), 2000);
  std::string in = dir / "mixed.pcap", out = dir / "mirror.pcap";
  write_pcap(in, replay.all);

  auto wall_ns = [] {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
  };
  const uint64_t t0 = wall_ns();
  std::string why;
  // --decap none: the frames as they arrived (decapsulation has its own test).
  auto cap = start_capture(lab.cap_if(), {"-w", out, "-v", "--decap", "none"}, &why);
  ASSERT_TRUE(cap) << why;

  // Ping the sink through the capture while the replay runs: the host still owns its traffic.
  Subprocess ping(lab.in_ns({"/usr/bin/ping", "-c", "10", "-i", "0.2", "-W", "2", lab.cap_ip()}));
  auto gen = lab.send({"--pcap", in, "--rate", "20000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  EXPECT_EQ(ping.wait(30), 0) << "ping to the sink failed during capture:\n"
                              << ping.out() << ping.err();
  EXPECT_NE(ping.out().find(" 0% packet loss"), std::string::npos) << ping.out();

  cap->signal(SIGTERM);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();
  const uint64_t t1 = wall_ns();
  auto file = read_pcap(out);
  ASSERT_TRUE(file.error.empty()) << file.error;
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->dropped, 0u) << cap->err();
  EXPECT_EQ(stats->captured, file.records.size());

  std::multiset<Bytes> want(replay.vxlan.begin(), replay.vxlan.end()), got;
  for (const auto& r : file.records) {
    EXPECT_EQ(r.caplen, r.len);
    // UTC wall-clock from the XDP timestamp, nanoseconds: inside the capture's run time.
    EXPECT_TRUE(r.ts_ns >= t0 && r.ts_ns <= t1)
        << r.ts_ns << " not in [" << t0 << ", " << t1 << "]";
    got.insert(r.data);
  }
  EXPECT_EQ(file.records.size(), replay.vxlan.size());
  EXPECT_FRAMES_EQ(got, want) << "the capture is not exactly the VXLAN frames of the replay";

  EXPECT_EQ(stats->xdp_redirected, replay.vxlan.size());
  EXPECT_GE(stats->xdp_passed, replay.all.size() - replay.vxlan.size());
}

}  // namespace
}  // namespace xcap::test
