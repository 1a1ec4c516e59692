// Mirror integrity end to end: decapsulation strips the mirror's delivery tunnel and nothing of
// the customer's (UDP to 4789/6081 that is no tunnel, a customer's own VXLAN overlay), AWS's
// GENEVE → VXLAN delivery comes off as one level; and a rotated capture of sources with
// Ethernet and bare-IP inner frames is read completely by tcpdump, tshark and capinfos.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

#include "common/capture_readers.h"
#include "common/frame_builder.h"
#include "common/frame_format.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

const MacAddr kMirrorMac{0x02, 0, 0, 0, 0, 0x30};

FrameBuilder outer(const MacAddr& dst, const std::string& src) {
  FrameBuilder b;
  b.eth(dst, kMirrorMac);
  if (src.find(':') != std::string::npos)
    b.ipv6(src, "2001:db8::2");
  else
    b.ipv4(src, "198.18.30.2");
  return b;
}

// A customer's frame: Ethernet, IPv4, then the rest.
FrameBuilder customer(uint8_t host) {
  return FrameBuilder()
      .eth({0x02, 0xcc, 0, 0, 0, 2}, {0x02, 0xcc, 0, 0, 0, host})
      .ipv4("198.19.7." + std::to_string(host), "198.19.8.1");
}

Bytes with_payload(FrameBuilder b, const Bytes& payload) {
  return b.bytes(payload).build();
}

// What a mirrored Kubernetes node or a service speaking UDP on 4789/6081 may send: none of it
// is the mirror's tunnel, all of it must come out exactly as sent.
std::vector<Bytes> customer_frames(std::mt19937& rng, int round) {
  Bytes random(64), flagged(48);
  for (auto& b : random) b = uint8_t(rng());
  for (auto& b : flagged) b = uint8_t(rng());
  flagged[0] = 0x08;  // the VXLAN I flag
  const std::string text = "GET /not/a/tunnel HTTP/1.1\r\n\r\n";
  const Bytes overlay_inner =
      customer(9).tcp(40000, 443, 0x18, uint32_t(round)).payload(100).build();
  return {
      customer(1).udp(40001, 4789).build(),  // no payload
      customer(2).udp(40002, 4789).payload(3, 0x08).build(),
      with_payload(customer(3).udp(40003, 6081), Bytes(text.begin(), text.end())),
      with_payload(customer(4).udp(40004, 4789), random),
      with_payload(customer(5).udp(40005, 4789), flagged),
      with_payload(customer(6).udp(40006, 6081), random),
      customer(7).udp(40007, 4789).vxlan(1).bytes(overlay_inner).build(),  // a VXLAN overlay
      customer(8).tcp(40008, 443, 0x18, uint32_t(round)).payload(size_t(round % 700)).build(),
  };
}

TEST(MirrorIntegrity, CustomerTunnelsAndUdpOnTunnelPortsComeOutAsSent) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcmint", "198.18.30");
  TempDir dir;
  const MacAddr dst = lab.cap_mac_bytes();
  std::mt19937 rng(20261129);
  std::vector<Bytes> replay;
  std::multiset<Bytes> want_vxlan, want_gwlb;
  for (int round = 0; round < 150; round++) {
    for (const Bytes& c : customer_frames(rng, round)) {
      // A VXLAN mirror (OCI VTAP, AWS traffic mirroring to an ENI).
      replay.push_back(outer(dst, "198.18.0.10").udp(50000, 4789).vxlan(100).bytes(c).build());
      want_vxlan.insert(c);
      // AWS traffic mirroring into a Gateway Load Balancer: GENEVE, IPv4, VXLAN, the frame.
      replay.push_back(outer(dst, "2001:db8::11")
                           .udp(50001, 6081)
                           .geneve(77, 0x0800)
                           .ipv4("198.18.0.40", "198.18.0.41")
                           .udp(50002, 4789)
                           .vxlan(200)
                           .bytes(c)
                           .build());
      want_gwlb.insert(c);
    }
  }
  const std::string in = dir / "mirrored.pcap", out = dir / "inner.pcapng";
  write_pcap(in, replay);

  auto cap = capture_replay(lab, {"-w", out, "--format", "pcapng"}, in);
  ASSERT_EQ(cap.why, "");
  EXPECT_EQ(cap.stats->dropped, 0u) << cap.err;
  EXPECT_EQ(cap.stats->captured, replay.size()) << cap.err;

  // Byte for byte, on the interface of the mirror that carried it.
  const auto records = read_pcap_records(out);
  const auto ifaces = tshark({"-r", out, "-T", "fields", "-e", "frame.interface_name"});
  ASSERT_EQ(records.size(), replay.size());
  ASSERT_EQ(ifaces.size(), records.size());
  std::map<std::string, std::multiset<Bytes>> got;
  for (size_t i = 0; i < records.size(); i++) got[ifaces[i]].insert(records[i].data);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_FRAMES_EQ(got["vxlan:198.18.0.10:vni100"], want_vxlan)
      << "the VXLAN mirror's frames are not exactly what the customers sent";
  EXPECT_FRAMES_EQ(got["geneve:2001:db8::11:vni77"], want_gwlb)
      << "the GENEVE → VXLAN mirror's frames are not exactly what the customers sent";
}

