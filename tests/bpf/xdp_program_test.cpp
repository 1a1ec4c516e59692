// Tests of bpf/xcap.bpf.c: loads the skeleton once per mode and runs the XDP program with
// bpf_prog_test_run_opts on frames made by FrameBuilder, checking verdict, counters and the
// xcap_meta record prepended on the capture path.
//
// Privileged: needs root (BPF, netns, veth, AF_XDP). Skips only when XCAP_SKIP_PRIVILEGED=1;
// otherwise a missing privilege or a BPF failure fails the test.
//
// The capture path needs an AF_XDP socket in xsks_map. Without one the program passes the frame
// and counts NO_SOCKET; with one it returns XDP_REDIRECT (test_run without live frames does not
// perform the redirect, so nothing reaches the socket). The socket is bound in copy mode to
// queue 0 of a veth end left in the root namespace; the peer lives in a namespace made by the
// test (tests/common/xsk_test_socket.h).
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_ether.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "bpf_loader/program_state.h"
#include "common/frame_builder.h"
#include "common/frame_format.h"
#include "common/subprocess.h"  // XCAP_REQUIRE_PRIVILEGED
#include "common/xdp_test_run.h"
#include "common/xsk_test_socket.h"
#include "xcap_abi.h"  // before the skeleton, which names struct xcap_config

#include "xcap.skel.h"

namespace {

using xcap::Bytes;
using xcap::FrameBuilder;
using xcap::test::kSecondVxlanPort;
using xcap::test::XcapSkel;
using xcap::test::XskTestSocket;

constexpr size_t kNever = std::numeric_limits<size_t>::max();  // parse_end: always malformed

const char* mode_name(uint32_t mode) {
  switch (mode) {
    case XCAP_MODE_MIRROR:
      return "mirror";
    case XCAP_MODE_SPAN:
      return "span";
    case XCAP_MODE_LOCAL:
      return "local";
  }
  return "?";
}

struct Counters {
  std::array<uint64_t, XCAP_CNT_MAX> v{};
  uint64_t operator[](int i) const { return v[i]; }
  Counters operator-(const Counters& o) const {
    Counters d;
    for (int i = 0; i < XCAP_CNT_MAX; i++) d.v[i] = v[i] - o.v[i];
    return d;
  }
};

using RunResult = xcap::test::XdpTestRun;

// One loaded skeleton, configured for one mode.
class XdpProgram {
 public:
  // Returns nullptr and sets *err on failure.
  static std::unique_ptr<XdpProgram> load(uint32_t mode, std::string* err, bool armed = true) {
    XcapSkel skel = xcap::test::load_xcap_skel(mode, err, xcap::test::kTunnelsStripped, armed);
    if (!skel) return nullptr;
    auto p = std::unique_ptr<XdpProgram>(new XdpProgram);
    p->skel_ = std::move(skel);
    return p;
  }

  xcap::Result<void> arm() { return xcap::bpf_loader::set_capturing(skel_.get(), true); }
  int prog_fd() const { return bpf_program__fd(skel_->progs.xcap_xdp); }
  int xsks_fd() const { return bpf_map__fd(skel_->maps.xsks_map); }

  // Runs the program once on frame, preceded by meta_in bytes of existing metadata.
  RunResult run(const Bytes& frame, uint32_t ifindex = 0, uint32_t meta_in = 0) const {
    Bytes in(meta_in, 0x5a);
    in.insert(in.end(), frame.begin(), frame.end());
    return xcap::test::xdp_test_run(prog_fd(), in, meta_in, ifindex);
  }

  xcap::Result<void> set_self(const std::string& addr, uint16_t port) const {
    return xcap::bpf_loader::set_self_endpoint(skel_.get(), addr, port);
  }

  Counters counters() const {
    return {xcap::test::read_counters(bpf_map__fd(skel_->maps.xcap_counters))};
  }

  // As XcapProgram::set_max_frame does for sockets without multi-buffer (the skeleton loaded
  // the object itself, so its bss pointer is the kernel's copy).
  void set_max_frame(uint32_t bytes, bool linear_only) const {
    skel_->bss->xcap_max_frame = bytes;
    skel_->bss->xcap_linear_only = linear_only;
  }

 private:
  XdpProgram() = default;
  XcapSkel skel_;
};

// ---- frames -------------------------------------------------------------------------------

// A crafted frame and what the program should make of it.
struct Case {
  std::string name;
  Bytes frame;
  uint16_t flags;    // expected xcap_meta flags (tunnel class, VLAN, IPV6, MALFORMED)
  size_t parse_end;  // bytes the parser must see; a shorter prefix is malformed (kNever: always)
};

constexpr uint16_t kTunnel = XCAP_META_F_VXLAN | XCAP_META_F_GENEVE | XCAP_META_F_GRE;

FrameBuilder inner_v4(FrameBuilder f) {
  return f.eth().ipv4("198.18.1.1", "198.18.1.2").tcp(40000, 443).payload(32);
}

FrameBuilder outer_v4(uint16_t sport, uint16_t dport) {
  return FrameBuilder().eth().ipv4("198.18.0.1", "198.18.0.2").udp(sport, dport);
}

void put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = v >> 8, b[off + 1] = v & 0xff;
}

