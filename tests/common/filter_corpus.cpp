#include "common/filter_corpus.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <random>

namespace xcap::test {

const std::vector<std::string>& filter_expressions() {
  static const std::vector<std::string> kExpressions = {
      // ports and port ranges
      "tcp port 443",
      "tcp dst port 80",
      "udp port 53",
      "udp port 4789",
      "port 22 or port 80",
      "tcp src port 443 or tcp dst port 443",
      "tcp portrange 1000-2000",
      "udp src portrange 50000-65535",
      // hosts and nets, v4 and v6
      "host 198.19.1.7",
      "host 198.19.1.7 and tcp",
      "src host 198.18.0.1",
      "dst host 198.18.0.2",
      "net 198.19.0.0/16",
      "src net 198.18.0.0/24 and dst net 198.19.0.0/16",
      "ip src 198.18.0.1 or ip6 dst 2001:db8::2",
      "host 2001:db8::1",
      "net 2001:db8:1::/48",
      // protocols
      "ip6",
      "ip6 and tcp dst port 80",
      "icmp6",
      "icmp6 and ip6[40] == 135",
      "icmp",
      "icmp[icmptype] == icmp-echo",
      "icmp and icmp[icmptype] != icmp-echoreply",
      "arp",
      "not arp",
      "not ip and not ip6",
      "ip and not tcp and not udp",
      "ip proto 47",
      "ether proto 0x88cc",
      "ip6 protochain 6",
      "ip6[6] == 44",
      // VLAN
      "vlan",
      "vlan 100",
      "vlan 100 and tcp",
      "vlan and udp",
      "vlan 100 and vlan 200",
      // TCP flags and byte offsets
      "tcp[tcpflags] & tcp-syn != 0",
      "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
      "tcp[tcpflags] == tcp-syn|tcp-ack",
      "tcp[13] = 0x12",
      "tcp[tcpflags] & tcp-rst != 0 or tcp[tcpflags] & tcp-urg != 0",
      "ip[8] < 64",
      "ip6 and ip6[7] < 64",
      "ip[6:2] & 0x1fff != 0",
      "ip[6] & 0x20 != 0",
      "ip[0] & 0xf > 5",
      "udp and udp[8:4] & 0x08000000 != 0",
      "tcp[((tcp[12] & 0xf0) >> 2):4] = 0x47455420",
      "ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0",
      "ip[2:2] % 3 = 1 and ip[2:2] / 4 > 100",
      "(ip[8] ^ 0x40) < 10",
      "-ip[8] & 0xff > 190",
      "udp[0:2] > udp[2:2]",
      // link layer
      "ether host 02:00:00:00:00:01",
      "ether src 02:00:00:00:00:01 and ip",
      "ether broadcast",
      "ether multicast",
      // nesting
      "(tcp port 443 or udp port 53) and not host 198.18.0.1",
      "tcp and (port 80 or port 443) and not (src net 198.19.0.0/16 or dst port 22)",
  };
  return kExpressions;
}

const std::vector<std::string>& len_filter_expressions() {
  static const std::vector<std::string> kExpressions = {
      "len > 500",
      "less 100",
      "greater 1000",
      "len >= 60 and len <= 128",
      "((ip and udp) or (ip6 and tcp)) and len < 300",
  };
  return kExpressions;
}

namespace {

using Bytes = std::vector<uint8_t>;

// Makes the corpora. xdp: the XDP corpus's extras (odd length fields, trailers, 4 IPv6
// extension headers); without it not one random number is drawn for them.
class Corpus {
 public:
  Corpus(uint64_t seed, bool xdp) : rng_(seed), xdp_(xdp) {}

  // Ethernet frames and, for each one carrying IP, its IP packet alone (raw IP).
  void make_captured(size_t n, std::vector<CapturedFrame>& ethernet,
                     std::vector<CapturedFrame>& raw) {
    while (ethernet.size() < n) {
      size_t l3 = 0;
      Bytes f = below(40) == 0 ? garbage() : frame(l3);
      const auto wire = uint32_t(f.size());
      CapturedFrame full{f, wire};
      capture(full);
      ethernet.push_back(full);
      if (l3 != 0 && l3 <= f.size()) {
        CapturedFrame r{Bytes(f.begin() + long(l3), f.end()), uint32_t(f.size() - l3)};
        capture(r);
        raw.push_back(r);
      }
    }
    for (int i = 0; i < 200; ++i)
      raw.push_back(CapturedFrame{garbage_ip(), 0}),
          raw.back().wire_len = uint32_t(raw.back().data.size());
  }

