// DecapStage: the worker's decapsulation step over a batch, on crafted frames.
#include "worker/decap_stage.h"

#include <gtest/gtest.h>

#include "common/frame_builder.h"
#include "common/frame_format.h"

namespace xcap::worker {
namespace {

PacketView view(Bytes& f) {
  PacketView v;
  v.data = f.data();
  v.caplen = v.wire_len = uint32_t(f.size());
  v.ts_ns = 42;
  return v;
}

Bytes inner_ipv4() {
  return FrameBuilder().ipv4("198.19.0.1", "198.19.0.2").udp(1000, 2000).payload(40).build(false);
}

Bytes vxlan(const std::string& outer_src, uint32_t vni, const Bytes& inner, uint8_t flags = 0x08) {
  return FrameBuilder()
      .eth()
      .ipv4(outer_src, "198.18.0.2")
      .udp(50000, 4789)
      .vxlan(vni, flags)
      .bytes(inner)
      .build();
}

Bytes inner_eth() {
  return FrameBuilder()
      .eth({0x02, 9, 9, 9, 9, 9}, {0x02, 8, 8, 8, 8, 8})
      .ipv4("198.19.0.1", "198.19.0.2")
      .tcp(1, 2)
      .payload(30)
      .build();
}

TEST(DecapStage, RawIpInnerGetsAnEthernetHeaderByDefault) {
  DecapStageConfig cfg;
  DecapStage stage(cfg);
  const Bytes ip = inner_ipv4();
  Bytes f = FrameBuilder()
                .eth()
                .ipv4("198.18.0.10", "198.18.0.2")
                .udp(50000, 6081)
                .geneve(7, 0x0800)
                .bytes(ip)
                .build();
  PacketView batch[1] = {view(f)};
  ASSERT_EQ(stage.apply(batch, 1), 1u);
  ASSERT_EQ(batch[0].caplen, ip.size() + 14);
  EXPECT_EQ(batch[0].wire_len, ip.size() + 14);
  const Bytes want_eth{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x08, 0x00};
  EXPECT_FRAME_EQ(Bytes(batch[0].data, batch[0].data + 14), want_eth);
  EXPECT_FRAME_EQ(Bytes(batch[0].data + 14, batch[0].data + batch[0].caplen), ip);
  EXPECT_EQ(batch[0].iface_id, 0u);  // pcap without a table: every record on interface 0
  EXPECT_EQ(batch[0].ts_ns, 42u);
  EXPECT_EQ(stage.counters().decapsulated.get(), 1u);
}

struct MixedSources {
  Bytes in_eth = inner_eth(), in_ip = inner_ipv4();
  Bytes a = vxlan("198.18.0.10", 100, in_eth), b = vxlan("198.18.0.11", 100, in_eth),
        a2 = vxlan("198.18.0.10", 100, in_eth), g = geneve_l3("198.18.0.12", in_ip),
        g_eth = FrameBuilder()
                    .eth()
                    .ipv4("198.18.0.12", "198.18.0.2")
                    .udp(50000, 6081)
                    .geneve(7, 0x6558)
                    .bytes(in_eth)
                    .build(),
        plain =
            FrameBuilder().eth().ipv4("198.18.0.13", "198.18.0.2").udp(1, 2).payload(20).build();
  static Bytes geneve_l3(const std::string& outer_src, const Bytes& ip) {
    return FrameBuilder()
        .eth()
        .ipv4(outer_src, "198.18.0.2")
        .udp(50000, 6081)
        .geneve(7, 0x0800)
        .bytes(ip)
        .build();
  }
};

TEST(DecapStage, EachSourceGetsOneEthernetInterface) {
  sink::InterfaceTable table({"eth9", 1});
  DecapStageConfig cfg;
  cfg.interfaces = &table;
  DecapStage stage(cfg);
  MixedSources m;
  PacketView batch[6] = {view(m.a), view(m.b), view(m.a2), view(m.g), view(m.plain), view(m.g_eth)};
  ASSERT_EQ(stage.apply(batch, 6), 6u);
  EXPECT_EQ(batch[0].iface_id, 1u);
  EXPECT_EQ(batch[1].iface_id, 2u);
  EXPECT_EQ(batch[2].iface_id, 1u);
  EXPECT_EQ(batch[3].iface_id, 3u);
  EXPECT_EQ(batch[4].iface_id, 0u);  // not a tunnel: as it arrived, on the capture interface
  EXPECT_EQ(batch[5].iface_id, 3u);  // the same source's Ethernet frames: the same interface
  EXPECT_FRAME_EQ(Bytes(batch[4].data, batch[4].data + batch[4].caplen), m.plain);
  EXPECT_FRAME_EQ(Bytes(batch[0].data, batch[0].data + batch[0].caplen), m.in_eth);
  EXPECT_FRAME_EQ(Bytes(batch[3].data + 14, batch[3].data + batch[3].caplen), m.in_ip);
  for (unsigned i = 0; i < 6; i++) EXPECT_EQ(batch[i].link_type, 1u) << i;
  ASSERT_EQ(table.published(), 4u);
  EXPECT_EQ(table.at(1).name, "vxlan:198.18.0.10:vni100");
  EXPECT_EQ(table.at(2).name, "vxlan:198.18.0.11:vni100");
  EXPECT_EQ(table.at(3).name, "geneve:198.18.0.12:vni7");
  for (uint32_t i = 0; i < 4; i++) EXPECT_EQ(table.at(i).link_type, 1u) << i;
}

TEST(DecapStage, BareIpLinkRawGivesRawIpItsOwnInterface) {
  sink::InterfaceTable table({"eth9", 1});
  DecapStageConfig cfg;
  cfg.interfaces = &table;
  cfg.synthesize_ethernet = false;  // --bare-ip-link raw
  DecapStage stage(cfg);
  MixedSources m;
  PacketView batch[2] = {view(m.g), view(m.g_eth)};
  ASSERT_EQ(stage.apply(batch, 2), 2u);
  EXPECT_FRAME_EQ(Bytes(batch[0].data, batch[0].data + batch[0].caplen),
                  m.in_ip);  // no header added
  EXPECT_EQ(batch[0].link_type, 101u);
  EXPECT_EQ(batch[0].iface_id, 1u);
  EXPECT_EQ(batch[1].iface_id, 2u);
  ASSERT_EQ(table.published(), 3u);
  EXPECT_EQ(table.at(1).name, "geneve:198.18.0.12:vni7-ip");
  EXPECT_EQ(table.at(1).link_type, 101u);
  EXPECT_EQ(table.at(2).name, "geneve:198.18.0.12:vni7");
  EXPECT_EQ(table.at(2).link_type, 1u);
}

TEST(DecapStage, NestedLevelThatDoesNotParseIsKeptAndCounted) {
  DecapStageConfig cfg;
  cfg.decap.max_depth = 2;
  DecapStage stage(cfg);
  // A customer's UDP to 4789 that is not VXLAN, inside a VXLAN mirror.
  const Bytes customer =
      FrameBuilder().eth().ipv4("198.19.0.1", "198.19.0.2").udp(1, 4789).payload(3).build();
  Bytes f = vxlan("198.18.0.10", 100, customer);
  PacketView batch[1] = {view(f)};
  ASSERT_EQ(stage.apply(batch, 1), 1u);
  EXPECT_FRAME_EQ(Bytes(batch[0].data, batch[0].data + batch[0].caplen), customer);
  EXPECT_EQ(stage.counters().inner_kept.get(), 1u);
  EXPECT_EQ(stage.counters().decapsulated.get(), 1u);
  EXPECT_EQ(stage.counters().dropped.get(), 0u);
  for (const auto& e : stage.counters().errors) EXPECT_EQ(e.get(), 0u);
}

TEST(DecapStage, FailuresAreCountedThenDroppedOrKeptWhole) {
  const Bytes in_eth = inner_eth();
  for (bool keep : {false, true}) {
    DecapStageConfig cfg;
    cfg.keep_errors = keep;
    DecapStage stage(cfg);
    Bytes good = vxlan("198.18.0.10", 100, in_eth), bad = vxlan("198.18.0.10", 100, in_eth, 0x00),
          good2 = vxlan("198.18.0.10", 101, in_eth);
    PacketView batch[3] = {view(good), view(bad), view(good2)};
    unsigned n = stage.apply(batch, 3);
    const auto& c = stage.counters();
    EXPECT_EQ(c.errors[unsigned(Tunnel::Vxlan)].get(), 1u);
    EXPECT_EQ(c.decapsulated.get(), 2u);
    if (keep) {
      ASSERT_EQ(n, 3u);
      EXPECT_FRAME_EQ(Bytes(batch[1].data, batch[1].data + batch[1].caplen), bad);  // outer, whole
      EXPECT_EQ(batch[1].iface_id, 0u);
      EXPECT_EQ(c.dropped.get(), 0u);
    } else {
      ASSERT_EQ(n, 2u);  // the batch closes up, order kept
      EXPECT_FRAME_EQ(Bytes(batch[0].data, batch[0].data + batch[0].caplen), in_eth);
      EXPECT_FRAME_EQ(Bytes(batch[1].data, batch[1].data + batch[1].caplen), in_eth);
      EXPECT_EQ(c.dropped.get(), 1u);
    }
  }
}

TEST(DecapStage, TruncatedMirrorKeepsTheTrueWireLength) {
  DecapStage stage(DecapStageConfig{});
  Bytes full =
      FrameBuilder().eth().ipv4("198.19.0.1", "198.19.0.2").tcp(1, 2).payload(1460).build();
  ASSERT_EQ(full.size(), 1514u);
  Bytes cut(full.begin(), full.begin() + 200);
  Bytes f = vxlan("198.18.0.10", 100, cut);
  PacketView batch[1] = {view(f)};
  ASSERT_EQ(stage.apply(batch, 1), 1u);
  EXPECT_EQ(batch[0].caplen, 200u);
  EXPECT_EQ(batch[0].wire_len, 1514u);
}

}  // namespace
}  // namespace xcap::worker