std::vector<Case> cases() {
  constexpr size_t kEth = 14, kV4 = 20, kV6 = 40, kUdp = 8;
  const Bytes geneve_hdr = {0, 0, 0x65, 0x58, 0, 0, 100, 0};
  const Bytes erspan_hdr = {0x10, 0, 0, 1, 0, 0, 0, 0};
  std::vector<Case> c;

  // For capture in mirror mode.
  c.push_back({"vxlan_4789", inner_v4(outer_v4(49152, 4789).vxlan(100)).build(), XCAP_META_F_VXLAN,
               kEth + kV4 + kUdp});
  c.push_back({"vxlan_second_port", inner_v4(outer_v4(49152, kSecondVxlanPort).vxlan(7)).build(),
               XCAP_META_F_VXLAN, kEth + kV4 + kUdp});
  c.push_back({"geneve", inner_v4(outer_v4(49152, 6081).bytes(geneve_hdr)).build(),
               XCAP_META_F_GENEVE, kEth + kV4 + kUdp});
  c.push_back({"gre_ipv4",
               inner_v4(FrameBuilder().eth().ipv4("198.18.0.1", "198.18.0.2").gre(0x6558)).build(),
               XCAP_META_F_GRE, kEth + kV4});
  c.push_back(
      {"erspan_gre_ipv6",
       inner_v4(
           FrameBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").gre(0x88be).bytes(erspan_hdr))
           .build(),
       XCAP_META_F_GRE | XCAP_META_F_IPV6, kEth + kV6});
  c.push_back({"vxlan_vlan",
               inner_v4(FrameBuilder()
                            .eth()
                            .vlan(10)
                            .ipv4("198.18.0.1", "198.18.0.2")
                            .udp(49152, 4789)
                            .vxlan(100))
                   .build(),
               XCAP_META_F_VXLAN | XCAP_META_F_VLAN, kEth + 4 + kV4 + kUdp});
  c.push_back({"vxlan_qinq",
               inner_v4(FrameBuilder()
                            .eth()
                            .vlan(10, 0x88a8)
                            .vlan(20)
                            .ipv4("198.18.0.1", "198.18.0.2")
                            .udp(49152, 4789)
                            .vxlan(100))
                   .build(),
               XCAP_META_F_VXLAN | XCAP_META_F_VLAN, kEth + 8 + kV4 + kUdp});
  c.push_back(
      {"vxlan_ipv6",
       inner_v4(FrameBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(49152, 4789).vxlan(100))
           .build(),
       XCAP_META_F_VXLAN | XCAP_META_F_IPV6, kEth + kV6 + kUdp});
  {
    // IPv4 with 4 bytes of options (IHL 6): the UDP header starts after them.
    Bytes f = inner_v4(outer_v4(49152, 4789).vxlan(100)).build();
    f.insert(f.begin() + kEth + kV4, {1, 1, 1, 0});  // NOP NOP NOP EOL
    f[kEth] = 0x46;
    put16(f, kEth + 2, uint16_t(f.size() - kEth));
    c.push_back({"vxlan_ipv4_options", f, XCAP_META_F_VXLAN, kEth + 24 + kUdp});
  }
  {
    // FrameBuilder fills a zero next header with the following layer's protocol, and 0 is
    // hop-by-hop: set it after build().
    Bytes f = inner_v4(FrameBuilder()
                           .eth()
                           .ipv6("2001:db8::1", "2001:db8::2", 17)
                           .bytes({17, 0, 1, 4, 0, 0, 0, 0})  // next UDP, PadN
                           .udp(49152, 4789)
                           .vxlan(100))
                  .build();
    f[kEth + 6] = 0;  // IPPROTO_HOPOPTS
    c.push_back(
        {"vxlan_ipv6_hop_by_hop", f, XCAP_META_F_VXLAN | XCAP_META_F_IPV6, kEth + kV6 + 8 + kUdp});
  }
  c.push_back({"vxlan_ipv6_first_fragment",
               inner_v4(FrameBuilder()
                            .eth()
                            .ipv6("2001:db8::1", "2001:db8::2", 44)
                            .bytes({17, 0, 0, 1 /* offset 0, M */, 0, 0, 0, 9})
                            .udp(49152, 4789)
                            .vxlan(100))
                   .build(),
               XCAP_META_F_VXLAN | XCAP_META_F_IPV6, kEth + kV6 + 8 + kUdp});

  // Host traffic: passed in mirror mode.
  c.push_back({"tcp_ssh",
               FrameBuilder().eth().ipv4("198.18.0.2", "198.18.0.1").tcp(50000, 22).build(), 0,
               kEth + kV4});
  c.push_back({"tcp_ssh_ipv6",
               FrameBuilder().eth().ipv6("2001:db8::2", "2001:db8::1").tcp(50000, 22).build(),
               XCAP_META_F_IPV6, kEth + kV6});
  c.push_back(
      {"icmp_ping",
       FrameBuilder().eth().ipv4("198.18.0.2", "198.18.0.1").icmp_echo().payload(56).build(), 0,
       kEth + kV4});
  c.push_back(
      {"icmpv6_ping",
       FrameBuilder().eth().ipv6("2001:db8::2", "2001:db8::1").icmp_echo().payload(56).build(),
       XCAP_META_F_IPV6, kEth + kV6});
  {
    Bytes arp = {0,   1,  8, 0, 6, 4, 0, 1, 2, 0, 0,   0,  0, 1,
                 198, 18, 0, 2, 0, 0, 0, 0, 0, 0, 198, 18, 0, 1};
    c.push_back({"arp",
                 FrameBuilder()
                     .eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {2, 0, 0, 0, 0, 1}, 0x0806)
                     .bytes(arp)
                     .build(),
                 0, kEth});
  }
  c.push_back({"udp_dns", outer_v4(50000, 53).payload(40).build(), 0, kEth + kV4 + kUdp});
  c.push_back(
      {"udp_geneve_minus_one", outer_v4(50000, 6080).payload(40).build(), 0, kEth + kV4 + kUdp});
  c.push_back(
      {"udp_4789_source_only", outer_v4(4789, 50000).payload(40).build(), 0, kEth + kV4 + kUdp});
  c.push_back({"tcp_to_4789",
               FrameBuilder().eth().ipv4("198.18.0.2", "198.18.0.1").tcp(50000, 4789).build(), 0,
               kEth + kV4});
  {
    // A later IPv4 fragment: the bytes after the header are not a UDP header.
    Bytes f = inner_v4(outer_v4(49152, 4789).vxlan(100)).build();
    put16(f, kEth + 6, 0x0001);  // offset 8 bytes
    c.push_back({"ipv4_later_fragment", f, 0, kEth + kV4});
  }
  c.push_back({"ipv6_later_fragment",
               FrameBuilder()
                   .eth()
                   .ipv6("2001:db8::1", "2001:db8::2", 44)
                   .bytes({17, 0, 0, 0x08 /* offset 1 */, 0, 0, 0, 9})
                   .udp(49152, 4789)  // looks like VXLAN, but is fragment payload
                   .payload(32)
                   .build(),
               XCAP_META_F_IPV6, kEth + kV6 + 8});
  c.push_back(
      {"tcp_vlan",
       FrameBuilder().eth().vlan(10).ipv4("198.18.0.2", "198.18.0.1").tcp(50000, 22).build(),
       XCAP_META_F_VLAN, kEth + 4 + kV4});
  c.push_back({"vxlan_three_tags_not_parsed",
               inner_v4(FrameBuilder()
                            .eth()
                            .vlan(10, 0x88a8)
                            .vlan(20, 0x88a8)
                            .vlan(30)
                            .ipv4("198.18.0.1", "198.18.0.2")
                            .udp(49152, 4789)
                            .vxlan(100))
                   .build(),
               XCAP_META_F_VLAN, kEth + 8});
  c.push_back({"garbage_ethertype_ffff", Bytes(60, 0xff), 0, kEth});
  c.push_back({"llc_8023_length", FrameBuilder().eth({}, {}, 46).payload(46).build(), 0, kEth});

  // Malformed however long the frame is.
  {
    Bytes f = inner_v4(outer_v4(49152, 4789).vxlan(100)).build();
    f[kEth] = 0x44;  // IHL 4
    c.push_back({"ipv4_ihl_4", f, XCAP_META_F_MALFORMED, kNever});
  }
  {
    Bytes f = inner_v4(outer_v4(49152, 4789).vxlan(100)).build();
    f[kEth] = 0x65;  // version 6 under ethertype IPv4
    c.push_back({"ipv4_bad_version", f, XCAP_META_F_MALFORMED, kNever});
  }
  {
    Bytes f = inner_v4(outer_v4(49152, 4789).vxlan(100)).build();
    put16(f, kEth + 2, 19);  // total length below the header length
    c.push_back({"ipv4_total_length_short", f, XCAP_META_F_MALFORMED, kNever});
  }
  {
    Bytes f = inner_v4(outer_v4(49152, 4789).vxlan(100)).build();
    put16(f, kEth + kV4 + 4, 4);  // UDP length below 8
    c.push_back({"udp_length_short", f, XCAP_META_F_MALFORMED, kNever});
  }
  {
    Bytes f =
        inner_v4(
            FrameBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(49152, 4789).vxlan(100))
            .build();
    f[kEth] = 0x45;  // version 4 under ethertype IPv6
    c.push_back({"ipv6_bad_version", f, XCAP_META_F_MALFORMED, kNever});
  }
  {
    Bytes f = outer_v4(49152, 4789).build(false);
    f.resize(kEth + 10);  // IPv4 header cut in the middle
    c.push_back({"ipv4_cut", f, XCAP_META_F_MALFORMED, kNever});
  }
  {
    Bytes f = FrameBuilder().eth().vlan(10).build(false);
    f.resize(kEth + 2);  // VLAN tag cut in the middle
    c.push_back({"vlan_cut", f, XCAP_META_F_MALFORMED, kNever});
  }
  return c;
}

