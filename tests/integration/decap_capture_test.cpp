// Decapsulation end to end (mirror mode, --decap auto by default): a replay of VXLAN-mirrored
// traffic from three sources comes out as exactly the inner frames, one pcapng interface per
// source; a mirrored TCP flow cut at 200 bytes comes out with its true lengths, so Wireshark's
// TCP analysis sees no lost segments.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>

#include "common/capture_readers.h"
#include "common/frame_builder.h"
#include "common/frame_format.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

struct Source {
  std::string outer_ip;
  uint32_t vni;
};
const Source kSources[] = {{"198.18.0.10", 100}, {"198.18.0.11", 200}, {"2001:db8::12", 300}};

Bytes wrap_vxlan(const MacAddr& dst, const Source& s, const Bytes& inner, uint16_t sport) {
  FrameBuilder b;
  b.eth(dst, {0x02, 0, 0, 0, 0, 0x10});
  if (s.outer_ip.find(':') != std::string::npos)
    b.ipv6(s.outer_ip, "2001:db8::2");
  else
    b.ipv4(s.outer_ip, "198.18.0.2");
  return b.udp(sport, 4789).vxlan(s.vni).bytes(inner).build();
}

// 3000 VXLAN-mirrored frames, a third from each source, mixed with traffic that is not mirror
// traffic. inner[k] holds source k's inner frames.
struct ThreeSources {
  std::vector<Bytes> replay;
  std::vector<Bytes> inner[3];
};

ThreeSources three_source_replay(const MacAddr& dst) {
  ThreeSources t;
  for (int i = 0; i < 3000; i++) {
    const Source& s = kSources[i % 3];
    Bytes inner = FrameBuilder()
                      .eth({0x02, 0xaa, 0, 0, 0, uint8_t(i % 3)}, {0x02, 0xbb, 0, 0, 0, 1})
                      .ipv4("198.19.1." + std::to_string(1 + i % 3), "198.19.2.1")
                      .tcp(uint16_t(30000 + i % 7), 443, 0x18, uint32_t(i) * 100)
                      .payload(size_t(i % 900), uint8_t(i))
                      .build();
    t.inner[i % 3].push_back(inner);
    t.replay.push_back(wrap_vxlan(dst, s, inner, uint16_t(50000 + i % 100)));
    // Not mirror traffic: passed to the host, never captured.
    t.replay.push_back(FrameBuilder()
                           .eth(dst, {0x02, 0, 0, 0, 0, 0x10})
                           .ipv4("198.18.0.10", "198.18.0.2")
                           .udp(5000, 5001)
                           .payload(32)
                           .build());
  }
  return t;
}

TEST(DecapCapture, ThreeVxlanSourcesGiveTheInnerFramesAndThreeInterfaces) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcdec", "198.18.17");
  TempDir dir;
  ThreeSources t = three_source_replay(lab.cap_mac_bytes());
  std::vector<Bytes> replay = t.replay, inner_frames;
  for (const auto& v : t.inner) inner_frames.insert(inner_frames.end(), v.begin(), v.end());
  std::string in = dir / "mirrored.pcap", out = dir / "inner.pcapng";
  write_pcap(in, replay);

  auto cap = capture_replay(lab, {"-w", out, "--format", "pcapng"}, in);
  ASSERT_EQ(cap.why, "");
  EXPECT_NE(cap.err.find("decap auto"), std::string::npos) << cap.err;
  EXPECT_EQ(cap.stats->dropped, 0u) << cap.err;

  // Byte for byte, as a multiset: the inner frames and nothing else.
  auto records = read_pcap_records(out);
  std::multiset<Bytes> want(inner_frames.begin(), inner_frames.end()), got;
  for (const auto& r : records) got.insert(r.data);
  EXPECT_EQ(records.size(), inner_frames.size());
  EXPECT_FRAMES_EQ(got, want) << "the capture is not exactly the inner frames";

  // One interface per source, named after it, each holding that source's frames.
  std::map<std::string, int> per_iface;
  for (const auto& line : tshark({"-r", out, "-T", "fields", "-e", "frame.interface_name"}))
    per_iface[line]++;
  std::map<std::string, int> expected{{"vxlan:198.18.0.10:vni100", 1000},
                                      {"vxlan:198.18.0.11:vni200", 1000},
                                      {"vxlan:2001:db8::12:vni300", 1000}};
  EXPECT_EQ(per_iface, expected);
}

