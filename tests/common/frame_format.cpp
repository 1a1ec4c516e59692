#include "common/frame_format.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <string_view>

namespace xcap::test {
namespace {

constexpr uint16_t kVxlanPort = 4789;
constexpr uint16_t kGenevePort = 6081;
constexpr size_t kShown = 3;  // frames SameFrames prints per side

std::string fmt(const char* f, auto... args) {
  char buf[256];
  snprintf(buf, sizeof buf, f, args...);
  return buf;
}

const char* ethertype_name(uint16_t t) {
  switch (t) {
    case 0x0800:
      return "IPv4";
    case 0x86dd:
      return "IPv6";
    case 0x0806:
      return "ARP";
    case 0x8100:
      return "802.1Q";
    case 0x88a8:
      return "802.1ad";
    case 0x6558:
      return "Ethernet";
    case 0x88be:
      return "ERSPAN I/II";
    case 0x22eb:
      return "ERSPAN III";
    default:
      return "?";
  }
}

const char* ipproto_name(uint8_t p) {
  switch (p) {
    case 1:
      return "ICMP";
    case 4:
      return "IPv4";
    case 6:
      return "TCP";
    case 17:
      return "UDP";
    case 41:
      return "IPv6";
    case 47:
      return "GRE";
    case 58:
      return "ICMPv6";
    default:
      return "?";
  }
}

// Walks the headers of one frame, appending a line per header to out.
class Describer {
 public:
  explicit Describer(std::span<const uint8_t> f) : f_(f) {}

  std::string run(FrameStart start) {
    out_ << f_.size() << " bytes\n";
    if (start == FrameStart::Guess) start = guess();
    if (start == FrameStart::Ethernet)
      eth();
    else
      ip_by_version();
    rest();
    return out_.str();
  }

 private:
  FrameStart guess() const {
    if (f_.size() >= 14 && std::string_view(ethertype_name(u16(12))) != "?")
      return FrameStart::Ethernet;
    if (!f_.empty() && (f_[0] >> 4 == 4 || f_[0] >> 4 == 6)) return FrameStart::Ip;
    return FrameStart::Ethernet;
  }
  size_t left() const { return f_.size() - off_; }
  uint16_t u16(size_t at) const { return uint16_t(f_[at] << 8 | f_[at + 1]); }
  uint32_t u32(size_t at) const { return uint32_t(u16(at)) << 16 | u16(at + 2); }
  // False (and says so) when the header of need bytes is cut short.
  bool have(size_t need, const char* what) {
    if (left() >= need) return true;
    line(what, fmt("cut short: %zu of %zu bytes", left(), need));
    return false;
  }
  void line(const char* layer, const std::string& fields) {
    out_ << fmt("  [%4zu] %-9s ", off_, layer) << fields << "\n";
  }
  std::string mac(size_t at) const {
    return fmt("%02x:%02x:%02x:%02x:%02x:%02x", f_[at], f_[at + 1], f_[at + 2], f_[at + 3],
               f_[at + 4], f_[at + 5]);
  }
  std::string addr(int family, size_t at) const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(family, f_.data() + at, buf, sizeof buf);
    return buf;
  }

  void eth() {
    if (!have(14, "Ethernet")) return;
    uint16_t type = u16(off_ + 12);
    line("Ethernet", fmt("dst %s src %s type 0x%04x (%s)", mac(off_).c_str(), mac(off_ + 6).c_str(),
                         type, ethertype_name(type)));
    off_ += 14;
    while (type == 0x8100 || type == 0x88a8) {
      if (!have(4, "VLAN")) return;
      const uint16_t tci = u16(off_);
      type = u16(off_ + 2);
      line("VLAN", fmt("pcp %u dei %u vid %u type 0x%04x (%s)", tci >> 13, tci >> 12 & 1,
                       tci & 0xfff, type, ethertype_name(type)));
      off_ += 4;
    }
    ethertype(type);
  }

  void ethertype(uint16_t type) {
    if (type == 0x0800) return ipv4();
    if (type == 0x86dd) return ipv6();
    if (type == 0x6558) return eth();
  }

  void ip_by_version() {
    if (!have(1, "IP")) return;
    if (f_[off_] >> 4 == 4) return ipv4();
    if (f_[off_] >> 4 == 6) return ipv6();
    line("IP", fmt("version %u?", f_[off_] >> 4));
  }

  void ipv4() {
    if (!have(20, "IPv4")) return;
    const size_t ihl = size_t(f_[off_] & 0x0f) * 4;
    const uint16_t frag = u16(off_ + 6);
    const uint8_t proto = f_[off_ + 9];
    line("IPv4",
         fmt("ver %u ihl %zu tos 0x%02x len %u id %u flags %s%s frag %u ttl %u", f_[off_] >> 4, ihl,
             f_[off_ + 1], u16(off_ + 2), u16(off_ + 4), frag & 0x4000 ? "DF" : "",
             frag & 0x2000 ? "MF" : "", (frag & 0x1fff) * 8, f_[off_ + 8]) +
             fmt(" proto %u (%s) csum 0x%04x %s > %s", proto, ipproto_name(proto), u16(off_ + 10),
                 addr(AF_INET, off_ + 12).c_str(), addr(AF_INET, off_ + 16).c_str()));
    if (ihl < 20 || !have(ihl, "IPv4 opts")) return;
    off_ += ihl;
    if ((frag & 0x1fff) == 0) l4(proto);  // a later fragment has no L4 header
  }