bool for_capture(uint32_t mode, uint16_t flags) {
  if (mode == XCAP_MODE_SPAN) return true;
  if (mode == XCAP_MODE_MIRROR) return !(flags & XCAP_META_F_MALFORMED) && (flags & kTunnel);
  return false;
}

// Checks one run against the expectation: verdict, counter deltas, and for a redirect the
// metadata record. with_socket: xsks_map[0] holds a socket.
void expect_run(const XdpProgram& prog, uint32_t mode, const Bytes& frame, uint16_t flags,
                bool with_socket, uint32_t ifindex) {
  Counters before = prog.counters();
  timespec t0{}, t1{};
  clock_gettime(CLOCK_TAI, &t0);
  RunResult r = prog.run(frame, ifindex);
  clock_gettime(CLOCK_TAI, &t1);
  Counters d = prog.counters() - before;

  ASSERT_EQ(r.err, 0) << "bpf_prog_test_run_opts: " << strerror(-r.err);
  bool capture = for_capture(mode, flags);
  bool parsed = mode != XCAP_MODE_LOCAL;
  EXPECT_EQ(d[XCAP_CNT_RX_PACKETS], 1u);
  EXPECT_EQ(d[XCAP_CNT_RX_BYTES], frame.size());
  EXPECT_EQ(d[XCAP_CNT_MALFORMED], parsed && (flags & XCAP_META_F_MALFORMED) ? 1u : 0u);
  EXPECT_EQ(d[XCAP_CNT_VXLAN], parsed && (flags & XCAP_META_F_VXLAN) ? 1u : 0u);
  EXPECT_EQ(d[XCAP_CNT_GENEVE], parsed && (flags & XCAP_META_F_GENEVE) ? 1u : 0u);
  EXPECT_EQ(d[XCAP_CNT_GRE], parsed && (flags & XCAP_META_F_GRE) ? 1u : 0u);
  EXPECT_EQ(d[XCAP_CNT_META_FAILED], 0u);
  EXPECT_EQ(d[XCAP_CNT_PASS], capture ? 0u : 1u);
  EXPECT_EQ(d[XCAP_CNT_NO_SOCKET], capture && !with_socket ? 1u : 0u);
  EXPECT_EQ(d[XCAP_CNT_REDIRECT], capture && with_socket ? 1u : 0u);

  if (!capture || !with_socket) {
    EXPECT_EQ(r.retval, uint32_t(XDP_PASS));
    EXPECT_EQ(r.meta_len, 0u);
    EXPECT_EQ(r.out, frame) << "a passed frame must not be changed";
    return;
  }
  EXPECT_EQ(r.retval, uint32_t(XDP_REDIRECT));
  // test_run copies out from data_meta: the record, then the untouched frame.
  ASSERT_EQ(r.meta_len, sizeof(xcap_meta));
  ASSERT_EQ(r.out.size(), sizeof(xcap_meta) + frame.size());
  xcap_meta m;
  memcpy(&m, r.out.data(), sizeof(m));
  EXPECT_EQ(m.magic, XCAP_META_MAGIC);
  EXPECT_EQ(m.queue, 0u);
  EXPECT_EQ(m.flags, flags);
  uint64_t ns0 = uint64_t(t0.tv_sec) * 1000000000 + t0.tv_nsec;
  uint64_t ns1 = uint64_t(t1.tv_sec) * 1000000000 + t1.tv_nsec;
  EXPECT_GE(m.tai_ns, ns0);
  EXPECT_LE(m.tai_ns, ns1);
  EXPECT_FRAME_EQ(Bytes(r.out.begin() + sizeof(xcap_meta), r.out.end()), frame);
}

