// Decapsulator on well-formed frames of every encapsulation: the exact inner bytes (a pointer
// range inside the input), link type, source key and name, depth and original length; the
// --decap modes; nesting and its limit.
#include "decap/decapsulator.h"

#include <gtest/gtest.h>

#include "common/decap_frames.h"
#include "common/frame_format.h"

namespace xcap {
namespace {

using namespace test;  // decap_frames.h

DecapResult decap(const Bytes& f, const DecapConfig& c = {}) {
  return Decapsulator(c).decap(f.data(), uint32_t(f.size()), uint32_t(f.size()));
}

// The inner frame sits at the end of the outer one: the result must be exactly that range.
void expect_inner(const DecapResult& r, const Bytes& frame, const Bytes& inner, LinkType link,
                  unsigned depth = 1) {
  ASSERT_TRUE(r.ok()) << to_string(r.error) << " in " << to_string(r.error_tunnel);
  ASSERT_GE(frame.size(), inner.size());
  EXPECT_EQ(r.data, frame.data() + (frame.size() - inner.size()));
  ASSERT_EQ(r.caplen, inner.size());
  EXPECT_FRAME_EQ(Bytes(r.data, r.data + r.caplen), inner);
  EXPECT_EQ(r.wire_len, inner.size());
  EXPECT_EQ(r.link_type, link);
  EXPECT_EQ(r.depth, depth);
  EXPECT_EQ(r.error_tunnel, Tunnel::None);
}

void expect_passed_through(const DecapResult& r, const Bytes& frame) {
  EXPECT_TRUE(r.ok()) << to_string(r.error);
  EXPECT_EQ(r.depth, 0);
  EXPECT_EQ(r.data, frame.data());
  EXPECT_EQ(r.caplen, frame.size());
  EXPECT_EQ(r.wire_len, frame.size());
  EXPECT_EQ(r.link_type, LinkType::Ethernet);
  EXPECT_EQ(r.source.tunnel, Tunnel::None);
}

// ---- VXLAN --------------------------------------------------------------------------------

TEST(Decapsulator, VxlanIpv4Outer) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_udp(4789).vxlan(100).bytes(inner).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.tunnel, Tunnel::Vxlan);
  EXPECT_EQ(r.source.id, 100u);
  EXPECT_FALSE(r.source.ipv6);
  EXPECT_EQ(r.source.name(), "vxlan:198.18.0.10:vni100");
}

TEST(Decapsulator, VxlanIpv6Outer) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_udp6(4789).vxlan(0xabcdef).bytes(inner).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_TRUE(r.source.ipv6);
  EXPECT_EQ(r.source.name(), "vxlan:2001:db8::10:vni11259375");
}

TEST(Decapsulator, VxlanVlanTaggedOuter) {
  const Bytes inner = inner_eth();
  const Bytes f = FrameBuilder()
                      .eth()
                      .vlan(10)
                      .ipv4(kOuterSrc, kOuterDst)
                      .udp(49152, 4789)
                      .vxlan(5)
                      .bytes(inner)
                      .build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.name(), "vxlan:198.18.0.10:vni5");
}

TEST(Decapsulator, VxlanDoubleTaggedOuter) {
  const Bytes inner = inner_eth();
  const Bytes f = FrameBuilder()
                      .eth()
                      .vlan(10, 0x88a8)
                      .vlan(20)
                      .ipv6(kOuterSrc6, kOuterDst6)
                      .udp(49152, 4789)
                      .vxlan(5)
                      .bytes(inner)
                      .build();
  expect_inner(decap(f), f, inner, LinkType::Ethernet);
}

TEST(Decapsulator, ThreeVlanTagsAreNotParsed) {
  const Bytes f = FrameBuilder()
                      .eth()
                      .vlan(10, 0x88a8)
                      .vlan(20, 0x88a8)
                      .vlan(30)
                      .ipv4(kOuterSrc, kOuterDst)
                      .udp(49152, 4789)
                      .vxlan(5)
                      .bytes(inner_eth())
                      .build();
  expect_passed_through(decap(f), f);
}

