// find_ip_header: the link-layer and IP header walk that the decapsulator (for every carrier)
// and truncation repair (for the inner frame) share. Inlined: the decapsulator is hot.
#pragma once

#include <cstdint>

#include "decap/byte_order.h"
#include "decap/link_type.h"

namespace xcap::wire {

struct IpHeader {
  uint32_t off = 0;           // where the IP header starts in the frame
  uint32_t len = 0;           // its length: IPv4 IHL * 4, IPv6 40 (extension headers not included)
  uint32_t length_field = 0;  // IPv4 total length, IPv6 payload length (0: a jumbogram)
  bool ipv6 = false;
};

// Finds the IP header of the frame at f + off, whose captured bytes end at end: behind an
// Ethernet header and up to two VLAN tags (LinkType::Ethernet), or at off (LinkType::Raw).
// len is 0 when the frame is not IPv4 or IPv6, or when its link or IP header is cut or
// inconsistent (wrong version, IHL < 5, IPv4 total length < IHL * 4).
[[gnu::always_inline]] inline IpHeader find_ip_header(const uint8_t* f, uint32_t off, uint64_t end,
                                                      LinkType link) noexcept {
  constexpr IpHeader kNone{0, 0, 0, false};
  uint16_t type = 0;
  if (link == LinkType::Ethernet) {
    if (end - off < kEthHeaderLen) return kNone;
    type = load_be16(f + off + 12);
    off += kEthHeaderLen;
    for (uint32_t i = 0; i < kMaxVlanTags && (type == kEtherVlan || type == kEtherQinq); ++i) {
      if (end - off < kVlanTagLen) return kNone;
      type = load_be16(f + off + 2);
      off += kVlanTagLen;
    }
  } else {
    if (end - off < 1) return kNone;
    const unsigned version = f[off] >> 4;
    type = version == 4 ? kEtherIpv4 : version == 6 ? kEtherIpv6 : 0;
  }
  const uint8_t* h = f + off;
  if (type == kEtherIpv4) {
    if (end - off < kIpv4MinHeaderLen || h[0] >> 4 != 4) return kNone;
    const uint32_t ihl = (h[0] & 0x0f) * 4u;
    const uint32_t total = load_be16(h + 2);
    if (ihl < kIpv4MinHeaderLen || total < ihl || end - off < ihl) return kNone;
    return IpHeader{off, ihl, total, false};
  }
  if (type == kEtherIpv6) {
    if (end - off < kIpv6HeaderLen || h[0] >> 4 != 6) return kNone;
    return IpHeader{off, kIpv6HeaderLen, load_be16(h + 4), true};
  }
  return kNone;
}

}  // namespace xcap::wire