  std::vector<Bytes> make_xdp(size_t n) {
    std::vector<Bytes> out;
    while (out.size() < n) {
      size_t l3 = 0;
      Bytes f = one_in(40) ? garbage() : frame(l3);
      cut(f);
      if (f.size() >= 14) out.push_back(std::move(f));
    }
    return out;
  }

 private:
  uint32_t below(uint32_t n) { return uint32_t(rng_() % n); }
  bool one_in(uint32_t n) { return below(n) == 0; }
  uint8_t byte() { return uint8_t(rng_()); }

  static void put16(Bytes& b, uint32_t v) { b.push_back(uint8_t(v >> 8)), b.push_back(uint8_t(v)); }
  static void put32(Bytes& b, uint32_t v) { put16(b, v >> 16), put16(b, v & 0xffff); }
  static void set16(Bytes& b, size_t at, uint32_t v) {
    b[at] = uint8_t(v >> 8), b[at + 1] = uint8_t(v);
  }
  void random_bytes(Bytes& b, size_t n) {
    for (size_t i = 0; i < n; ++i) b.push_back(one_in(3) ? uint8_t(below(4)) : byte());
  }

  void mac(Bytes& b) {
    static const std::array<std::array<uint8_t, 6>, 5> kMacs = {{
        {0x02, 0, 0, 0, 0, 0x01},
        {0x02, 0, 0, 0, 0, 0x02},
        {0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
        {0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb},
        {0x33, 0x33, 0x00, 0x00, 0x00, 0x01},
    }};
    if (one_in(5)) {
      for (int i = 0; i < 6; ++i) b.push_back(byte());
    } else {
      const auto& m = kMacs[below(3) ? below(2) : below(5)];
      b.insert(b.end(), m.begin(), m.end());
    }
  }

  uint32_t ipv4_addr() {
    static const uint32_t kAddrs[] = {0xc6120001, 0xc6120002, 0xc6130107, 0xc613c809,
                                      0xc612ffff, 0xc6120005};  // 198.18.0.1, .0.2, 198.19.1.7, ...
    if (one_in(4)) return 0xc6120000 | below(0x20000);          // anywhere in 198.18.0.0/15
    return kAddrs[below(6)];
  }

  void ipv6_addr(Bytes& b) {
    // 2001:db8::1, 2001:db8::2, 2001:db8:1::7, or random in 2001:db8::/32
    const uint32_t pick = below(5);
    put32(b, 0x20010db8);
    put16(b, pick == 2 ? 1 : pick == 4 ? uint16_t(rng_()) : 0);
    for (int i = 0; i < 8; ++i) b.push_back(pick == 4 ? byte() : 0);
    put16(b, pick == 0 ? 1 : pick == 1 ? 2 : pick == 2 ? 7 : uint16_t(rng_()));
  }

  uint16_t port() {
    static const uint16_t kPorts[] = {443, 80, 53, 22, 4789, 6081, 1500, 1000, 2000, 8080};
    if (one_in(4)) return uint16_t(rng_());
    if (one_in(6)) return uint16_t(50000 + below(15536));
    return kPorts[below(10)];
  }

  size_t payload_size() {
    switch (below(8)) {
      case 0:
        return 400 + below(1100);
      case 1:
        return 900 + below(600);
      default:
        return below(80);
    }
  }

  // TCP, UDP, ICMP(v6) or other bytes after the IP header. ip6 selects ICMPv6 for "icmp".
  void transport(Bytes& b, uint8_t proto) {
    switch (proto) {
      case 6: {
        static const uint8_t kFlags[] = {0x02, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14,
                                         0x01, 0x20, 0x00, 0xff, 0x03, 0xc2, 0x29};
        put16(b, port()), put16(b, port());
        put32(b, uint32_t(rng_())), put32(b, uint32_t(rng_()));
        const uint32_t words = one_in(4) ? 5 + below(11) : 5;
        b.push_back(uint8_t(words << 4 | (one_in(8) ? below(16) : 0)));
        b.push_back(one_in(5) ? byte() : kFlags[below(sizeof kFlags)]);
        put16(b, 65535), put16(b, 0), put16(b, 0);
        for (uint32_t i = 5; i < words; ++i) put32(b, one_in(2) ? 0x01010101 : uint32_t(rng_()));
        if (one_in(6)) b.insert(b.end(), {'G', 'E', 'T', ' ', '/', ' '});
        random_bytes(b, payload_size());
        return;
      }
      case 17: {
        const uint16_t dport = port();
        put16(b, port()), put16(b, dport);
        const size_t len_at = b.size();
        put16(b, 0), put16(b, 0);
        const size_t start = b.size() - 8;
        if (dport == 4789 || one_in(10)) {  // a VXLAN header, I flag mostly set
          put32(b, one_in(4) ? uint32_t(rng_()) : 0x08000000), put32(b, below(200) << 8);
        }
        random_bytes(b, payload_size());
        set16(b, len_at, xdp_ && one_in(30) ? below(16) : uint32_t(b.size() - start));
        return;
      }
      case 1:
      case 58: {
        static const uint8_t kIcmp[] = {8, 0, 3, 11, 5};
        static const uint8_t kIcmp6[] = {128, 129, 135, 136, 1, 134};
        b.push_back(proto == 1 ? kIcmp[below(5)] : kIcmp6[below(6)]);
        b.push_back(uint8_t(below(4)));
        put16(b, 0), put32(b, uint32_t(rng_()));
        random_bytes(b, below(64));
        return;
      }
      default:
        random_bytes(b, payload_size());
        return;
    }
  }

  uint8_t ip_proto() {
    static const uint8_t kProtos[] = {6, 6, 6, 17, 17, 1, 47, 50, 132};
    return one_in(10) ? byte() : kProtos[below(sizeof kProtos)];
  }

  void ipv4(Bytes& b) {
    const size_t at = b.size();
    const uint32_t ihl = one_in(6) ? 6 + below(10) : 5;
    const uint8_t proto = ip_proto();
    b.push_back(uint8_t(0x40 | ihl));
    b.push_back(byte());
    put16(b, 0);  // total length, below
    put16(b, uint16_t(rng_()));
    // flags and fragment offset: DF, first fragment (MF), later fragments, or none
    static const uint16_t kFrag[] = {0x4000, 0x0000, 0x2000, 0x2000 | 185, 0x00b9, 0x0001};
    put16(b, one_in(3) ? kFrag[below(6)] : 0x4000);
    static const uint8_t kTtl[] = {64, 63, 1, 128, 255, 32};
    b.push_back(kTtl[below(6)]);
    b.push_back(proto);
    put16(b, 0);
    put32(b, ipv4_addr()), put32(b, ipv4_addr());
    for (uint32_t i = 5; i < ihl; ++i) put32(b, one_in(2) ? 0x01010101 : uint32_t(rng_()));
    const bool later_fragment = (b[at + 6] & 0x1f) != 0 || b[at + 7] != 0;
    if (later_fragment)
      random_bytes(b, payload_size());
    else
      transport(b, proto);
    // Mostly the true length; for XDP sometimes less (a trailer follows the packet) or more.
    const uint32_t len = uint32_t(b.size() - at);
    if (!xdp_) {
      set16(b, at + 2, len);
      return;
    }
    set16(b, at + 2,
          one_in(20)   ? len - std::min<uint32_t>(len, below(40))
          : one_in(30) ? len + below(40)
                       : len);
  }

  void ipv6(Bytes& b) {
    const size_t at = b.size();
    put32(b, 0x60000000 | below(1 << 20));
    put16(b, 0);  // payload length, below
    const size_t next_at = b.size();
    b.push_back(0);
    static const uint8_t kHops[] = {64, 255, 1, 63};
    b.push_back(kHops[below(4)]);
    ipv6_addr(b), ipv6_addr(b);
    // extension headers: hop-by-hop (0), routing (43), destination options (60), fragment (44);
    // for XDP up to 4, one more than it walks
    size_t next = next_at;
    const uint32_t ext = one_in(3) ? 1 + below(xdp_ ? 4 : 3) : 0;
    for (uint32_t i = 0; i < ext; ++i) {
      static const uint8_t kExt[] = {0, 43, 60, 44};
      const uint8_t type = kExt[below(4)];
      b[next] = type;
      next = b.size();
      b.push_back(0);
      if (type == 44) {
        b.push_back(0), put16(b, one_in(2) ? 1 : 0), put32(b, uint32_t(rng_()));
      } else {
        const uint32_t len = below(2);
        b.push_back(uint8_t(len));
        for (uint32_t j = 0; j < 6 + len * 8; ++j) b.push_back(0x01);
      }
    }
    static const uint8_t kProtos[] = {6, 6, 17, 58, 58, 59};
    const uint8_t proto = one_in(10) ? byte() : kProtos[below(6)];
    b[next] = proto;
    transport(b, proto);
    set16(b, at + 4, xdp_ && one_in(25) ? 0 : uint32_t(b.size() - at - 40));
  }

  void arp(Bytes& b) {
    put16(b, 1), put16(b, 0x0800), b.push_back(6), b.push_back(4), put16(b, 1 + below(2));
    mac(b), put32(b, ipv4_addr()), mac(b), put32(b, ipv4_addr());
  }

  // A frame; l3 becomes the offset of its IP header (0: none).
  Bytes frame(size_t& l3) {
    Bytes b;
    mac(b), mac(b);
    // VLAN tags: none, one (0x8100), two (0x88a8 or 0x8100 outside, 0x8100 inside)
    const uint32_t tags = one_in(4) ? (one_in(3) ? 2 : 1) : 0;
    for (uint32_t i = 0; i < tags; ++i) {
      put16(b, i == 0 && tags == 2 && one_in(2) ? 0x88a8 : 0x8100);
      static const uint16_t kVids[] = {100, 200, 100, 4094};
      put16(b, uint16_t(below(8) << 13) | (one_in(5) ? below(4096) : kVids[below(4)]));
    }
    switch (below(20)) {
      case 0:
      case 1:
        put16(b, 0x0806), arp(b);
        break;
      case 2:  // 802.3 length and LLC
        put16(b, 3 + 40), b.push_back(0x42), b.push_back(0x42), b.push_back(0x03),
            random_bytes(b, 40);
        break;
      case 3:  // LLDP and anything else
        put16(b, one_in(2) ? 0x88cc : 0x0600 + below(0xfa00)), random_bytes(b, payload_size());
        break;
      case 4:
      case 5:
      case 6:
      case 7:
      case 8:
        put16(b, 0x86dd), l3 = b.size(), ipv6(b);
        break;
      default:
        put16(b, 0x0800), l3 = b.size(), ipv4(b);
        break;
    }
    if (b.size() < 60 && !one_in(4)) b.resize(60, 0);        // Ethernet padding
    if (xdp_ && one_in(30)) random_bytes(b, 1 + below(12));  // a trailer after the packet
    return b;
  }

  // Random bytes, for XDP at least an Ethernet header's worth.
  Bytes garbage() {
    Bytes b;
    const size_t n = (xdp_ ? 14 : 0) + below(200);
    for (size_t i = 0; i < n; ++i) b.push_back(byte());
    if (n >= 14 && one_in(2)) {
      static const uint16_t kTypes[] = {0x0800, 0x86dd, 0x8100, 0x0806, 0x88a8};
      set16(b, 12, kTypes[below(5)]);
      if (n > 14 && b[12] == 0x08 && b[13] == 0x00) b[14] = uint8_t(0x40 | (b[14] & 0x0f));
    }
    return b;
  }

  Bytes garbage_ip() {
    Bytes b;
    const size_t n = below(120);
    for (size_t i = 0; i < n; ++i) b.push_back(byte());
    if (n > 0) b[0] = uint8_t((one_in(2) ? 0x40 : 0x60) | (b[0] & 0x0f));
    return b;
  }

  // How the frame was captured: whole mostly; cut by a snap length; cut anywhere; tiny.
  void capture(CapturedFrame& f) {
    const auto full = uint32_t(f.data.size());
    switch (below(20)) {
      case 0:
      case 1:
        f.data.resize(std::min<size_t>(full, one_in(2) ? 64 : 96));
        break;
      case 2:
      case 3:
        f.data.resize(below(full + 1));
        break;
      case 4:
        f.data.resize(std::min<uint32_t>(full, below(21)));
        break;
      default:
        break;
    }
  }

  // What reached XDP: whole mostly; cut by a snap length; cut anywhere past the Ethernet header.
  void cut(Bytes& f) {
    switch (below(20)) {
      case 0:
      case 1:
        f.resize(std::min<size_t>(f.size(), one_in(2) ? 64 : 96));
        break;
      case 2:
      case 3:
        f.resize(14 + below(uint32_t(std::max<size_t>(f.size(), 15) - 13)));
        break;
      default:
        break;
    }
  }

  std::mt19937_64 rng_;
  const bool xdp_;
};

}  // namespace

void make_captured_corpus(uint64_t seed, size_t n, std::vector<CapturedFrame>& ethernet,
                          std::vector<CapturedFrame>& raw) {
  Corpus(seed, false).make_captured(n, ethernet, raw);
}

std::vector<std::vector<uint8_t>> make_xdp_corpus(uint64_t seed, size_t n) {
  return Corpus(seed, true).make_xdp(n);
}

std::string hex_prefix(const std::vector<uint8_t>& b, size_t max_bytes) {
  std::string s;
  char x[4];
  for (size_t i = 0; i < b.size() && i < max_bytes; ++i)
    std::snprintf(x, sizeof x, "%02x", b[i]), s += x;
  return s;
}

}  // namespace xcap::test