TEST(Decapsulator, VxlanConfiguredPorts) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_udp(8472).vxlan(1).bytes(inner).build();
  expect_passed_through(decap(f), f);  // not a VXLAN port by default
  DecapConfig c;
  c.vxlan_ports = {4789, 8472};
  expect_inner(decap(f, c), f, inner, LinkType::Ethernet);
  c.vxlan_ports = {8472};
  const Bytes std_port = outer_udp(4789).vxlan(1).bytes(inner).build();
  expect_passed_through(decap(std_port, c), std_port);
}

TEST(Decapsulator, VxlanOuterIpv4Options) {
  const Bytes inner = inner_eth();
  Bytes f = outer_udp(4789).vxlan(100).bytes(inner).build();
  constexpr size_t kIp = 14;
  f.insert(f.begin() + kIp + 20, {1, 1, 1, 0});  // NOP NOP NOP EOL: IHL 6
  f[kIp] = 0x46;
  f[kIp + 2] = uint8_t((f.size() - kIp) >> 8), f[kIp + 3] = uint8_t(f.size() - kIp);
  expect_inner(decap(f), f, inner, LinkType::Ethernet);
}

TEST(Decapsulator, VxlanOuterIpv6ExtensionHeaders) {
  const Bytes inner = inner_eth();
  // hop-by-hop (PadN) → fragment header, offset 0 with M set → UDP
  Bytes f = FrameBuilder()
                .eth()
                .ipv6(kOuterSrc6, kOuterDst6, 17)
                .bytes({44, 0, 1, 4, 0, 0, 0, 0})
                .bytes({17, 0, 0, 0, 0, 0, 0, 9})
                .udp(49152, 4789)
                .vxlan(3)
                .bytes(inner)
                .build();
  f[14 + 6] = 0;  // next header: hop-by-hop (FrameBuilder fills a zero with the next layer's)
  expect_inner(decap(f), f, inner, LinkType::Ethernet);
}

TEST(Decapsulator, LaterFragmentsAreNotTunnels) {
  Bytes f = outer_udp(4789).vxlan(100).bytes(inner_eth()).build();
  f[14 + 7] = 1;  // IPv4 fragment offset 8 bytes: what follows is not a UDP header
  expect_passed_through(decap(f), f);
  const Bytes f6 = FrameBuilder()
                       .eth()
                       .ipv6(kOuterSrc6, kOuterDst6, 44)
                       .bytes({17, 0, 0, 0x08 /* offset 1 */, 0, 0, 0, 9})
                       .udp(49152, 4789)
                       .vxlan(1)
                       .bytes(inner_eth())
                       .build();
  expect_passed_through(decap(f6), f6);
}

TEST(Decapsulator, FirstFragmentIsDecapsulatedAsFarAsItGoes) {
  // A VXLAN datagram fragmented by the network: the first fragment holds the VXLAN header and
  // the start of the inner frame; the UDP length covers the whole datagram.
  const Bytes inner =
      FrameBuilder().eth().ipv4("198.18.1.1", "198.18.1.2").tcp(40000, 443).payload(1400).build();
  Bytes f = outer_udp(4789).vxlan(100).bytes(inner).build();
  constexpr size_t kKeep = 14 + 20 + 8 + 8 + 600;
  f.resize(kKeep);
  f[14 + 2] = uint8_t((kKeep - 14) >> 8), f[14 + 3] = uint8_t(kKeep - 14);
  f[14 + 6] = 0x20;  // MF, offset 0
  const DecapResult r = decap(f);
  ASSERT_TRUE(r.ok()) << to_string(r.error);
  EXPECT_EQ(r.caplen, 600u);
  EXPECT_EQ(r.wire_len, inner.size());  // from the UDP length, and the inner IP header
  EXPECT_FRAME_EQ(Bytes(r.data, r.data + r.caplen), Bytes(inner.begin(), inner.begin() + 600));
}

