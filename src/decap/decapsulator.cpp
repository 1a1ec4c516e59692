#include "decap/decapsulator.h"

#include <algorithm>
#include <limits>

#include "decap/byte_order.h"
#include "decap/ip_header.h"
#include "decap/wire_length.h"

// The parsers are inlined into decap(), so a Step's fields can live in registers.
#define XCAP_DECAP_INLINE [[gnu::always_inline]] inline

namespace xcap {

using namespace wire;

namespace {
constexpr uint32_t kUdpHeaderLen = 8;
constexpr uint32_t kVxlanHeaderLen = 8;
constexpr uint8_t kVxlanFlagI = 0x08;  // "VNI valid": the only flag RFC 7348 defines
constexpr uint32_t kGeneveHeaderLen = 8;
constexpr uint32_t kGreHeaderLen = 4;
constexpr uint16_t kGreC = 0x8000, kGreR = 0x4000, kGreK = 0x2000, kGreS = 0x1000;
constexpr uint16_t kGreVersion = 0x0007;
constexpr uint32_t kErspan2HeaderLen = 8;
constexpr uint32_t kErspan3HeaderLen = 12;
constexpr uint32_t kErspan3SubheaderLen = 8;  // the platform-specific subheader (O bit)
constexpr uint16_t kErspanSessionMask = 0x03ff;
constexpr unsigned kMaxIpv6ExtHeaders = 4;
constexpr uint8_t kIpv6HopByHop = 0, kIpv6Routing = 43, kIpv6Fragment = 44, kIpv6DestOpts = 60;

// Walks the IPv6 extension headers at l4 (nh: the first one's type) to the upper-layer header:
// l4 and nh then name it. False when a header is cut or the packet is a later fragment.
XCAP_DECAP_INLINE bool skip_ipv6_extensions(const uint8_t* f, uint64_t end, uint32_t& l4,
                                            uint8_t& nh, bool& more_fragments) noexcept {
  for (unsigned i = 0; i < kMaxIpv6ExtHeaders; ++i) {
    if (nh == kIpv6HopByHop || nh == kIpv6Routing || nh == kIpv6DestOpts) {
      if (end - l4 < 2) return false;
      const uint32_t len = (f[l4 + 1] + 1u) * 8;
      if (end - l4 < len) return false;
      nh = f[l4];
      l4 += len;
    } else if (nh == kIpv6Fragment) {
      if (end - l4 < 8) return false;
      const uint16_t frag = load_be16(f + l4 + 2);
      if (frag & 0xfff8) return false;
      more_fragments = frag & 1;
      nh = f[l4];
      l4 += 8;
    } else {
      break;
    }
  }
  return true;
}

}  // namespace

// One level of unwrapping: what the tunnel at some offset was, and where its inner frame is.
struct Decapsulator::Step {
  enum Status : uint8_t { NotTunnel, Stripped, Failed };
  Status status = NotTunnel;
  Tunnel tunnel = Tunnel::None;
  DecapError error = DecapError::None;
  LinkType link = LinkType::Ethernet;  // of the inner frame
  bool ipv6 = false;                   // the carrier's IP version
  bool more_fragments = false;         // the carrier is a first fragment: UDP length may exceed it
  const uint8_t* src = nullptr;        // the carrier's IP source address
  uint32_t id = 0;
  uint32_t inner = 0;     // offset of the inner frame
  uint64_t end = 0;       // the carrier's captured bytes end here
  uint64_t declared = 0;  // its length fields say it ends here (>= end)

