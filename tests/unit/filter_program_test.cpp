// FilterProgram and FilterSet: which expressions are refused and how the refusal reads, link
// types, snap length, and the per-link-type choice of FilterSet.
#include "filter/filter_program.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <filesystem>
#include <string>

#include "common/frame_builder.h"
#include "filter/filter_set.h"

namespace xcap {
namespace {

constexpr uint32_t kEthernet = 1, kRaw = 101;

std::string error_of(const std::string& expr, uint32_t link_type = kEthernet) {
  Result<FilterProgram> p = FilterProgram::compile(expr, link_type, 0);
  return p.ok() ? "(compiled)" : p.error().message;
}

// What libpcap itself says about expr.
std::string libpcap_reason(const std::string& expr) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 262144);
  bpf_program prog{};
  std::string reason;
  if (pcap_compile(p, &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
    reason = pcap_geterr(p);
  else
    pcap_freecode(&prog);
  pcap_close(p);
  return reason;
}

Bytes tcp_frame(uint16_t dport) {
  return FrameBuilder().eth().ipv4("198.18.0.1", "198.19.1.7").tcp(40000, dport).build();
}
Bytes udp_frame(uint16_t dport) {
  return FrameBuilder().eth().ipv4("198.18.0.1", "198.19.1.7").udp(40000, dport).build();
}
Bytes without_ethernet(const Bytes& f) {
  return Bytes(f.begin() + 14, f.end());
}

TEST(FilterProgram, RefusesEmptyExpressions) {
  EXPECT_EQ(error_of(""), "invalid filter \"\": the expression is empty");
  // libpcap would take blanks as "everything"; someone who typed -f "  " meant something else.
  EXPECT_EQ(error_of(" \t\n"), "invalid filter \" \\x09\\x0a\": the expression is empty");
}

TEST(FilterProgram, RefusesExpressionsOverTheLimit) {
  std::string expr = "tcp port 443";
  expr.resize(FilterProgram::kMaxExpressionLength, ' ');
  EXPECT_EQ(error_of(expr), "(compiled)");  // the limit itself is allowed
  expr += ' ';
  EXPECT_EQ(error_of(expr), "invalid filter \"tcp port 443" + std::string(52, ' ') +
                                "\"...: the expression is 8193 bytes long, longer than the "
                                "limit of 8192");
}

TEST(FilterProgram, UncompilableExpressionsNameTheFilterAndLibpcapsReason) {
  for (const std::string expr : {"tcp port", "host 999.1.1.1", "foo bar", "port 99999",
                                 "net 198.19.0.0/33", "tcp and udp", "ip6 and vlan 5000"}) {
    const std::string reason = libpcap_reason(expr);
    ASSERT_FALSE(reason.empty()) << expr;
    EXPECT_EQ(error_of(expr), "invalid filter \"" + expr + "\": " + reason);
  }
  EXPECT_EQ(error_of("tcp port"),
            "invalid filter \"tcp port\": can't parse filter expression: syntax error");
  EXPECT_NE(error_of("host 999.1.1.1").find("999.1.1.1'"), std::string::npos);
  EXPECT_EQ(error_of("tcp and udp"),
            "invalid filter \"tcp and udp\": expression rejects all packets");
}

TEST(FilterProgram, ExpressionsAreOnlyData) {
  // A NUL would make libpcap read a shorter expression than the one given.
  EXPECT_EQ(error_of(std::string("tcp\0 or udp", 11)),
            "invalid filter \"tcp\\x00 or udp\": the expression contains a NUL byte");
  // Control bytes are escaped in messages, so an expression cannot drive the terminal.
  EXPECT_EQ(error_of("\x1b[2J"),
            "invalid filter \"\\x1b[2J\": can't parse filter expression: syntax error");
  EXPECT_EQ(quote_filter("say \"hi\" \\"), "\"say \\\"hi\\\" \\\\\"");
  // Nothing is run or opened: these are syntax errors, and the file never appears.
  const std::filesystem::path witness =
      std::filesystem::temp_directory_path() / "xcap-filter-test-witness";
  std::filesystem::remove(witness);
  for (const std::string& expr :
       {"$(touch " + witness.string() + ")", "`touch " + witness.string() + "`", witness.string()})
    EXPECT_NE(error_of(expr).find("syntax error"), std::string::npos) << expr;
  EXPECT_FALSE(std::filesystem::exists(witness));
}

TEST(FilterProgram, CompilesAndMatches) {
  Result<FilterProgram> p =
      FilterProgram::compile("tcp port 443 and host 198.19.1.7", kEthernet, 0);
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_EQ(p->expression(), "tcp port 443 and host 198.19.1.7");
  EXPECT_EQ(p->link_type(), kEthernet);
  EXPECT_GT(p->instructions().size(), 10u);
  const Bytes yes = tcp_frame(443), no = udp_frame(443);
  EXPECT_TRUE(p->matches(yes.data(), uint32_t(yes.size()), uint32_t(yes.size())));
  EXPECT_FALSE(p->matches(no.data(), uint32_t(no.size()), uint32_t(no.size())));
  // Cut before the ports: libpcap rejects, so do we.
  EXPECT_FALSE(p->matches(yes.data(), 35, uint32_t(yes.size())));
}

TEST(FilterProgram, SnapLengthIsTheAcceptValue) {
  const Bytes f = tcp_frame(443);
  Result<FilterProgram> any = FilterProgram::compile("tcp", kEthernet, 0);
  Result<FilterProgram> short_snap = FilterProgram::compile("tcp", kEthernet, 96);
  ASSERT_TRUE(any.ok() && short_snap.ok());
  // snaplen 0 must not compile to "ret #0", which would reject everything.
  EXPECT_EQ(any->snaplen(), FilterProgram::kDefaultSnaplen);
  EXPECT_EQ(any->interpreter().run(f.data(), uint32_t(f.size()), uint32_t(f.size())), 262144u);
  EXPECT_EQ(short_snap->interpreter().run(f.data(), uint32_t(f.size()), uint32_t(f.size())), 96u);
}

TEST(FilterProgram, LinkTypes) {
  Result<FilterProgram> raw = FilterProgram::compile("tcp port 443", kRaw, 0);
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  const Bytes ip = without_ethernet(tcp_frame(443));
  EXPECT_TRUE(raw->matches(ip.data(), uint32_t(ip.size()), uint32_t(ip.size())));
  EXPECT_NE(error_of("tcp", 12345).find("unknown data link type 12345"), std::string::npos);
  EXPECT_NE(error_of("ether host 02:00:00:00:00:01", kRaw).find("ethernet address"),
            std::string::npos);
}

TEST(FilterSet, PicksTheProgramOfEachLinkType) {
  Result<FilterSet> set = FilterSet::compile("tcp port 443", 0);
  ASSERT_TRUE(set.ok()) << set.error().message;
  ASSERT_NE(set->raw(), nullptr);
  EXPECT_TRUE(set->raw_error().empty());
  const Bytes eth = tcp_frame(443), ip = without_ethernet(eth);
  auto matches = [&](LinkType t, const Bytes& f) {
    return set->matches(t, f.data(), uint32_t(f.size()), uint32_t(f.size()));
  };
  EXPECT_TRUE(matches(LinkType::Ethernet, eth));
  EXPECT_TRUE(matches(LinkType::Raw, ip));
  // The same bytes read with the other link type's offsets do not match.
  EXPECT_FALSE(matches(LinkType::Raw, eth));
  EXPECT_FALSE(matches(LinkType::Ethernet, ip));
}

TEST(FilterSet, EthernetOnlyExpressionsNeverMatchRawFrames) {
  Result<FilterSet> set = FilterSet::compile("tcp or vlan", 0);
  ASSERT_TRUE(set.ok()) << set.error().message;
  EXPECT_EQ(set->raw(), nullptr);
  EXPECT_EQ(set->raw_error(),
            "filter \"tcp or vlan\" does not apply to raw IP frames, which will not match: "
            "no VLAN support for Raw IP");
  const Bytes eth = tcp_frame(443), ip = without_ethernet(eth);
  EXPECT_TRUE(set->matches(LinkType::Ethernet, eth.data(), uint32_t(eth.size()), 60));
  EXPECT_FALSE(set->matches(LinkType::Raw, ip.data(), uint32_t(ip.size()), 46));
}

TEST(FilterSet, RefusesWhatFilterProgramRefuses) {
  Result<FilterSet> set = FilterSet::compile("tcp port", 0);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.error().message, error_of("tcp port"));
}

}  // namespace
}  // namespace xcap