TEST(Decapsulator, NonTunnelFramesPassThroughUnchanged) {
  const Bytes tcp = FrameBuilder().eth().ipv4(kOuterSrc, kOuterDst).tcp(50000, 22).build();
  expect_passed_through(decap(tcp), tcp);
  const Bytes tcp_to_4789 =
      FrameBuilder().eth().ipv4(kOuterSrc, kOuterDst).tcp(50000, 4789).build();
  expect_passed_through(decap(tcp_to_4789), tcp_to_4789);
  const Bytes dns = outer_udp(53).payload(40).build();
  expect_passed_through(decap(dns), dns);
  const Bytes src_4789 =
      FrameBuilder().eth().ipv4(kOuterSrc, kOuterDst).udp(4789, 50000).payload(40).build();
  expect_passed_through(decap(src_4789), src_4789);
  const Bytes arp = FrameBuilder().eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {}, 0x0806).build();
  expect_passed_through(decap(arp), arp);
  // The kernel's wire length stays, even when the IP header would say otherwise.
  const DecapResult r = Decapsulator().decap(tcp.data(), 40, 1514);
  EXPECT_EQ(r.depth, 0);
  EXPECT_EQ(r.caplen, 40u);
  EXPECT_EQ(r.wire_len, 1514u);
}

TEST(Decapsulator, OuterPaddingIsNotPartOfTheInnerFrame) {
  // GRE with a 20-byte IP packet makes a 58-byte frame, padded to 60 on the wire.
  const Bytes inner = FrameBuilder().ipv4("198.18.1.1", "198.18.1.2", 59).build(false);
  const Bytes f = outer_gre(0x0800).bytes(inner).build();
  ASSERT_EQ(f.size(), 60u);
  const DecapResult r = decap(f);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.data, f.data() + 38);
  EXPECT_FRAME_EQ(Bytes(r.data, r.data + r.caplen), inner);
  EXPECT_EQ(r.wire_len, inner.size());
}

// ---- GENEVE -------------------------------------------------------------------------------

TEST(Decapsulator, GeneveWithOptions) {
  const Bytes inner = inner_eth();
  Bytes opts = FrameBuilder::geneve_option(0x0108, 1, {1, 2, 3, 4, 5, 6, 7, 8});
  const Bytes o2 = FrameBuilder::geneve_option(0xffff, 0x80, {9});
  opts.insert(opts.end(), o2.begin(), o2.end());
  ASSERT_EQ(opts.size(), 20u);
  const Bytes f = outer_udp(6081).geneve(7, 0x6558, opts).bytes(inner).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.tunnel, Tunnel::Geneve);
  EXPECT_EQ(r.source.name(), "geneve:198.18.0.10:vni7");
}

TEST(Decapsulator, GeneveIpv6OuterNoOptions) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_udp6(6081).geneve(7).bytes(inner).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.name(), "geneve:2001:db8::10:vni7");
}

TEST(Decapsulator, GeneveCarryingIpv4IsRaw) {
  const Bytes inner = inner_ipv4();
  const Bytes f = outer_udp(6081).geneve(9, 0x0800).bytes(inner).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Raw);
  EXPECT_EQ(r.source.name(), "geneve:198.18.0.10:vni9");
}

TEST(Decapsulator, GeneveCarryingIpv6IsRaw) {
  const Bytes inner = inner_ipv6();
  const Bytes f = outer_udp6(6081)
                      .geneve(9, 0x86dd, FrameBuilder::geneve_option(0x0108, 3, {0, 0, 0, 1}))
                      .bytes(inner)
                      .build();
  expect_inner(decap(f), f, inner, LinkType::Raw);
}