constexpr uint32_t kModes[] = {XCAP_MODE_MIRROR, XCAP_MODE_SPAN, XCAP_MODE_LOCAL};

class XdpProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    XCAP_REQUIRE_PRIVILEGED();
    for (uint32_t mode : kModes) {
      std::string err;
      progs_[mode] = XdpProgram::load(mode, &err);
      ASSERT_NE(progs_[mode], nullptr) << mode_name(mode) << ": " << err;
    }
  }

  // Binds a real AF_XDP socket and puts it in xsks_map[0] of every program.
  void add_socket() {
    sock_ = std::make_unique<XskTestSocket>("xcap-bpft-", "xbt");
    std::string err = sock_->setup();
    ASSERT_EQ(err, "") << "AF_XDP socket setup failed";
    int fd = sock_->fd();
    uint32_t key = 0;
    for (auto& p : progs_)
      ASSERT_EQ(bpf_map_update_elem(p->xsks_fd(), &key, &fd, BPF_ANY), 0)
          << "xsks_map[0] = xsk fd: " << strerror(errno);
  }

  const XdpProgram& prog(uint32_t mode) const { return *progs_[mode]; }

  std::array<std::unique_ptr<XdpProgram>, 3> progs_;
  std::unique_ptr<XskTestSocket> sock_;
};

