// The worker filter selects exactly what libpcap selects. A corpus of 6,000 frames made from a
// fixed seed by tests/common/filter_corpus.cpp (TCP/UDP/ICMP/ICMPv6 over IPv4 and IPv6 with
// extension headers, single and double VLAN tags, ARP, 802.3/LLC, IPv4 options and fragments,
// odd TCP flags, truncated and tiny captures, random bytes) meets 65 tcpdump expressions (60,
// and 5 on the wire length); for every pair, FilterSet's
// verdict must equal pcap_offline_filter's on a program compiled separately by libpcap. The
// same runs on raw IP frames (LINKTYPE_RAW, what GENEVE and GRE deliver bare) for every
// expression that libpcap compiles for raw IP.
//
// Addresses are the test ranges only: 198.18.0.0/15, 2001:db8::/32 (and random bytes).
#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <memory>
#include <string>
#include <vector>

#include "common/filter_corpus.h"
#include "filter/filter_set.h"

namespace xcap {
namespace {

using Frame = test::CapturedFrame;

// Every expression of the corpus, the wire-length ones included.
const std::vector<std::string> kExpressions = [] {
  std::vector<std::string> all = test::filter_expressions();
  const std::vector<std::string>& len = test::len_filter_expressions();
  all.insert(all.end(), len.begin(), len.end());
  return all;
}();

struct PcapDeleter {
  void operator()(pcap_t* p) const { pcap_close(p); }
};

// libpcap's own program for expr, compiled independently of xcap's code. nullopt when libpcap
// refuses the expression for this link type.
struct Reference {
  bpf_program prog{};
  bool ok = false;
  std::string error;
  Reference(const std::string& expr, int dlt) {
    std::unique_ptr<pcap_t, PcapDeleter> p(pcap_open_dead(dlt, 262144));
    ok = pcap_compile(p.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) == 0;
    if (!ok) error = pcap_geterr(p.get());
  }
  ~Reference() {
    if (ok) pcap_freecode(&prog);
  }
  bool matches(const Frame& f) const {
    pcap_pkthdr h{};
    h.caplen = uint32_t(f.data.size());
    h.len = f.wire_len;
    return pcap_offline_filter(&prog, &h, f.data.data()) != 0;
  }
};

class FilterDifferential : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { test::make_captured_corpus(0x5eed, 6000, ethernet_, raw_); }
  static std::vector<Frame> ethernet_, raw_;

  // Compares every frame; returns how many the expression selected. Stops after a few
  // mismatches, each reported with the frame's bytes.
  static size_t compare(const std::string& expr, const Reference& ref, const FilterSet& set,
                        LinkType type, const std::vector<Frame>& frames) {
    size_t selected = 0;
    int mismatches = 0;
    for (size_t i = 0; i < frames.size() && mismatches < 5; ++i) {
      const Frame& f = frames[i];
      const bool want = ref.matches(f);
      const bool got = set.matches(type, f.data.data(), uint32_t(f.data.size()), f.wire_len);
      selected += want;
      if (got != want) {
        ++mismatches;
        ADD_FAILURE() << "filter \"" << expr << "\" on " << to_string(type) << " frame " << i
                      << " (caplen " << f.data.size() << ", wire " << f.wire_len << "): libpcap "
                      << want << ", xcap " << got << "\n  " << test::hex_prefix(f.data, 96);
      }
    }
    return selected;
  }
};
std::vector<Frame> FilterDifferential::ethernet_, FilterDifferential::raw_;

TEST_F(FilterDifferential, CorpusIsLargeAndVaried) {
  EXPECT_GE(ethernet_.size(), 5000u);
  EXPECT_GE(raw_.size(), 3000u);
  EXPECT_GE(kExpressions.size(), 40u);
  size_t truncated = 0;
  for (const Frame& f : ethernet_) truncated += f.data.size() < f.wire_len;
  EXPECT_GT(truncated, 500u);
}

TEST_F(FilterDifferential, EthernetFramesMatchLibpcap) {
  for (const std::string& expr : kExpressions) {
    Reference ref(expr, DLT_EN10MB);
    ASSERT_TRUE(ref.ok) << expr << ": " << ref.error;
    Result<FilterSet> set = FilterSet::compile(expr, 0);
    ASSERT_TRUE(set.ok()) << set.error().message;
    const size_t selected = compare(expr, ref, *set, LinkType::Ethernet, ethernet_);
    // An expression that selects everything or nothing would prove little.
    EXPECT_GT(selected, 0u) << "\"" << expr << "\" selects no frame of the corpus";
    EXPECT_LT(selected, ethernet_.size()) << "\"" << expr << "\" selects every frame";
  }
}

TEST_F(FilterDifferential, RawIpFramesMatchLibpcap) {
  size_t compiled = 0;
  for (const std::string& expr : kExpressions) {
    Reference ref(expr, DLT_RAW);
    Result<FilterSet> set = FilterSet::compile(expr, 0);
    ASSERT_TRUE(set.ok()) << set.error().message;
    if (!ref.ok) {
      // libpcap refuses it for raw IP (`vlan`, `ether host`, `arp`...): raw frames never match.
      EXPECT_EQ(set->raw(), nullptr) << expr;
      EXPECT_NE(set->raw_error().find(ref.error), std::string::npos) << set->raw_error();
      for (const Frame& f : raw_)
        ASSERT_FALSE(
            set->matches(LinkType::Raw, f.data.data(), uint32_t(f.data.size()), f.wire_len));
      continue;
    }
    ++compiled;
    ASSERT_NE(set->raw(), nullptr) << expr;
    compare(expr, ref, *set, LinkType::Raw, raw_);
  }
  EXPECT_GE(compiled, 40u);
}

TEST_F(FilterDifferential, ProgramsAreLibpcapsOwn) {
  // FilterProgram keeps libpcap's instructions as compiled: the XDP translation starts there.
  for (const std::string& expr : kExpressions) {
    Reference ref(expr, DLT_EN10MB);
    Result<FilterSet> set = FilterSet::compile(expr, 0);
    ASSERT_TRUE(ref.ok && set.ok());
    const auto insns = set->ethernet().instructions();
    ASSERT_EQ(insns.size(), ref.prog.bf_len) << expr;
    for (size_t i = 0; i < insns.size(); ++i) {
      const bpf_insn& r = ref.prog.bf_insns[i];
      EXPECT_TRUE(insns[i].code == r.code && insns[i].jt == r.jt && insns[i].jf == r.jf &&
                  insns[i].k == r.k)
          << expr << " instruction " << i;
    }
  }
}

}  // namespace
}  // namespace xcap