  void ipv6() {
    if (!have(40, "IPv6")) return;
    const uint32_t w = u32(off_);
    uint8_t next = f_[off_ + 6];
    line("IPv6",
         fmt("ver %u tc 0x%02x flow 0x%05x plen %u next %u (%s) hlim %u", w >> 28, w >> 20 & 0xff,
             w & 0xfffff, u16(off_ + 4), next, ipproto_name(next), f_[off_ + 7]) +
             " " + addr(AF_INET6, off_ + 8) + " > " + addr(AF_INET6, off_ + 24));
    off_ += 40;
    // Hop-by-hop, routing, destination options: (len + 1) x 8 bytes; fragment: 8.
    while (next == 0 || next == 43 || next == 60 || next == 44) {
      if (!have(8, "IPv6 ext")) return;
      const size_t len = next == 44 ? 8 : (size_t(f_[off_ + 1]) + 1) * 8;
      const uint8_t this_one = next;
      next = f_[off_];
      line("IPv6 ext",
           fmt("type %u len %zu next %u (%s)", this_one, len, next, ipproto_name(next)));
      if (!have(len, "IPv6 ext")) return;
      off_ += len;
      if (this_one == 44) return;  // the rest is a fragment
    }
    l4(next);
  }

  void l4(uint8_t proto) {
    switch (proto) {
      case 6:
        return tcp();
      case 17:
        return udp();
      case 1:
      case 58:
        if (!have(4, "ICMP")) return;
        line(proto == 1 ? "ICMP" : "ICMPv6",
             fmt("type %u code %u csum 0x%04x", f_[off_], f_[off_ + 1], u16(off_ + 2)));
        off_ += 4;
        return;
      case 47:
        return gre();
      case 4:
        return ipv4();
      case 41:
        return ipv6();
    }
  }

  void udp() {
    if (!have(8, "UDP")) return;
    const uint16_t dport = u16(off_ + 2);
    line("UDP", fmt("%u > %u len %u csum 0x%04x", u16(off_), dport, u16(off_ + 4), u16(off_ + 6)));
    off_ += 8;
    if (dport == kVxlanPort) return vxlan();
    if (dport == kGenevePort) return geneve();
  }

  void tcp() {
    if (!have(20, "TCP")) return;
    const size_t doff = size_t(f_[off_ + 12] >> 4) * 4;
    const uint8_t fl = f_[off_ + 13];
    std::string flags;
    const char* names[] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
    for (int i = 0; i < 8; i++)
      if (fl & (1 << i)) flags += (flags.empty() ? "" : ",") + std::string(names[i]);
    line("TCP", fmt("%u > %u seq %u ack %u doff %zu flags [%s] win %u csum 0x%04x", u16(off_),
                    u16(off_ + 2), u32(off_ + 4), u32(off_ + 8), doff, flags.c_str(),
                    u16(off_ + 14), u16(off_ + 16)));
    if (doff < 20 || !have(doff, "TCP opts")) return;
    off_ += doff;
  }

  void vxlan() {
    if (!have(8, "VXLAN")) return;
    line("VXLAN", fmt("flags 0x%02x vni %u", f_[off_], u32(off_ + 4) >> 8));
    off_ += 8;
    eth();
  }

  void geneve() {
    if (!have(8, "GENEVE")) return;
    const size_t opt = size_t(f_[off_] & 0x3f) * 4;
    const uint16_t proto = u16(off_ + 2);
    line("GENEVE", fmt("ver %u optlen %zu O %u C %u proto 0x%04x (%s) vni %u", f_[off_] >> 6, opt,
                       f_[off_ + 1] >> 7, f_[off_ + 1] >> 6 & 1, proto, ethertype_name(proto),
                       u32(off_ + 4) >> 8));
    if (!have(8 + opt, "GENEVE opts")) return;
    off_ += 8 + opt;
    if (proto == 0x6558) return eth();
    if (proto == 0x0800 || proto == 0x86dd) return ethertype(proto);
  }