  // An IP or UDP length field says the packet ends at `at`.
  void bound(uint64_t at) {
    if (at <= end) end = at;
    declared = at;
  }
  // n bytes at off are inside the captured packet; else records why not.
  bool need(uint64_t off, uint64_t n) {
    if (off + n <= end) return true;
    fail(off + n <= declared ? DecapError::Truncated : DecapError::BadLength);
    return false;
  }
  void reset() {
    status = NotTunnel;
    tunnel = Tunnel::None;
    error = DecapError::None;
    ipv6 = false;
    more_fragments = false;
    id = 0;
  }
  void fail(DecapError e) {
    status = Failed;
    error = e;
  }
  void not_tunnel() {
    status = NotTunnel;
    tunnel = Tunnel::None;
  }
  // The inner frame must at least hold its link header (for raw IP: the version nibble).
  void stripped(uint32_t inner_off, LinkType inner_link) {
    inner = inner_off;
    link = inner_link;
    if (need(inner_off, inner_link == LinkType::Ethernet ? kEthHeaderLen : 1)) status = Stripped;
  }
};

Decapsulator::Decapsulator(const DecapConfig& config)
    : geneve_port_(config.geneve_port), max_depth_(uint8_t(std::min(config.max_depth, 255u))) {
  using Mode = DecapConfig::Mode;
  vxlan_ = config.mode == Mode::Auto || config.mode == Mode::Vxlan;
  geneve_ = config.mode == Mode::Auto || config.mode == Mode::Geneve;
  gre_ = config.mode == Mode::Auto || config.mode == Mode::Gre;
  erspan_ = config.mode == Mode::Auto || config.mode == Mode::Erspan;
  for (uint16_t port : config.vxlan_ports) vxlan_ports_[port] = true;
}

// Parses the carrier (L2, IP) at off and hands the L4 header to the tunnel parsers.
XCAP_DECAP_INLINE void Decapsulator::step(const uint8_t* f, uint32_t off, LinkType link,
                                          Step& s) const noexcept {
  const IpHeader ip = find_ip_header(f, off, s.end, link);
  if (ip.len == 0) [[unlikely]]
    return;
  const uint8_t* h = f + ip.off;
  uint8_t proto;
  uint32_t l4 = ip.off + ip.len;
  if (!ip.ipv6) {
    const uint16_t frag = load_be16(h + 6);
    if (frag & 0x1fff) return;  // a later fragment: no L4 header here
    s.more_fragments = frag & 0x2000;
    s.src = h + 12;
    proto = h[9];
    s.bound(uint64_t(ip.off) + ip.length_field);
  } else {
    s.ipv6 = true;
    s.src = h + 8;
    if (ip.length_field != 0) s.bound(uint64_t(l4) + ip.length_field);  // 0: jumbogram
    proto = h[6];
    if (!skip_ipv6_extensions(f, s.end, l4, proto, s.more_fragments)) return;
  }

  if (proto == kIpProtoUdp && (vxlan_ || geneve_)) return udp_tunnel(f, l4, s);
  if (proto == kIpProtoGre && (gre_ || erspan_)) return gre_tunnel(f, l4, s);
}

// VXLAN or GENEVE, by destination port.
XCAP_DECAP_INLINE void Decapsulator::udp_tunnel(const uint8_t* f, uint32_t udp,
                                                Step& s) const noexcept {
  if (s.end - udp < kUdpHeaderLen) return;
  const uint16_t dport = load_be16(f + udp + 2);
  if (vxlan_ && vxlan_ports_[dport])
    s.tunnel = Tunnel::Vxlan;
  else if (geneve_ && dport == geneve_port_)
    s.tunnel = Tunnel::Geneve;
  else
    return;

  const uint32_t ulen = load_be16(f + udp + 4);
  if (ulen != 0 || !s.ipv6) {  // 0 over IPv6: a jumbogram, the IPv6 length rules
    if (ulen < kUdpHeaderLen) return s.fail(DecapError::BadLength);
    const uint64_t udp_end = uint64_t(udp) + ulen;
    if (udp_end > s.declared && !s.more_fragments) return s.fail(DecapError::BadLength);
    s.bound(udp_end);
  }

  const uint32_t h = udp + kUdpHeaderLen;
  if (!s.need(h, 8)) return;  // both headers are at least 8 bytes
  s.id = load_be32(f + h + 4) >> 8;
  if (s.tunnel == Tunnel::Vxlan) {
    if (!(f[h] & kVxlanFlagI)) return s.fail(DecapError::BadFlags);
    return s.stripped(h + kVxlanHeaderLen, LinkType::Ethernet);
  }

  if (f[h] >> 6 != 0) return s.fail(DecapError::BadFlags);     // version 0 only
  const uint32_t len = kGeneveHeaderLen + (f[h] & 0x3f) * 4u;  // options in 4-byte words
  if (!s.need(h, len)) return;
  switch (load_be16(f + h + 2)) {
    case kEtherTeb:
      return s.stripped(h + len, LinkType::Ethernet);
    case kEtherIpv4:
    case kEtherIpv6:
      return s.stripped(h + len, LinkType::Raw);
    default:
      return s.fail(DecapError::UnknownProtocol);
  }
}

// GRE (RFC 2784/2890) and the ERSPAN types carried in it.
XCAP_DECAP_INLINE void Decapsulator::gre_tunnel(const uint8_t* f, uint32_t gre,
                                                Step& s) const noexcept {
  s.tunnel = Tunnel::Gre;
  if (!s.need(gre, kGreHeaderLen)) return;
  const uint16_t flags = load_be16(f + gre);
  // Version 1 is PPTP's enhanced GRE; routing (RFC 1701) has variable-length fields.
  if ((flags & kGreVersion) || (flags & kGreR)) return s.fail(DecapError::BadFlags);
  const bool has_csum = flags & kGreC, has_key = flags & kGreK, has_seq = flags & kGreS;
  const uint32_t len = kGreHeaderLen + 4 * (has_csum + has_key + has_seq);
  if (!s.need(gre, len)) return;
  const uint32_t key = has_key ? load_be32(f + gre + 4 + (has_csum ? 4 : 0)) : 0;
  const uint32_t p = gre + len;

  switch (load_be16(f + gre + 2)) {
    case kEtherTeb:
      if (!gre_) return s.not_tunnel();
      s.id = key;
      return s.stripped(p, LinkType::Ethernet);
    case kEtherIpv4:
    case kEtherIpv6:
      if (!gre_) return s.not_tunnel();
      s.id = key;
      return s.stripped(p, LinkType::Raw);
    case kEtherErspan2:
      if (!erspan_) return s.not_tunnel();
      if (!has_seq) {  // type I: the mirrored frame follows the GRE header
        s.tunnel = Tunnel::Erspan1;
        return s.stripped(p, LinkType::Ethernet);
      }
      // Ver(4)=1 VLAN(12) | COS(3) En(2) T(1) Session(10) | Reserved(12) Index(20)
      s.tunnel = Tunnel::Erspan2;
      if (!s.need(p, kErspan2HeaderLen)) return;
      s.id = load_be16(f + p + 2) & kErspanSessionMask;
      if (f[p] >> 4 != 1) return s.fail(DecapError::BadFlags);
      return s.stripped(p + kErspan2HeaderLen, LinkType::Ethernet);
    case kEtherErspan3: {
      // Ver(4)=2 VLAN(12) | COS(3) BSO(2) T(1) Session(10) | Timestamp(32) |
      // SGT(16) P(1) FT(5) HW ID(6) D(1) Gra(2) O(1) [| platform subheader (64) when O]
      if (!erspan_) return s.not_tunnel();
      s.tunnel = Tunnel::Erspan3;
      if (!s.need(p, kErspan3HeaderLen)) return;
      s.id = load_be16(f + p + 2) & kErspanSessionMask;
      if (f[p] >> 4 != 2) return s.fail(DecapError::BadFlags);
      const uint32_t hlen = kErspan3HeaderLen + ((f[p + 11] & 1) ? kErspan3SubheaderLen : 0);
      if (!s.need(p, hlen)) return;
      return s.stripped(p + hlen, LinkType::Ethernet);
    }
    default:
      return s.fail(DecapError::UnknownProtocol);
  }
}

DecapResult Decapsulator::decap(const uint8_t* frame, uint32_t caplen,
                                uint32_t wire_len) const noexcept {
  DecapResult r;
  r.data = frame;
  r.caplen = caplen;
  r.wire_len = wire_len;
  // One Step lives through the loop and holds the current frame's bounds (end, declared);
  // the inlined parsers narrow them in place, and they are put back when no tunnel follows.
  Step s;
  s.end = caplen;
  s.declared = std::max(caplen, wire_len);
  uint32_t off = 0;
  LinkType link = LinkType::Ethernet;
  unsigned depth = 0, levels = 0;
  Tunnel last = Tunnel::None;
  for (;;) {
    // VXLAN right inside GENEVE is the rest of AWS's delivery, not a level of its own.
    const bool same_level = last == Tunnel::Geneve;
    if (levels == max_depth_ && !same_level) break;
    const uint64_t end = s.end, declared = s.declared;
    s.reset();
    step(frame, off, link, s);
    const bool outermost = depth == 0;
    const bool wanted = s.status != Step::NotTunnel &&
                        (levels < max_depth_ || (same_level && s.tunnel == Tunnel::Vxlan));
    if (!wanted || (!outermost && s.status == Step::Failed)) {
      // Not a tunnel, past the depth, or a nested level that does not parse: the frame stays
      // as it stood (the carrier's lengths may have bounded s: undo).
      if (wanted) r.inner_error = s.error;
      s.end = end;
      s.declared = declared;
      break;
    }
    if (outermost) {
      const size_t n = s.ipv6 ? 16 : 4;
      std::copy(s.src, s.src + n, r.source.addr.begin());
      r.source.ipv6 = s.ipv6;
      r.source.tunnel = s.tunnel;
      r.source.id = s.id;
      if (s.status == Step::Failed) {
        r.error = s.error;
        r.error_tunnel = s.tunnel;
        return r;
      }
    }
    levels += !(same_level && s.tunnel == Tunnel::Vxlan);
    ++depth;
    last = s.tunnel;
    off = s.inner;
    link = s.link;
  }
  if (depth == 0) return r;
  r.data = frame + off;
  r.caplen = uint32_t(s.end - off);
  r.link_type = link;
  r.depth = uint8_t(depth);
  const uint64_t known = std::min<uint64_t>(s.declared - off, std::numeric_limits<uint32_t>::max());
  r.wire_len = repaired_wire_len(r.data, r.caplen, uint32_t(known), link);
  return r;
}

}  // namespace xcap