TEST(Decapsulator, GeneveConfiguredPort) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_udp(7000).geneve(1).bytes(inner).build();
  expect_passed_through(decap(f), f);
  DecapConfig c;
  c.geneve_port = 7000;
  expect_inner(decap(f, c), f, inner, LinkType::Ethernet);
}

// ---- nesting ------------------------------------------------------------------------------

// AWS traffic mirroring into a Gateway Load Balancer endpoint: the load balancer wraps the
// mirror's VXLAN packet (an IP packet, no Ethernet) in GENEVE.
Bytes aws_gwlb_frame(const Bytes& inner) {
  return outer_udp(6081)
      .geneve(77, 0x0800, FrameBuilder::geneve_option(0x0108, 1, {0, 0, 0, 0, 0, 0, 0, 1}))
      .ipv4("198.18.0.30", "198.18.0.40")
      .udp(65000, 4789)
      .vxlan(100)
      .bytes(inner)
      .build();
}

TEST(Decapsulator, GeneveThenVxlanRawCarrier) {
  const Bytes inner = inner_eth();
  const Bytes f = aws_gwlb_frame(inner);
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet, 2);
  // The outermost tunnel names the source.
  EXPECT_EQ(r.source.name(), "geneve:198.18.0.10:vni77");
}

TEST(Decapsulator, GeneveThenVxlanEthernetCarrier) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_udp6(6081)
                      .geneve(77)
                      .eth()
                      .ipv4("198.18.0.30", "198.18.0.40")
                      .udp(65000, 4789)
                      .vxlan(100)
                      .bytes(inner)
                      .build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet, 2);
  EXPECT_EQ(r.source.name(), "geneve:2001:db8::10:vni77");
}

TEST(Decapsulator, GreCarryingIpCarryingVxlan) {
  const Bytes inner = inner_eth();
  const Bytes vx = FrameBuilder()
                       .ipv6("2001:db8::30", "2001:db8::40")
                       .udp(65000, 4789)
                       .vxlan(100)
                       .bytes(inner)
                       .build(false);
  const Bytes f = outer_gre(0x86dd, {.key = 3}).bytes(vx).build();
  // By default only the delivery tunnel goes: the VXLAN packet inside is the customer's.
  expect_inner(decap(f), f, vx, LinkType::Raw, 1);
  DecapConfig c;
  c.max_depth = 2;
  const DecapResult r = decap(f, c);
  expect_inner(r, f, inner, LinkType::Ethernet, 2);
  EXPECT_EQ(r.source.name(), "gre:198.18.0.10:key3");
}

// n VXLAN tunnels around the inner frame.
Bytes vxlan_nest(unsigned n, const Bytes& inner) {
  Bytes f = inner;
  for (unsigned i = 0; i < n; ++i) f = outer_udp(4789).vxlan(i + 1).bytes(f).build();
  return f;
}

TEST(Decapsulator, DefaultDepthStripsOnlyTheMirrorTunnel) {
  // A Kubernetes node's VXLAN overlay, mirrored by VXLAN: the overlay frame is what the node
  // sent, and it comes out whole.
  const Bytes overlay = vxlan_nest(1, inner_eth());
  const Bytes f = outer_udp(4789).vxlan(9).bytes(overlay).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, overlay, LinkType::Ethernet, 1);
  EXPECT_EQ(r.inner_error, DecapError::None);
  EXPECT_EQ(r.source.name(), "vxlan:198.18.0.10:vni9");
}

TEST(Decapsulator, NestingUpToMaxDepth) {
  const Bytes inner = inner_eth();
  DecapConfig c;
  c.max_depth = 4;
  for (unsigned depth = 1; depth <= 4; ++depth) {
    const Bytes f = vxlan_nest(depth, inner);
    const DecapResult r = decap(f, c);
    expect_inner(r, f, inner, LinkType::Ethernet, depth);
    EXPECT_EQ(r.source.id, depth);  // the outermost VNI
  }
}