  void gre() {
    if (!have(4, "GRE")) return;
    const uint16_t flags = u16(off_), proto = u16(off_ + 2);
    const bool c = flags & 0x8000, k = flags & 0x2000, s = flags & 0x1000;
    const size_t len = 4 + (c ? 4 : 0) + (k ? 4 : 0) + (s ? 4 : 0);
    if (!have(len, "GRE")) return;
    std::string fields = fmt("flags 0x%04x%s%s%s ver %u proto 0x%04x (%s)", flags, c ? " C" : "",
                             k ? " K" : "", s ? " S" : "", flags & 7, proto, ethertype_name(proto));
    size_t at = off_ + 4;
    if (c) fields += fmt(" csum 0x%04x", u16(at)), at += 4;
    if (k) fields += fmt(" key %u", u32(at)), at += 4;
    if (s) fields += fmt(" seq %u", u32(at)), at += 4;
    line("GRE", fields);
    off_ += len;
    if (proto == 0x88be && s) return erspan(2);
    if (proto == 0x88be) return eth();  // ERSPAN type I: no header of its own
    if (proto == 0x22eb) return erspan(3);
    ethertype(proto);
  }

  void erspan(int type) {
    const size_t len = type == 2 ? 8 : 12;
    if (!have(len, "ERSPAN")) return;
    std::string fields =
        fmt("type %d ver %u vlan %u cos %u T %u session %u", type, f_[off_] >> 4, u16(off_) & 0xfff,
            f_[off_ + 2] >> 5, f_[off_ + 2] >> 2 & 1, u16(off_ + 2) & 0x3ff);
    bool sub = false;
    if (type == 2) {
      fields += fmt(" index %u", u32(off_ + 4) & 0xfffff);
    } else {
      sub = f_[off_ + 11] & 1;
      fields += fmt(" timestamp %u sgt %u O %u", u32(off_ + 4), u16(off_ + 8), unsigned(sub));
    }
    line("ERSPAN", fields);
    off_ += len;
    if (sub) {
      if (!have(8, "ERSPAN sub")) return;
      line("ERSPAN sub", "platform-specific subheader, 8 bytes");
      off_ += 8;
    }
    eth();
  }

  // Whatever follows the last header: 16 bytes a line, offsets from the frame's start.
  void rest() {
    if (!left()) return;
    out_ << fmt("  [%4zu] payload   %zu bytes\n", off_, left());
    for (size_t at = off_; at < f_.size(); at += 16) {
      out_ << fmt("         %04zx ", at);
      for (size_t i = at; i < std::min(at + 16, f_.size()); i++) out_ << fmt(" %02x", f_[i]);
      out_ << "\n";
    }
  }

  std::span<const uint8_t> f_;
  size_t off_ = 0;
  std::ostringstream out_;
};

// Frames one side holds more often than the other (with the surplus count).
std::map<std::vector<uint8_t>, size_t> surplus(const std::multiset<std::vector<uint8_t>>& a,
                                               const std::multiset<std::vector<uint8_t>>& b) {
  std::map<std::vector<uint8_t>, size_t> out;
  for (auto it = a.begin(); it != a.end(); it = a.upper_bound(*it)) {
    const size_t na = a.count(*it), nb = b.count(*it);
    if (na > nb) out[*it] = na - nb;
  }
  return out;
}

}  // namespace

std::string describe_frame(std::span<const uint8_t> frame, FrameStart start) {
  return Describer(frame).run(start);
}

::testing::AssertionResult SameFrame(const char* got_expr, const char* want_expr,
                                     std::span<const uint8_t> got, std::span<const uint8_t> want) {
  if (std::equal(got.begin(), got.end(), want.begin(), want.end()))
    return ::testing::AssertionSuccess();
  const size_t n = std::min(got.size(), want.size());
  const size_t at =
      size_t(std::mismatch(got.begin(), got.begin() + long(n), want.begin()).first - got.begin());
  return ::testing::AssertionFailure()
         << got_expr << " differs from " << want_expr << " at byte " << at << "\n"
         << got_expr << ": " << describe_frame(got) << want_expr << ": " << describe_frame(want);
}

::testing::AssertionResult SameFrames(const char* got_expr, const char* want_expr,
                                      const std::multiset<std::vector<uint8_t>>& got,
                                      const std::multiset<std::vector<uint8_t>>& want) {
  if (got == want) return ::testing::AssertionSuccess();
  auto r = ::testing::AssertionFailure();
  r << got_expr << " (" << got.size() << " frames) differs from " << want_expr << " ("
    << want.size() << " frames)\n";
  auto show = [&](const char* side, const std::multiset<std::vector<uint8_t>>& a,
                  const std::multiset<std::vector<uint8_t>>& b) {
    const auto extra = surplus(a, b);
    size_t total = 0;
    for (const auto& [f, k] : extra) total += k;
    if (!total) return;
    r << total << " frame(s) only in " << side << ", the first " << std::min(kShown, extra.size())
      << " of " << extra.size() << " distinct:\n";
    size_t shown = 0;
    for (const auto& [f, k] : extra) {
      if (shown++ == kShown) break;
      r << (k > 1 ? std::to_string(k) + " x " : "") << describe_frame(f);
    }
  };
  show(got_expr, got, want);
  show(want_expr, want, got);
  return r;
}

}  // namespace xcap::test