// ---- tests --------------------------------------------------------------------------------

TEST(XdpProgramConfig, DefaultsInRodata) {
  XCAP_REQUIRE_PRIVILEGED();
  XcapSkel skel(xcap_bpf__open());
  ASSERT_NE(skel, nullptr) << strerror(errno);
  const auto& cfg = skel->rodata->xcap_cfg;
  EXPECT_EQ(cfg.mode, uint32_t(XCAP_MODE_MIRROR));
  EXPECT_EQ(cfg.vxlan_ports[0], XCAP_VXLAN_PORT);
  for (int i = 1; i < XCAP_MAX_VXLAN_PORTS; i++) EXPECT_EQ(cfg.vxlan_ports[i], 0) << i;
  EXPECT_EQ(cfg.geneve_port, XCAP_GENEVE_PORT);
  ASSERT_EQ(xcap_bpf__load(skel.get()), 0);
  EXPECT_EQ(bpf_map__max_entries(skel->maps.xsks_map), uint32_t(XCAP_MAX_QUEUES));
  EXPECT_EQ(bpf_map__max_entries(skel->maps.xcap_counters), uint32_t(XCAP_CNT_MAX));
  EXPECT_EQ(bpf_map__type(skel->maps.xsks_map), BPF_MAP_TYPE_XSKMAP);
  EXPECT_EQ(bpf_map__type(skel->maps.xcap_counters), BPF_MAP_TYPE_PERCPU_ARRAY);
  EXPECT_EQ(bpf_program__type(skel->progs.xcap_xdp), BPF_PROG_TYPE_XDP);
}

TEST(XdpProgramConfig, OnlyConfiguredPortsAreTunnels) {
  XCAP_REQUIRE_PRIVILEGED();
  XcapSkel skel(xcap_bpf__open());
  ASSERT_NE(skel, nullptr) << strerror(errno);
  skel->rodata->xcap_cfg.geneve_port = 0;  // 0 switches GENEVE off
  ASSERT_EQ(xcap_bpf__load(skel.get()), 0);
  ASSERT_TRUE(xcap::bpf_loader::set_capturing(skel.get(), true).ok());
  int fd = bpf_program__fd(skel->progs.xcap_xdp);
  auto verdict = [&](const Bytes& f) {
    Bytes out(f.size() + 256);
    bpf_test_run_opts o{};
    o.sz = sizeof(o);
    o.data_in = f.data();
    o.data_size_in = uint32_t(f.size());
    o.data_out = out.data();
    o.data_size_out = uint32_t(out.size());
    EXPECT_EQ(bpf_prog_test_run_opts(fd, &o), 0);
    return o.retval;
  };
  // No socket, so everything passes: whether a frame was for capture shows in NO_SOCKET.
  uint32_t key = XCAP_CNT_NO_SOCKET;
  int cfd = bpf_map__fd(skel->maps.xcap_counters);
  std::vector<uint64_t> v(libbpf_num_possible_cpus());
  auto no_socket = [&] {
    uint64_t s = 0;
    EXPECT_EQ(bpf_map_lookup_elem(cfd, &key, v.data()), 0);
    for (auto x : v) s += x;
    return s;
  };
  EXPECT_EQ(verdict(inner_v4(outer_v4(1, 4789).vxlan(1)).build()), uint32_t(XDP_PASS));
  EXPECT_EQ(no_socket(), 1u) << "4789 is a default VXLAN port";
  EXPECT_EQ(verdict(inner_v4(outer_v4(1, kSecondVxlanPort).vxlan(1)).build()), uint32_t(XDP_PASS));
  EXPECT_EQ(no_socket(), 1u) << "8472 is not configured by default";
  EXPECT_EQ(verdict(outer_v4(1, 6081).payload(16).build()), uint32_t(XDP_PASS));
  EXPECT_EQ(no_socket(), 1u) << "geneve_port 0 must disable GENEVE";
}

TEST_F(XdpProgramTest, VerdictsWithoutSocketPassAndCountNoSocket) {
  for (uint32_t mode : kModes)
    for (const Case& c : cases()) {
      SCOPED_TRACE(std::string(mode_name(mode)) + " / " + c.name);
      expect_run(prog(mode), mode, c.frame, c.flags, false, 0);
    }
}

TEST_F(XdpProgramTest, VerdictsWithSocketRedirectWithMetadata) {
  ASSERT_NO_FATAL_FAILURE(add_socket());
  for (uint32_t mode : kModes)
    for (const Case& c : cases()) {
      SCOPED_TRACE(std::string(mode_name(mode)) + " / " + c.name);
      expect_run(prog(mode), mode, c.frame, c.flags, true, sock_->ifindex());
    }
}

