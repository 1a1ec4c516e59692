// Decapsulator on broken input: every prefix of every encapsulation (each header cut at every
// byte), wrong flags and versions, bad lengths, unknown protocols and mutated frames. Nothing may
// be read outside the input (each input is its own heap buffer of exactly its length, so
// ASan/valgrind see any overread) and the outcome must be exactly the one defined in
// decapsulator.h:
//   - cut before the tunnel is identified (inside the outer L2/IP/UDP headers, or the GRE
//     carrier's IP header): not a tunnel, passed through unchanged;
//   - cut after that, inside the outermost tunnel's header or its inner link header:
//     DecapError::Truncated naming that tunnel; a cut at a nested level is no error: the frame
//     reached so far is the result (inner_error says why it stopped).
#include <gtest/gtest.h>

#include <random>

#include "common/decap_frames.h"
#include "decap/decapsulator.h"

namespace xcap {
namespace {

using namespace test;  // decap_frames.h

// Decapsulates a private copy of exactly len bytes.
DecapResult decap_copy(const Bytes& f, size_t len, uint32_t wire_len, const DecapConfig& c = {}) {
  const Bytes copy(f.begin(), f.begin() + len);
  DecapResult r = Decapsulator(c).decap(copy.data(), uint32_t(len), wire_len);
  // Pointers into the copy become offsets, so the caller can compare them after it is gone.
  r.data = f.data() + (r.data - copy.data());
  return r;
}

// What any result must satisfy, whatever the input.
void check_invariants(const DecapResult& r, const uint8_t* frame, uint32_t caplen,
                      uint32_t wire_len) {
  ASSERT_GE(r.data, frame);
  ASSERT_LE(r.data + r.caplen, frame + caplen);
  if (!r.ok() || r.depth == 0) {
    EXPECT_EQ(r.data, frame);
    EXPECT_EQ(r.caplen, caplen);
    EXPECT_EQ(r.wire_len, wire_len);
    EXPECT_EQ(r.link_type, LinkType::Ethernet);
  } else {
    EXPECT_GE(r.wire_len, r.caplen);
    EXPECT_NE(r.source.tunnel, Tunnel::None);
  }
  EXPECT_EQ(r.ok(), r.error_tunnel == Tunnel::None);
  if (r.ok() && r.depth == 0) {
    EXPECT_EQ(r.source.tunnel, Tunnel::None);
  }
}

// ---- every prefix -------------------------------------------------------------------------

// From `from` bytes on (until the next stage), the outcome is:
struct Stage {
  size_t from;
  DecapError error;  // None: success
  Tunnel tunnel;     // the failing tunnel
  unsigned depth;    // tunnels stripped
  size_t inner = 0;  // on success with depth > 0: offset of the inner frame
};

struct PrefixCase {
  const char* name;
  Bytes frame;
  std::vector<Stage> stages;
};

constexpr DecapError kOk = DecapError::None, kCut = DecapError::Truncated;

std::vector<PrefixCase> prefix_cases() {
  const Bytes in = inner_eth();
  std::vector<PrefixCase> c;
  c.push_back({"vxlan_ipv4",
               outer_udp(4789).vxlan(100).bytes(in).build(),
               {{0, kOk, Tunnel::None, 0}, {42, kCut, Tunnel::Vxlan, 0}, {64, kOk, {}, 1, 50}}});
  c.push_back({"vxlan_ipv6",
               FrameBuilder()
                   .eth()
                   .ipv6("2001:db8::10", "2001:db8::20")
                   .udp(49152, 4789)
                   .vxlan(100)
                   .bytes(in)
                   .build(),
               {{0, kOk, {}, 0}, {62, kCut, Tunnel::Vxlan, 0}, {84, kOk, {}, 1, 70}}});
  c.push_back({"vxlan_qinq",
               FrameBuilder()
                   .eth()
                   .vlan(1, 0x88a8)
                   .vlan(2)
                   .ipv4(kOuterSrc, kOuterDst)
                   .udp(49152, 4789)
                   .vxlan(100)
                   .bytes(in)
                   .build(),
               {{0, kOk, {}, 0}, {50, kCut, Tunnel::Vxlan, 0}, {72, kOk, {}, 1, 58}}});
  {
    Bytes opts = FrameBuilder::geneve_option(0x0108, 1, Bytes(16, 7));
    c.push_back({"geneve_options",
                 outer_udp(6081).geneve(7, 0x6558, opts).bytes(in).build(),
                 {{0, kOk, {}, 0}, {42, kCut, Tunnel::Geneve, 0}, {84, kOk, {}, 1, 70}}});
  }
  c.push_back({"geneve_raw_ipv4",
               outer_udp(6081).geneve(7, 0x0800).bytes(inner_ipv4()).build(),
               {{0, kOk, {}, 0}, {42, kCut, Tunnel::Geneve, 0}, {51, kOk, {}, 1, 50}}});
  c.push_back({"geneve_vxlan_nested",
               outer_udp(6081)
                   .geneve(77, 0x0800, FrameBuilder::geneve_option(0x0108, 1, Bytes(8, 1)))
                   .ipv4("198.18.0.30", "198.18.0.40")
                   .udp(65000, 4789)
                   .vxlan(100)
                   .bytes(in)
                   .build(),
               {{0, kOk, {}, 0},
                {42, kCut, Tunnel::Geneve, 0},
                {63, kOk, {}, 1, 62},  // the inner IPv4/UDP is not yet a tunnel
                {90, kOk, {}, 1, 62},  // a cut nested VXLAN: the GENEVE's inner packet
                {112, kOk, {}, 2, 98}}});
  c.push_back({"erspan1",
               outer_gre(0x88be).bytes(in).build(),
               {{0, kOk, {}, 0},
                {34, kCut, Tunnel::Gre, 0},
                {38, kCut, Tunnel::Erspan1, 0},
                {52, kOk, {}, 1, 38}}});
  c.push_back({"erspan2",
               outer_gre(0x88be, {.seq = 1}).erspan2(5).bytes(in).build(),
               {{0, kOk, {}, 0},
                {34, kCut, Tunnel::Gre, 0},
                {42, kCut, Tunnel::Erspan2, 0},
                {64, kOk, {}, 1, 50}}});
  c.push_back({"erspan3",
               outer_gre(0x22eb, {.seq = 1}).erspan3(5).bytes(in).build(),
               {{0, kOk, {}, 0},
                {34, kCut, Tunnel::Gre, 0},
                {42, kCut, Tunnel::Erspan3, 0},
                {68, kOk, {}, 1, 54}}});
  c.push_back({"erspan3_subheader",
               outer_gre(0x22eb, {.seq = 1}).erspan3(5, {.subheader = true}).bytes(in).build(),
               {{0, kOk, {}, 0},
                {34, kCut, Tunnel::Gre, 0},
                {42, kCut, Tunnel::Erspan3, 0},
                {76, kOk, {}, 1, 62}}});
  c.push_back({"gre_key_ethernet",
               outer_gre(0x6558, {.key = 9}).bytes(in).build(),
               {{0, kOk, {}, 0}, {34, kCut, Tunnel::Gre, 0}, {56, kOk, {}, 1, 42}}});
  c.push_back({"gre_csum_key_seq_ethernet",
               outer_gre(0x6558, {.key = 9, .seq = 2, .checksum = true}).bytes(in).build(),
               {{0, kOk, {}, 0}, {34, kCut, Tunnel::Gre, 0}, {64, kOk, {}, 1, 50}}});
  c.push_back({"gre_ipv4",
               outer_gre(0x0800).bytes(inner_ipv4()).build(),
               {{0, kOk, {}, 0}, {34, kCut, Tunnel::Gre, 0}, {39, kOk, {}, 1, 38}}});
  return c;
}

TEST(DecapMalformed, EveryPrefixOfEveryEncapsulation) {
  for (const PrefixCase& pc : prefix_cases()) {
    for (size_t len = 0; len <= pc.frame.size(); ++len) {
      SCOPED_TRACE(std::string(pc.name) + " cut at " + std::to_string(len));
      const Stage* st = &pc.stages.front();
      for (const Stage& s : pc.stages)
        if (s.from <= len) st = &s;
      const DecapResult r = decap_copy(pc.frame, len, uint32_t(len));
      check_invariants(r, pc.frame.data(), uint32_t(len), uint32_t(len));
      ASSERT_EQ(r.error, st->error) << to_string(r.error);
      EXPECT_EQ(r.error_tunnel, st->tunnel) << to_string(r.error_tunnel);
      EXPECT_EQ(r.depth, st->depth);
      if (st->error == kOk && st->depth > 0) {
        EXPECT_EQ(r.data, pc.frame.data() + st->inner);
        EXPECT_EQ(r.caplen, len - st->inner);
      }
    }
  }
}

TEST(DecapMalformed, EveryPrefixWithTheWireLengthKnown) {
  // The same cuts made by the capture (snaplen) rather than the sender: the outcome is the
  // same, and a decapsulated frame's original length is the inner frame's full length.
  for (const PrefixCase& pc : prefix_cases()) {
    const Stage& last = pc.stages.back();
    const uint32_t wire = uint32_t(pc.frame.size());
    for (size_t len = 0; len <= pc.frame.size(); ++len) {
      SCOPED_TRACE(std::string(pc.name) + " cut at " + std::to_string(len));
      const DecapResult r = decap_copy(pc.frame, len, wire);
      check_invariants(r, pc.frame.data(), uint32_t(len), wire);
      if (len >= last.from) {
        ASSERT_TRUE(r.ok()) << to_string(r.error);
        EXPECT_EQ(r.wire_len, wire - last.inner);
      }
    }
  }
}

// ---- single broken fields -----------------------------------------------------------------

struct BadCase {
  std::string name;
  Bytes frame;
  DecapError error;
  Tunnel tunnel;
  unsigned depth = 0;
  uint32_t caplen = 0;  // 0: the whole frame
  DecapConfig config = {};
};

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = uint8_t(v >> 8), b[off + 1] = uint8_t(v);
}

std::vector<BadCase> bad_cases() {
  const Bytes in = inner_eth();
  std::vector<BadCase> c;
  c.push_back({"vxlan_i_flag_clear", outer_udp(4789).vxlan(100, 0x00).bytes(in).build(),
               DecapError::BadFlags, Tunnel::Vxlan});
  c.push_back({"vxlan_other_flags_only", outer_udp(4789).vxlan(100, 0xf7).bytes(in).build(),
               DecapError::BadFlags, Tunnel::Vxlan});
  c.push_back({"geneve_version_1", outer_udp(6081).geneve(1, 0x6558, {}, 1).bytes(in).build(),
               DecapError::BadFlags, Tunnel::Geneve});
  c.push_back({"geneve_version_3", outer_udp(6081).geneve(1, 0x6558, {}, 3).bytes(in).build(),
               DecapError::BadFlags, Tunnel::Geneve});
  c.push_back({"geneve_unknown_protocol", outer_udp(6081).geneve(1, 0x88b5).bytes(in).build(),
               DecapError::UnknownProtocol, Tunnel::Geneve});
  {
    Bytes f = outer_udp(6081).geneve(1).bytes(in).build();
    f[42] |= 0x3f;  // 252 bytes of options: past the end of the packet
    c.push_back({"geneve_options_past_packet", f, DecapError::BadLength, Tunnel::Geneve});
    // The same when the capture ends first but the packet (per its lengths) goes on.
    Bytes big = outer_udp(6081).geneve(1).bytes(in).payload(400).build();
    big[42] |= 0x3f;
    c.push_back(
        {"geneve_options_past_capture", big, DecapError::Truncated, Tunnel::Geneve, 0, 200});
  }
  {
    Bytes f = outer_udp(4789).vxlan(1).bytes(in).build();
    put16(f, 38, 7);  // UDP length below its own header
    c.push_back({"udp_length_below_8", f, DecapError::BadLength, Tunnel::Vxlan});
    put16(f, 38, 0);  // 0 is legal only over IPv6 (jumbograms)
    c.push_back({"udp_length_0_over_ipv4", f, DecapError::BadLength, Tunnel::Vxlan});
  }
  {
    Bytes f = outer_udp(4789).vxlan(1).bytes(in).build();
    put16(f, 38, uint16_t(f.size() - 34 + 1));  // one byte longer than the IP payload
    c.push_back({"udp_length_past_ip", f, DecapError::BadLength, Tunnel::Vxlan});
  }
  {
    Bytes f = outer_udp(4789).vxlan(1).bytes(in).build();
    put16(f, 16, 28);  // the IP packet ends right after the UDP header
    put16(f, 38, 8);
    c.push_back({"ip_ends_before_vxlan", f, DecapError::BadLength, Tunnel::Vxlan});
  }
  c.push_back({"vxlan_inner_ethernet_past_packet", outer_udp(4789).vxlan(1).payload(10).build(),
               DecapError::BadLength, Tunnel::Vxlan});
  c.push_back({"gre_version_1", outer_gre(0x6558, {.extra_flags = 1}).bytes(in).build(),
               DecapError::BadFlags, Tunnel::Gre});
  c.push_back({"gre_routing_present", outer_gre(0x6558, {.extra_flags = 0x4000}).bytes(in).build(),
               DecapError::BadFlags, Tunnel::Gre});
  c.push_back({"gre_unknown_protocol", outer_gre(0x880b).bytes(in).build(),
               DecapError::UnknownProtocol, Tunnel::Gre});
  c.push_back({"erspan2_version_2",
               outer_gre(0x88be, {.seq = 1}).erspan2(5, {.version = 2}).bytes(in).build(),
               DecapError::BadFlags, Tunnel::Erspan2});
  c.push_back({"erspan3_version_1",
               outer_gre(0x22eb, {.seq = 1}).erspan3(5, {.version = 1}).bytes(in).build(),
               DecapError::BadFlags, Tunnel::Erspan3});
  {
    // O bit set, but the packet ends before the 8-byte subheader would.
    Bytes f = outer_gre(0x22eb, {.seq = 1}).erspan3(5).payload(7).build(false);
    f[42 + 11] |= 1;
    c.push_back({"erspan3_subheader_past_packet", f, DecapError::BadLength, Tunnel::Erspan3});
  }
  c.push_back({"erspan2_header_past_packet", outer_gre(0x88be, {.seq = 1}).payload(6).build(false),
               DecapError::BadLength, Tunnel::Erspan2});
  return c;
}

TEST(DecapMalformed, BrokenFieldsAreErrors) {
  for (const BadCase& bc : bad_cases()) {
    SCOPED_TRACE(bc.name);
    const uint32_t caplen = bc.caplen ? bc.caplen : uint32_t(bc.frame.size());
    const uint32_t wire = uint32_t(bc.frame.size());
    const DecapResult r = decap_copy(bc.frame, caplen, wire, bc.config);
    check_invariants(r, bc.frame.data(), caplen, wire);
    EXPECT_EQ(r.error, bc.error) << to_string(r.error);
    EXPECT_EQ(r.error_tunnel, bc.tunnel) << to_string(r.error_tunnel);
    EXPECT_EQ(r.depth, bc.depth);
    // The outer source is known even on error (for per-source error counts).
    EXPECT_EQ(r.source.addr[0], 198);
    EXPECT_NE(r.source.tunnel, Tunnel::None);
  }
}

TEST(DecapMalformed, BrokenCarriersAreNotTunnels) {
  // The outer IP header is what identifies a tunnel: when it is inconsistent, the frame is
  // not a tunnel (the XDP program counts it as malformed) and passes through unchanged.
  const Bytes good = outer_udp(4789).vxlan(1).bytes(inner_eth()).build();
  std::vector<std::pair<const char*, Bytes>> cases;
  auto with = [&](const char* name, auto mutate) {
    Bytes f = good;
    mutate(f);
    cases.emplace_back(name, f);
  };
  with("ipv4_ihl_4", [](Bytes& f) { f[14] = 0x44; });
  with("ipv4_version_6", [](Bytes& f) { f[14] = 0x65; });
  with("ipv4_total_below_ihl", [](Bytes& f) { put16(f, 16, 19); });
  with("ipv4_ihl_15_past_packet", [](Bytes& f) { put16(f, 16, 40), f[14] = 0x4f; });
  with("ipv4_total_cuts_udp", [](Bytes& f) { put16(f, 16, 24); });
  with("ipv4_later_fragment", [](Bytes& f) { put16(f, 20, 0x2001); });
  with("ethertype_arp", [](Bytes& f) { put16(f, 12, 0x0806); });
  with("udp_not_proto", [](Bytes& f) { f[23] = 6; });
  Bytes v6 = FrameBuilder()
                 .eth()
                 .ipv6("2001:db8::10", "2001:db8::20")
                 .udp(1, 4789)
                 .vxlan(1)
                 .bytes(inner_eth())
                 .build();
  v6[14] = 0x40;  // version 4 under ethertype IPv6
  cases.emplace_back("ipv6_version_4", v6);
  for (const auto& [name, f] : cases) {
    SCOPED_TRACE(name);
    const DecapResult r = decap_copy(f, f.size(), uint32_t(f.size()));
    check_invariants(r, f.data(), uint32_t(f.size()), uint32_t(f.size()));
    EXPECT_TRUE(r.ok()) << to_string(r.error);
    EXPECT_EQ(r.depth, 0);
  }
}

// ---- mutations ----------------------------------------------------------------------------

TEST(DecapMalformed, MutatedFramesKeepInvariants) {
  std::vector<Bytes> seeds;
  for (const PrefixCase& pc : prefix_cases()) seeds.push_back(pc.frame);
  for (const BadCase& bc : bad_cases()) seeds.push_back(bc.frame);
  std::mt19937 rng(20261121);
  using Mode = DecapConfig::Mode;
  const Mode modes[] = {Mode::Auto, Mode::Vxlan, Mode::Geneve, Mode::Erspan, Mode::Gre};
  std::vector<Decapsulator> decaps;
  for (Mode m : modes) {
    DecapConfig c;
    c.mode = m;
    c.max_depth = 2;
    decaps.emplace_back(c);
  }
  size_t decapsulated = 0, errors = 0;
  for (int i = 0; i < 30000; ++i) {
    Bytes f = seeds[rng() % seeds.size()];
    for (int flips = 1 + rng() % 4; flips > 0; --flips)
      f[rng() % f.size()] = rng() % 3 ? uint8_t(rng()) : uint8_t(f[rng() % f.size()]);
    if (rng() % 2) f.resize(rng() % (f.size() + 1));
    const uint32_t wire = uint32_t(f.size() + (rng() % 2 ? rng() % 2000 : 0));
    const Decapsulator& d = decaps[rng() % decaps.size()];
    const Bytes copy = f;  // exact-size heap buffer
    const DecapResult r = d.decap(copy.data(), uint32_t(copy.size()), wire);
    check_invariants(r, copy.data(), uint32_t(copy.size()), wire);
    if (HasFatalFailure()) return;
    decapsulated += r.ok() && r.depth > 0;
    errors += !r.ok();
  }
  // The mutations must exercise both outcomes, or this test proves nothing.
  EXPECT_GT(decapsulated, 2000u);  // 3382 with this seed
  EXPECT_GT(errors, 4000u);        // 6027 with this seed
}

TEST(DecapMalformed, RandomBytesKeepInvariants) {
  std::mt19937 rng(7);
  const Decapsulator d;
  for (int i = 0; i < 20000; ++i) {
    Bytes f(rng() % 160);
    for (auto& b : f) b = uint8_t(rng());
    if (f.size() >= 14 && rng() % 2) f[12] = 0x08, f[13] = 0x00;  // IPv4, to get further
    if (f.size() >= 15 && rng() % 2) f[14] = 0x45;
    const DecapResult r = d.decap(f.data(), uint32_t(f.size()), uint32_t(f.size()));
    check_invariants(r, f.data(), uint32_t(f.size()), uint32_t(f.size()));
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace xcap