TEST(Decapsulator, NestingPastMaxDepthStaysWhole) {
  const Bytes inner = inner_eth();
  DecapConfig c;
  c.max_depth = 3;
  const Bytes f = vxlan_nest(5, inner);
  const DecapResult r = decap(f, c);
  // Three levels stripped: what is left is two VXLAN levels around the inner frame.
  expect_inner(r, f, vxlan_nest(2, inner), LinkType::Ethernet, 3);
  EXPECT_EQ(r.inner_error, DecapError::None);
  EXPECT_EQ(r.source.name(), "vxlan:198.18.0.10:vni5");
}

TEST(Decapsulator, VxlanInsideGeneveIsOneLevel) {
  const Bytes inner = inner_eth();
  // AWS GWLB delivers GENEVE → VXLAN → the mirrored frame; a customer overlay inside stays.
  const Bytes overlay = vxlan_nest(1, inner);
  const Bytes f = aws_gwlb_frame(overlay);
  expect_inner(decap(f), f, overlay, LinkType::Ethernet, 2);
  DecapConfig c;
  c.max_depth = 2;
  expect_inner(decap(f, c), f, inner, LinkType::Ethernet, 3);
  // Only VXLAN rides with its GENEVE: GRE inside GENEVE is a level of its own.
  const Bytes gre =
      FrameBuilder().ipv4("198.18.0.30", "198.18.0.40").gre(0x6558).bytes(inner).build(false);
  const Bytes g = outer_udp(6081).geneve(77, 0x0800).bytes(gre).build();
  expect_inner(decap(g), g, gre, LinkType::Raw, 1);
}

// A customer's UDP to 4789/6081 inside a mirror is not a tunnel of the mirror's: with more
// depth asked for, a nested level that does not parse leaves the frame as it stood above it.
TEST(Decapsulator, NestedLevelThatDoesNotParseKeepsTheFrame) {
  const Bytes inner = inner_eth();
  DecapConfig c;
  c.max_depth = 4;
  struct Case {
    const char* name;
    Bytes customer;  // the frame the mirror carried
    DecapError why;
  };
  const Case cases[] = {
      {"vxlan_empty", outer_udp(4789).build(), DecapError::BadLength},
      {"vxlan_3_bytes", outer_udp(4789).payload(3, 0x08).build(), DecapError::BadLength},
      {"vxlan_i_flag_clear", outer_udp(4789).vxlan(5, 0x00).bytes(inner).build(),
       DecapError::BadFlags},
      {"geneve_version_2", outer_udp(6081).geneve(5, 0x6558, {}, 2).bytes(inner).build(),
       DecapError::BadFlags},
      {"vxlan_ethernet_cut", outer_udp(4789).vxlan(5).payload(6).build(), DecapError::BadLength},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    const Bytes f = outer_udp(4789).vxlan(9).bytes(k.customer).build();
    const DecapResult d = decap(f);  // default depth: never even looked at
    expect_inner(d, f, k.customer, LinkType::Ethernet, 1);
    EXPECT_EQ(d.inner_error, DecapError::None);
    const DecapResult r = decap(f, c);
    expect_inner(r, f, k.customer, LinkType::Ethernet, 1);
    EXPECT_EQ(r.inner_error, k.why) << to_string(r.inner_error);
    // AWS: GENEVE → a broken VXLAN stays the GENEVE's inner (raw IP) packet.
    const Bytes ip = Bytes(k.customer.begin() + 14, k.customer.end());
    const Bytes g = outer_udp(6081).geneve(77, 0x0800).bytes(ip).build();
    const DecapResult rg = decap(g);
    if (k.customer[14 + 20 + 3] == 0xb5) {  // UDP to 4789: the VXLAN of the pair
      expect_inner(rg, g, ip, LinkType::Raw, 1);
      EXPECT_EQ(rg.inner_error, k.why);
    }
  }
}