TEST_F(XdpProgramTest, WithoutIngressIfindexStillRedirects) {
  ASSERT_NO_FATAL_FAILURE(add_socket());
  const Case c = cases().front();  // VXLAN
  expect_run(prog(XCAP_MODE_MIRROR), XCAP_MODE_MIRROR, c.frame, c.flags, true, 0);
}

// When bpf_xdp_adjust_meta refuses, the frame is still redirected, META_FAILED counts, and the
// metadata already in front of the frame stays. To make it refuse, test_run is given the most
// metadata it accepts (it answers EINVAL above that): older kernels cap metadata at 32 bytes,
// 6.18 at the headroom left above struct xdp_frame (216 bytes here); either way 16 more do not
// fit.
TEST_F(XdpProgramTest, MetaFailureStillRedirects) {
  ASSERT_NO_FATAL_FAILURE(add_socket());
  const Case c = cases().front();
  for (uint32_t mode : {XCAP_MODE_MIRROR, XCAP_MODE_SPAN}) {
    SCOPED_TRACE(mode_name(mode));
    Counters before = prog(mode).counters();
    uint32_t meta_in = 256;
    RunResult r;
    do {
      meta_in -= 4;
      r = prog(mode).run(c.frame, sock_->ifindex(), meta_in);
    } while (r.err == -EINVAL && meta_in > 4);
    Counters d = prog(mode).counters() - before;
    ASSERT_EQ(r.err, 0) << strerror(-r.err);
    EXPECT_EQ(r.retval, uint32_t(XDP_REDIRECT));
    EXPECT_EQ(d[XCAP_CNT_META_FAILED], 1u);
    EXPECT_EQ(d[XCAP_CNT_REDIRECT], 1u);
    EXPECT_EQ(d[XCAP_CNT_RX_PACKETS], 1u);
    EXPECT_EQ(d[XCAP_CNT_RX_BYTES], c.frame.size());
    ASSERT_EQ(r.meta_len, meta_in);
    EXPECT_EQ(Bytes(r.out.begin(), r.out.begin() + meta_in), Bytes(meta_in, 0x5a));
    EXPECT_FRAME_EQ(Bytes(r.out.begin() + meta_in, r.out.end()), c.frame);
  }
}

// Every prefix of every case, in every mode, with and without a socket. test_run itself
// rejects XDP input shorter than an Ethernet header (EINVAL), so prefixes start at 14 bytes;
// the program's own checks for shorter frames are exercised only through the verifier.
TEST_F(XdpProgramTest, TruncatedFramesAtEveryLength) {
  ASSERT_NO_FATAL_FAILURE(add_socket());
  for (bool with_socket : {false, true}) {
    uint32_t key = 0;
    int fd = sock_->fd();
    for (auto& p : progs_) {
      if (with_socket)
        ASSERT_EQ(bpf_map_update_elem(p->xsks_fd(), &key, &fd, BPF_ANY), 0);
      else
        ASSERT_EQ(bpf_map_delete_elem(p->xsks_fd(), &key), 0);
    }
    for (uint32_t mode : kModes)
      for (const Case& c : cases())
        for (size_t len = ETH_HLEN; len <= c.frame.size(); len++) {
          Bytes f(c.frame.begin(), c.frame.begin() + len);
          uint16_t flags = c.flags;
          if (len < c.parse_end) {
            // Cut inside a parsed header: malformed, and only what was seen before the cut is
            // known. Tunnel class needs the full header chain; VLAN/IPV6 flags stay if their
            // header was reached, which the full-frame flags over-approximate: recompute.
            flags = XCAP_META_F_MALFORMED;
            if ((c.flags & XCAP_META_F_VLAN) && len >= ETH_HLEN + 4) flags |= XCAP_META_F_VLAN;
            if ((c.flags & XCAP_META_F_IPV6) &&
                len >= size_t(ETH_HLEN + 40 + (c.flags & XCAP_META_F_VLAN ? 4 : 0)))
              flags |= XCAP_META_F_IPV6;
          }
          SCOPED_TRACE(std::string(mode_name(mode)) + " / " + c.name + " cut at " +
                       std::to_string(len) + (with_socket ? " / socket" : " / no socket"));
          expect_run(prog(mode), mode, f, flags, with_socket, sock_->ifindex());
          if (HasFatalFailure()) return;
        }
  }
}

// test_run refuses XDP frames shorter than an Ethernet header before the program runs.
TEST_F(XdpProgramTest, KernelRefusesFramesShorterThanEthernet) {
  RunResult r = prog(XCAP_MODE_SPAN).run(Bytes(ETH_HLEN - 1, 0));
  EXPECT_EQ(r.err, -EINVAL);
}