TEST(DecapCapture, SplitBySourceWritesOnePcapPerSource) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcdec", "198.18.17");
  TempDir dir;
  ThreeSources t = three_source_replay(lab.cap_mac_bytes());
  std::string in = dir / "mirrored.pcap", outdir = dir / "out";
  write_pcap(in, t.replay);
  std::string why;
  auto cap = start_capture(lab.cap_if(), {"-w", outdir + "/m.pcap", "--split", "source"}, &why);
  ASSERT_EQ(cap, nullptr) << "a missing directory must be refused before capture";
  ASSERT_EQ(sh("mkdir " + outdir), 0);
  cap = start_capture(lab.cap_if(), {"-w", outdir + "/m.pcap", "--split", "source"}, &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--pcap", in, "--rate", "50000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();
  const char* names[3] = {"m-vxlan_198.18.0.10_vni100.pcap", "m-vxlan_198.18.0.11_vni200.pcap",
                          "m-vxlan_2001_db8__12_vni300.pcap"};
  for (int k = 0; k < 3; k++) {
    auto records = read_pcap_records(outdir + "/" + names[k]);
    std::multiset<Bytes> want(t.inner[k].begin(), t.inner[k].end()), got;
    for (const auto& r : records) got.insert(r.data);
    EXPECT_FRAMES_EQ(got, want) << names[k] << " does not hold exactly its source's frames";
  }
  auto ls = run({"/usr/bin/ls", outdir});
  EXPECT_EQ(std::count(ls.output.begin(), ls.output.end(), '\n'), 3) << ls.output;
}

// A TCP flow A -> B: handshake, then full 1460-byte segments and B's ACKs, as Ethernet frames.
std::vector<Bytes> tcp_flow(int segments) {
  const MacAddr a{0x02, 0xa0, 0, 0, 0, 1}, b{0x02, 0xb0, 0, 0, 0, 2};
  const std::string ha = "198.19.5.1", hb = "198.19.5.2";
  std::vector<Bytes> f;
  uint32_t sa = 1000, sb = 5000;
  f.push_back(FrameBuilder().eth(b, a).ipv4(ha, hb).tcp(40000, 80, 0x02, sa, 0).build());
  f.push_back(FrameBuilder().eth(a, b).ipv4(hb, ha).tcp(80, 40000, 0x12, sb, sa + 1).build());
  sa++, sb++;
  f.push_back(FrameBuilder().eth(b, a).ipv4(ha, hb).tcp(40000, 80, 0x10, sa, sb).build());
  for (int i = 0; i < segments; i++) {
    f.push_back(FrameBuilder()
                    .eth(b, a)
                    .ipv4(ha, hb)
                    .tcp(40000, 80, 0x18, sa, sb)
                    .payload(1460, uint8_t(i))
                    .build());
    sa += 1460;
    if (i % 2)
      f.push_back(FrameBuilder().eth(a, b).ipv4(hb, ha).tcp(80, 40000, 0x10, sb, sa).build());
  }
  return f;
}

size_t lost_segment_warnings(const std::string& path) {
  return tshark({"-r", path, "-Y", "tcp.analysis.lost_segment || tcp.analysis.ack_lost_segment",
                 "-T", "fields", "-e", "frame.number"})
      .size();
}

TEST(DecapCapture, MirroredFlowCutAt200BytesKeepsItsTrueLength) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcdec", "198.18.17");
  TempDir dir;
  const MacAddr dst = lab.cap_mac_bytes();
  std::vector<Bytes> flow = tcp_flow(200), replay;
  std::vector<PcapRecord> cut_without_repair;
  for (size_t i = 0; i < flow.size(); i++) {
    // The mirror keeps the first 200 bytes of each packet (VTAP "max packet size") and
    // encapsulates what it kept: the outer headers are consistent, the inner IP header still
    // says 1500.
    Bytes kept(flow[i].begin(), flow[i].begin() + std::min<size_t>(flow[i].size(), 200));
    replay.push_back(wrap_vxlan(dst, kSources[0], kept, 50000));
    cut_without_repair.push_back({1'700'000'000'000'000'000ull + i * 1000, uint32_t(kept.size()),
                                  uint32_t(kept.size()), kept});
  }
  std::string in = dir / "cut.pcap", out = dir / "flow.pcap", control = dir / "control.pcap";
  write_pcap(in, replay);
  write_pcap_records(control, cut_without_repair);
  // The control proves the check can fail: without the true length tshark sees lost segments.
  ASSERT_GT(lost_segment_warnings(control), 0u);

  std::string why;
  auto cap = start_capture(lab.cap_if(), {"-w", out}, &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--pcap", in, "--rate", "20000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();

  auto records = read_pcap_records(out);
  ASSERT_EQ(records.size(), flow.size());
  size_t full = 0;
  for (const auto& r : records) {
    if (r.len == 1514) {
      EXPECT_EQ(r.caplen, 200u);
      full++;
    } else {
      EXPECT_EQ(r.caplen, r.len);  // the short ones were never cut
    }
  }
  EXPECT_EQ(full, 200u);
  EXPECT_EQ(lost_segment_warnings(out), 0u);
}

}  // namespace
}  // namespace xcap::test