// ---- ERSPAN -------------------------------------------------------------------------------

TEST(Decapsulator, ErspanTypeII) {
  const Bytes inner = inner_eth();
  // Every other field set, so a mask that leaks into the session id shows.
  const Bytes f = outer_gre(0x88be, {.seq = 12345})
                      .erspan2(5, {.vlan = 0xfff, .cos = 7, .truncated = true, .index = 0xfffff})
                      .bytes(inner)
                      .build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.tunnel, Tunnel::Erspan2);
  EXPECT_EQ(r.source.name(), "erspan2:198.18.0.10:session5");
}

TEST(Decapsulator, ErspanTypeIIMaxSessionIpv6Outer) {
  const Bytes inner = inner_eth();
  const Bytes f = FrameBuilder()
                      .eth()
                      .ipv6(kOuterSrc6, kOuterDst6)
                      .gre(0x88be, {.seq = 1})
                      .erspan2(1023)
                      .bytes(inner)
                      .build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.name(), "erspan2:2001:db8::10:session1023");
}

TEST(Decapsulator, ErspanTypeIII) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_gre(0x22eb, {.seq = 7})
                      .erspan3(300, {.vlan = 0xabc, .cos = 5, .index = 0xdeadbeef, .sgt = 0xffff})
                      .bytes(inner)
                      .build();
  ASSERT_EQ(f.size(), 14 + 20 + 8 + 12 + inner.size());
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.name(), "erspan3:198.18.0.10:session300");
}

TEST(Decapsulator, ErspanTypeIIIWithPlatformSubheader) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_gre(0x22eb, {.seq = 7})
                      .erspan3(300, {.truncated = true, .subheader = true})
                      .bytes(inner)
                      .build();
  ASSERT_EQ(f.size(), 14 + 20 + 8 + 20 + inner.size());
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.tunnel, Tunnel::Erspan3);
}

TEST(Decapsulator, ErspanTypeI) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_gre(0x88be).bytes(inner).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.name(), "erspan1:198.18.0.10:session0");
}

// ---- GRE ----------------------------------------------------------------------------------

TEST(Decapsulator, GreTransparentEthernetBridging) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_gre(0x6558).bytes(inner).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.name(), "gre:198.18.0.10:key0");
}

TEST(Decapsulator, GreCarryingIpIsRaw) {
  const Bytes v4 = inner_ipv4();
  const Bytes f4 = outer_gre(0x0800).bytes(v4).build();
  expect_inner(decap(f4), f4, v4, LinkType::Raw);
  const Bytes v6 = inner_ipv6();
  const Bytes f6 = FrameBuilder().eth().ipv6(kOuterSrc6, kOuterDst6).gre(0x86dd).bytes(v6).build();
  const DecapResult r = decap(f6);
  expect_inner(r, f6, v6, LinkType::Raw);
  EXPECT_EQ(r.source.name(), "gre:2001:db8::10:key0");
}

TEST(Decapsulator, GreKeyIsTheSourceId) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_gre(0x6558, {.key = 0xfedcba98}).bytes(inner).build();
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.id, 0xfedcba98u);
  EXPECT_EQ(r.source.name(), "gre:198.18.0.10:key4275878552");
}

TEST(Decapsulator, GreChecksumKeyAndSequenceAreSkipped) {
  const Bytes inner = inner_eth();
  const Bytes f = outer_gre(0x6558, {.key = 42, .seq = 99, .checksum = true}).bytes(inner).build();
  ASSERT_EQ(f.size(), 14 + 20 + 16 + inner.size());
  const DecapResult r = decap(f);
  expect_inner(r, f, inner, LinkType::Ethernet);
  EXPECT_EQ(r.source.id, 42u);
  // The builder's checksum is right: the GRE header and payload sum to 0xffff.
  EXPECT_EQ(checksum_fold(checksum_add(f.data() + 34, f.size() - 34)), 0xffff);
}