// Three mirror sources: VXLAN carrying Ethernet, GENEVE carrying bare IPv4 (AWS GWLB without
// the VXLAN), GRE carrying bare IPv6.
struct MixedSources {
  std::vector<Bytes> replay;
  std::multiset<Bytes> want;  // bare IP comes out behind a synthesized Ethernet header
};

Bytes synthesized_ethernet(const Bytes& ip) {
  Bytes f(12, 0);
  const bool v6 = ip[0] >> 4 == 6;
  f.push_back(v6 ? 0x86 : 0x08);
  f.push_back(v6 ? 0xdd : 0x00);
  f.insert(f.end(), ip.begin(), ip.end());
  return f;
}

MixedSources mixed_sources(const MacAddr& dst, int n) {
  MixedSources m;
  for (int i = 0; i < n; i++) {
    const size_t len = 700 + size_t(i % 300);
    switch (i % 3) {
      case 0: {
        Bytes c = customer(1).tcp(40000, 443, 0x18, uint32_t(i)).payload(len, uint8_t(i)).build();
        m.replay.push_back(outer(dst, "198.18.0.10").udp(50000, 4789).vxlan(100).bytes(c).build());
        m.want.insert(c);
        break;
      }
      case 1: {
        Bytes ip = FrameBuilder()
                       .ipv4("198.19.9.1", "198.19.9.2")
                       .udp(53, 40000)
                       .payload(len, uint8_t(i))
                       .build(false);
        m.replay.push_back(
            outer(dst, "198.18.0.12").udp(50001, 6081).geneve(7, 0x0800).bytes(ip).build());
        m.want.insert(synthesized_ethernet(ip));
        break;
      }
      default: {
        Bytes ip = FrameBuilder()
                       .ipv6("2001:db8:9::1", "2001:db8:9::2")
                       .tcp(40000, 80, 0x18, uint32_t(i))
                       .payload(len, uint8_t(i))
                       .build(false);
        m.replay.push_back(outer(dst, "198.18.0.13").gre(0x86dd, {.key = 5}).bytes(ip).build());
        m.want.insert(synthesized_ethernet(ip));
      }
    }
  }
  return m;
}

TEST(MirrorIntegrity, RotatedMixedSourceFilesAreReadWholeByTcpdumpTsharkAndCapinfos) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcmint", "198.18.30");
  TempDir dir;
  const MixedSources m = mixed_sources(lab.cap_mac_bytes(), 4500);
  const std::string in = dir / "mirrored.pcap", outdir = dir / "out";
  write_pcap(in, m.replay);
  ASSERT_EQ(sh("mkdir " + outdir), 0);

  auto cap = capture_replay(lab, {"-w", outdir + "/m.pcapng", "--format", "pcapng", "-C", "1"}, in);
  ASSERT_EQ(cap.why, "");
  EXPECT_EQ(cap.stats->dropped, 0u) << cap.err;
  std::string why;

  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(outdir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 3u) << "-C 1 over ~4 MB must rotate";
  std::multiset<Bytes> got;
  uint64_t by_tcpdump = 0;
  for (const auto& f : files) {
    SCOPED_TRACE(f);
    const auto records = read_pcap_records(f);
    for (const auto& r : records) got.insert(r.data);
    auto n_tcpdump = tcpdump_count(f, &why);
    ASSERT_TRUE(n_tcpdump) << why;
    EXPECT_EQ(*n_tcpdump, records.size());
    auto n_tshark = tshark_count(f, &why);
    ASSERT_TRUE(n_tshark) << why;
    EXPECT_EQ(*n_tshark, records.size());
    auto n_capinfos = capinfos_count(f, &why);
    ASSERT_TRUE(n_capinfos) << why;
    EXPECT_EQ(*n_capinfos, records.size());
    by_tcpdump += *n_tcpdump;
    // One link type per file: every interface is Ethernet.
    for (const auto& l : tshark({"-r", f, "-T", "fields", "-e", "frame.encap_type"}))
      ASSERT_EQ(l, "1") << "an interface that is not Ethernet";
  }
  EXPECT_EQ(by_tcpdump, m.replay.size());
  EXPECT_FRAMES_EQ(got, m.want) << "the files do not hold exactly the inner frames";
}

}  // namespace
}  // namespace xcap::test