// Until user space arms it (every queue's socket bound), a frame for capture passes to the
// host and counts NOT_READY (and PASS), never NO_SOCKET: a socket being bound is no drop.
TEST(XdpProgramConfig, FramesBeforeArmingPassAndAreNotDrops) {
  XCAP_REQUIRE_PRIVILEGED();
  std::string err;
  auto p = XdpProgram::load(XCAP_MODE_SPAN, &err, /*armed=*/false);
  ASSERT_TRUE(p) << err;
  const Bytes f = inner_v4(outer_v4(1, 4789).vxlan(1)).build();
  EXPECT_EQ(p->run(f).retval, uint32_t(XDP_PASS));
  Counters c = p->counters();
  EXPECT_EQ(c[XCAP_CNT_NOT_READY], 1u);
  EXPECT_EQ(c[XCAP_CNT_PASS], 1u);
  EXPECT_EQ(c[XCAP_CNT_NO_SOCKET], 0u);
  ASSERT_TRUE(p->arm().ok());
  EXPECT_EQ(p->run(f).retval, uint32_t(XDP_PASS));  // armed, but the test has no socket
  c = p->counters();
  EXPECT_EQ(c[XCAP_CNT_NOT_READY], 1u);
  EXPECT_EQ(c[XCAP_CNT_NO_SOCKET], 1u);
}

}  // namespace

