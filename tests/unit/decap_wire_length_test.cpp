// Truncation repair: a decapsulated frame that the mirror cut gets the original length its IP
// header implies; frames whose IP header is missing, cut or inconsistent keep what arrived.
#include "decap/wire_length.h"

#include <gtest/gtest.h>

#include "common/frame_builder.h"
#include "common/frame_format.h"
#include "decap/decapsulator.h"

namespace xcap {
namespace {

// A full-size TCP segment as the mirrored host sent it: 1514 bytes on the wire.
Bytes tcp_1514() {
  return FrameBuilder()
      .eth()
      .ipv4("198.18.1.1", "198.18.1.2")
      .tcp(40000, 443, 0x10, 1000, 2000)
      .payload(1460)
      .build();
}

Bytes prefix(const Bytes& b, size_t n) {
  return Bytes(b.begin(), b.begin() + n);
}

DecapResult decap(const Bytes& f) {
  return Decapsulator().decap(f.data(), uint32_t(f.size()), uint32_t(f.size()));
}

TEST(TruncationRepair, VxlanMirrorCutAt200Bytes) {
  const Bytes full = tcp_1514();
  ASSERT_EQ(full.size(), 1514u);
  // The mirror cut the packet to 200 bytes, then wrapped it: the outer headers are consistent
  // with the 200 bytes, only the inner IP header remembers 1500.
  const Bytes cut = prefix(full, 200);
  const Bytes f = FrameBuilder()
                      .eth()
                      .ipv4("198.18.0.10", "198.18.0.20")
                      .udp(49152, 4789)
                      .vxlan(100)
                      .bytes(cut)
                      .build();
  const DecapResult r = decap(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.caplen, 200u);
  EXPECT_EQ(r.wire_len, 1514u);
  EXPECT_FRAME_EQ(Bytes(r.data, r.data + r.caplen), cut);
}

TEST(TruncationRepair, VlanTaggedInnerFrame) {
  const Bytes full = FrameBuilder()
                         .eth()
                         .vlan(100, 0x88a8)
                         .vlan(200)
                         .ipv6("2001:db8:1::1", "2001:db8:1::2")
                         .tcp(40000, 443)
                         .payload(1000)
                         .build();
  const Bytes f = FrameBuilder()
                      .eth()
                      .ipv6("2001:db8::10", "2001:db8::20")
                      .gre(0x22eb, {.seq = 1})
                      .erspan3(9, {.truncated = true})
                      .bytes(prefix(full, 128))
                      .build();
  const DecapResult r = decap(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.caplen, 128u);
  EXPECT_EQ(r.wire_len, full.size());  // 18 + 40 + payload length
}

TEST(TruncationRepair, RawIpv6InGeneve) {
  const Bytes full = FrameBuilder()
                         .ipv6("2001:db8:1::1", "2001:db8:1::2")
                         .tcp(40000, 443)
                         .payload(1400)
                         .build(false);
  const Bytes f = FrameBuilder()
                      .eth()
                      .ipv4("198.18.0.10", "198.18.0.20")
                      .udp(49152, 6081)
                      .geneve(5, 0x86dd)
                      .bytes(prefix(full, 96))
                      .build();
  const DecapResult r = decap(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.link_type, LinkType::Raw);
  EXPECT_EQ(r.caplen, 96u);
  EXPECT_EQ(r.wire_len, full.size());  // 40 + payload length, no L2 part
}

TEST(TruncationRepair, OuterFrameCutByTheCapture) {
  // The whole mirrored frame was sent, but this capture kept only 300 bytes of the outer
  // frame (snaplen or frame size): the outer lengths say how much is missing.
  const Bytes full = tcp_1514();
  const Bytes f = FrameBuilder()
                      .eth()
                      .ipv4("198.18.0.10", "198.18.0.20")
                      .udp(49152, 4789)
                      .vxlan(100)
                      .bytes(full)
                      .build();
  const DecapResult r = Decapsulator().decap(f.data(), 300, uint32_t(f.size()));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.caplen, 300u - 50);
  EXPECT_EQ(r.wire_len, 1514u);
  // Even when the inner frame is not IP, the outer lengths tell.
  const Bytes arp = FrameBuilder().eth({}, {}, 0x0806).payload(500).build();
  const Bytes g = FrameBuilder()
                      .eth()
                      .ipv4("198.18.0.10", "198.18.0.20")
                      .udp(49152, 4789)
                      .vxlan(100)
                      .bytes(arp)
                      .build();
  const DecapResult a = Decapsulator().decap(g.data(), 100, uint32_t(g.size()));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.caplen, 50u);
  EXPECT_EQ(a.wire_len, arp.size());
}