// ---- --decap modes ------------------------------------------------------------------------

struct ModeFrames {
  Bytes inner = inner_eth();
  Bytes vxlan = outer_udp(4789).vxlan(1).bytes(inner).build();
  Bytes geneve = outer_udp(6081).geneve(2).bytes(inner).build();
  Bytes erspan2 = outer_gre(0x88be, {.seq = 1}).erspan2(3).bytes(inner).build();
  Bytes erspan3 = outer_gre(0x22eb, {.seq = 1}).erspan3(3).bytes(inner).build();
  Bytes erspan1 = outer_gre(0x88be).bytes(inner).build();
  Bytes gre_eth = outer_gre(0x6558).bytes(inner).build();
  Bytes gre_ip = outer_gre(0x0800).bytes(inner_ipv4()).build();
};

TEST(Decapsulator, ModeRestrictsTunnelTypes) {
  const ModeFrames m;
  using Mode = DecapConfig::Mode;
  struct Row {
    Mode mode;
    bool vxlan, geneve, erspan, gre;
  };
  const Row rows[] = {
      {Mode::Auto, true, true, true, true},      {Mode::None, false, false, false, false},
      {Mode::Vxlan, true, false, false, false},  {Mode::Geneve, false, true, false, false},
      {Mode::Erspan, false, false, true, false}, {Mode::Gre, false, false, false, true},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(std::string(to_string(row.mode)));
    DecapConfig c;
    c.mode = row.mode;
    auto check = [&](const Bytes& f, bool stripped) {
      SCOPED_TRACE(testing::Message() << "frame of " << f.size() << " bytes");
      const DecapResult r = decap(f, c);
      EXPECT_TRUE(r.ok()) << to_string(r.error);
      EXPECT_EQ(r.depth, stripped ? 1 : 0);
      EXPECT_EQ(r.data != f.data(), stripped);
    };
    check(m.vxlan, row.vxlan);
    check(m.geneve, row.geneve);
    check(m.erspan1, row.erspan);
    check(m.erspan2, row.erspan);
    check(m.erspan3, row.erspan);
    check(m.gre_eth, row.gre);
    check(m.gre_ip, row.gre);
  }
}

TEST(Decapsulator, ModeAppliesAtEveryDepth) {
  const Bytes inner = inner_eth();
  const Bytes f = aws_gwlb_frame(inner);
  DecapConfig c;
  c.mode = DecapConfig::Mode::Vxlan;  // the outer GENEVE is not recognised: nothing stripped
  expect_passed_through(decap(f, c), f);
  c.mode = DecapConfig::Mode::Geneve;  // GENEVE stripped, the VXLAN packet inside is the result
  const DecapResult r = decap(f, c);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.depth, 1);
  EXPECT_EQ(r.link_type, LinkType::Raw);
  EXPECT_EQ(r.data, f.data() + 14 + 20 + 8 + 8 + 12);
  EXPECT_EQ(r.caplen, 20 + 8 + 8 + inner.size());
  EXPECT_EQ(r.data[0], 0x45);
}

TEST(DecapConfig, ModeNamesRoundTrip) {
  using Mode = DecapConfig::Mode;
  for (Mode m : {Mode::Auto, Mode::None, Mode::Vxlan, Mode::Geneve, Mode::Erspan, Mode::Gre}) {
    auto parsed = parse_decap_mode(to_string(m));
    ASSERT_TRUE(parsed.has_value()) << to_string(m);
    EXPECT_EQ(*parsed, m);
  }
  EXPECT_EQ(to_string(Mode::Erspan), "erspan");
  EXPECT_FALSE(parse_decap_mode("VXLAN").has_value());
  EXPECT_FALSE(parse_decap_mode("").has_value());
  EXPECT_FALSE(parse_decap_mode("erspan2").has_value());
}

}  // namespace
}  // namespace xcap