namespace {

// A frame of exactly len bytes: the given headers, then a payload whose every byte depends on
// its position, so a reordered or dropped fragment shows.
Bytes sized(FrameBuilder f, size_t len) {
  Bytes pay(len - f.size());
  for (size_t i = 0; i < pay.size(); i++) pay[i] = uint8_t(i * 7 + i / 251);
  return f.bytes(pay).build();
}

// Jumbo frames reach the program in fragments (test_run puts what exceeds a page in frags, and
// refuses outright to run a program that is not xdp.frags on them): they are captured whole,
// and counted at their full length.
TEST_F(XdpProgramTest, JumboFramesInFragmentsAreRedirectedWhole) {
  ASSERT_NO_FATAL_FAILURE(add_socket());
  const Bytes vxlan8000 =
      sized(outer_v4(49152, 4789).vxlan(100).eth().ipv4("198.18.1.1", "198.18.1.2"), 8000);
  const Bytes span9014 =
      sized(FrameBuilder().eth().ipv6("2001:db8::1", "2001:db8::2").udp(1, 2), 9014);
  for (uint32_t mode : {uint32_t(XCAP_MODE_MIRROR), uint32_t(XCAP_MODE_SPAN)})
    for (const Bytes* f : {&vxlan8000, &span9014}) {
      SCOPED_TRACE(std::string(mode_name(mode)) + " / " + std::to_string(f->size()));
      const bool capture = mode == XCAP_MODE_SPAN || f == &vxlan8000;
      Counters before = prog(mode).counters();
      RunResult r = prog(mode).run(*f, sock_->ifindex());
      Counters d = prog(mode).counters() - before;
      ASSERT_EQ(r.err, 0) << "bpf_prog_test_run_opts: " << strerror(-r.err)
                          << " (a program without xdp.frags cannot take a frame over a page)";
      EXPECT_EQ(d[XCAP_CNT_RX_BYTES], f->size()) << "bytes must count the fragments too";
      EXPECT_EQ(d[XCAP_CNT_TOO_BIG], 0u);
      if (!capture) {
        EXPECT_EQ(r.retval, uint32_t(XDP_PASS));
        EXPECT_EQ(d[XCAP_CNT_PASS], 1u);
        continue;
      }
      EXPECT_EQ(r.retval, uint32_t(XDP_REDIRECT));
      EXPECT_EQ(d[XCAP_CNT_REDIRECT], 1u);
      ASSERT_EQ(r.meta_len, sizeof(xcap_meta)) << "metadata in front of a multi-buffer frame";
      EXPECT_TRUE(Bytes(r.out.begin() + r.meta_len, r.out.end()) == *f)
          << "the frame, fragments included, must be untouched";
    }
}

// Sockets without multi-buffer: user space sets the largest frame they take; longer frames for
// capture are dropped at XDP as TOO_BIG (not left to the kernel, which would count them among
// the fill-ring drops). Frames not for capture pass whatever their size.
TEST_F(XdpProgramTest, FramesOverTheSocketsLimitAreTooBig) {
  ASSERT_NO_FATAL_FAILURE(add_socket());
  const XdpProgram& mirror = prog(XCAP_MODE_MIRROR);
  const XdpProgram& span = prog(XCAP_MODE_SPAN);
  auto hdr = [] { return FrameBuilder().eth().ipv4("198.18.0.1", "198.18.0.2").udp(1, 2); };
  auto verdict = [&](const XdpProgram& p, const Bytes& f, uint64_t too_big) {
    Counters before = p.counters();
    RunResult r = p.run(f, sock_->ifindex());
    EXPECT_EQ(r.err, 0) << strerror(-r.err);
    EXPECT_EQ((p.counters() - before)[XCAP_CNT_TOO_BIG], too_big) << f.size();
    return r.retval;
  };
  span.set_max_frame(3000, false);
  EXPECT_EQ(verdict(span, sized(hdr(), 3000), 0), uint32_t(XDP_REDIRECT));
  EXPECT_EQ(verdict(span, sized(hdr(), 3001), 1), uint32_t(XDP_DROP));
  EXPECT_EQ(verdict(span, sized(hdr(), 9000), 1), uint32_t(XDP_DROP));
  // A kernel that hands such a socket only the linear part: frames in fragments are too big
  // even under the limit (test_run's linear part ends before 3,600 bytes).
  span.set_max_frame(3824, true);
  EXPECT_EQ(verdict(span, sized(hdr(), 3000), 0), uint32_t(XDP_REDIRECT));
  EXPECT_EQ(verdict(span, sized(hdr(), 3700), 1), uint32_t(XDP_DROP));
  span.set_max_frame(0, false);
  EXPECT_EQ(verdict(span, sized(hdr(), 9000), 0), uint32_t(XDP_REDIRECT));

  mirror.set_max_frame(3000, false);
  EXPECT_EQ(verdict(mirror, sized(hdr(), 9000), 0), uint32_t(XDP_PASS)) << "host traffic";
  EXPECT_EQ(verdict(mirror, sized(outer_v4(1, 4789).vxlan(1).eth(), 3001), 1), uint32_t(XDP_DROP));
  mirror.set_max_frame(0, false);
}

// The streaming server's own TCP connections (xcap_self) stay the host's in span mode, in both
// directions, on the listening address only (or any address for a wildcard listener); other
// TCP, and the same port on another address, is captured.
TEST_F(XdpProgramTest, StreamingServersOwnConnectionsPass) {
  ASSERT_NO_FATAL_FAILURE(add_socket());
  const XdpProgram& span = prog(XCAP_MODE_SPAN);
  auto v4 = [](const char* src, const char* dst, uint16_t sport, uint16_t dport) {
    return FrameBuilder().eth().ipv4(src, dst).tcp(sport, dport).payload(10).build();
  };
  auto v6 = [](const char* src, const char* dst, uint16_t sport, uint16_t dport) {
    return FrameBuilder().eth().ipv6(src, dst).tcp(sport, dport).payload(10).build();
  };
  auto verdict = [&](const Bytes& f, uint64_t self) {
    Counters before = span.counters();
    RunResult r = span.run(f, sock_->ifindex());
    EXPECT_EQ(r.err, 0) << strerror(-r.err);
    EXPECT_EQ((span.counters() - before)[XCAP_CNT_SELF], self);
    return r.retval;
  };
  const auto pass = uint32_t(XDP_PASS), redirect = uint32_t(XDP_REDIRECT);
  EXPECT_EQ(verdict(v4("198.18.60.2", "198.18.60.1", 40000, 9000), 0), redirect) << "no server";

  ASSERT_TRUE(span.set_self("198.18.60.1", 9000).ok());
  EXPECT_EQ(verdict(v4("198.18.60.2", "198.18.60.1", 40000, 9000), 1), pass) << "to the server";
  EXPECT_EQ(verdict(v4("198.18.60.1", "198.18.60.2", 9000, 40000), 1), pass) << "from it";
  EXPECT_EQ(verdict(v4("198.18.60.2", "198.18.60.3", 40000, 9000), 0), redirect) << "other host";
  EXPECT_EQ(verdict(v4("198.18.60.2", "198.18.60.1", 40000, 9001), 0), redirect) << "other port";
  EXPECT_EQ(verdict(FrameBuilder()
                        .eth()
                        .ipv4("198.18.60.2", "198.18.60.1")
                        .udp(40000, 9000)
                        .payload(10)
                        .build(),
                    0),
            redirect)
      << "UDP";
  EXPECT_EQ(verdict(v6("2001:db8::2", "2001:db8::1", 40000, 9000), 0), redirect) << "IPv6";

  ASSERT_TRUE(span.set_self("[2001:db8::1]", 9000).ok());
  EXPECT_EQ(verdict(v6("2001:db8::2", "2001:db8::1", 40000, 9000), 1), pass);
  EXPECT_EQ(verdict(v6("2001:db8::1", "2001:db8::2", 9000, 40000), 1), pass);
  EXPECT_EQ(verdict(v6("2001:db8::2", "2001:db8::3", 40000, 9000), 0), redirect);
  EXPECT_EQ(verdict(v4("198.18.60.2", "198.18.60.1", 40000, 9000), 0), redirect);

  ASSERT_TRUE(span.set_self("0.0.0.0", 9000).ok());
  EXPECT_EQ(verdict(v4("198.18.60.2", "198.18.60.3", 40000, 9000), 1), pass) << "any address";
  EXPECT_EQ(verdict(v6("2001:db8::2", "2001:db8::3", 40000, 9000), 1), pass);
  EXPECT_FALSE(span.set_self("not-an-address", 9000).ok());
  ASSERT_TRUE(span.set_self("0.0.0.0", 0).ok());
  EXPECT_EQ(verdict(v4("198.18.60.2", "198.18.60.3", 40000, 9000), 0), redirect) << "off again";
}

}  // namespace