TEST(TruncationRepair, PaddedInnerFrameKeepsItsLength) {
  // A 60-byte inner frame whose IP packet is 40 bytes: Ethernet padding, not truncation.
  const Bytes inner = FrameBuilder().eth().ipv4("198.18.1.1", "198.18.1.2").tcp(1, 2).build();
  ASSERT_EQ(inner.size(), 60u);
  const Bytes f =
      FrameBuilder().eth().ipv4("198.18.0.10", "198.18.0.20").gre(0x6558).bytes(inner).build();
  const DecapResult r = decap(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.caplen, 60u);
  EXPECT_EQ(r.wire_len, 60u);
}

TEST(TruncationRepair, MissingOrInconsistentIpHeaderLeavesLengthAlone) {
  const Bytes full = tcp_1514();
  auto wrapped = [](const Bytes& inner) {
    return FrameBuilder()
        .eth()
        .ipv4("198.18.0.10", "198.18.0.20")
        .udp(49152, 4789)
        .vxlan(100)
        .bytes(inner)
        .build();
  };
  struct Case {
    const char* name;
    Bytes inner;
  };
  std::vector<Case> cases;
  cases.push_back({"ip_header_cut", prefix(full, 14 + 19)});
  {
    Bytes b = prefix(full, 200);
    b[14] = 0x65;  // version 6 under ethertype IPv4
    cases.push_back({"version_mismatch", b});
  }
  {
    Bytes b = prefix(full, 200);
    b[14] = 0x44;  // IHL 4
    cases.push_back({"ihl_below_5", b});
  }
  {
    Bytes b = prefix(full, 200);
    b[16] = 0, b[17] = 16;  // total length 16 < IHL * 4
    cases.push_back({"total_below_header", b});
  }
  {
    Bytes b = prefix(full, 14 + 22);
    b[14] = 0x47;  // IHL 7: options run past the capture
    cases.push_back({"options_cut", b});
  }
  {
    Bytes b = prefix(full, 200);
    b[12] = 0x88, b[13] = 0xb5;  // not IP
    cases.push_back({"not_ip", b});
  }
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Bytes f = wrapped(c.inner);
    const DecapResult r = decap(f);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.caplen, c.inner.size());
    EXPECT_EQ(r.wire_len, c.inner.size());
  }
}

TEST(IpImpliedLength, EthernetVlanAndRaw) {
  const Bytes full = tcp_1514();
  EXPECT_EQ(ip_implied_length(full.data(), 34, LinkType::Ethernet), 1514u);
  EXPECT_EQ(ip_implied_length(full.data(), 33, LinkType::Ethernet), 0u);
  EXPECT_EQ(ip_implied_length(full.data(), 0, LinkType::Ethernet), 0u);
  EXPECT_EQ(ip_implied_length(full.data() + 14, 20, LinkType::Raw), 1500u);
  EXPECT_EQ(ip_implied_length(full.data() + 14, 19, LinkType::Raw), 0u);
  const Bytes v6 = FrameBuilder()
                       .eth()
                       .vlan(7)
                       .ipv6("2001:db8:1::1", "2001:db8:1::2")
                       .tcp(1, 2)
                       .payload(100)
                       .build();
  EXPECT_EQ(ip_implied_length(v6.data(), 18 + 40, LinkType::Ethernet), v6.size());
  EXPECT_EQ(ip_implied_length(v6.data(), 18 + 39, LinkType::Ethernet), 0u);
  EXPECT_EQ(ip_implied_length(v6.data() + 18, 40, LinkType::Raw), v6.size() - 18);
  // A raw packet is read by its version nibble.
  Bytes junk(40, 0);
  junk[0] = 0x55;
  EXPECT_EQ(ip_implied_length(junk.data(), 40, LinkType::Raw), 0u);
  // Repaired length: never below what arrived or what the enclosing headers promised.
  EXPECT_EQ(repaired_wire_len(full.data(), 200, 200, LinkType::Ethernet), 1514u);
  EXPECT_EQ(repaired_wire_len(full.data(), 200, 3000, LinkType::Ethernet), 3000u);
  EXPECT_EQ(repaired_wire_len(junk.data(), 40, 40, LinkType::Raw), 40u);
}

}  // namespace
}  // namespace xcap
