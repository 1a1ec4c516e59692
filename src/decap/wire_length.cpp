#include "decap/wire_length.h"

#include <algorithm>

#include "decap/byte_order.h"

namespace xcap {

using namespace wire;

uint32_t ip_implied_length(const uint8_t* f, uint32_t caplen, LinkType link) noexcept {
  uint32_t off = 0;
  uint16_t type = 0;
  if (link == LinkType::Ethernet) {
    if (caplen < kEthHeaderLen) return 0;
    type = load_be16(f + 12);
    off = kEthHeaderLen;
    for (uint32_t i = 0; i < kMaxVlanTags && (type == kEtherVlan || type == kEtherQinq); ++i) {
      if (caplen - off < kVlanTagLen) return 0;
      type = load_be16(f + off + 2);
      off += kVlanTagLen;
    }
  } else {
    if (caplen < 1) return 0;
    unsigned version = f[0] >> 4;
    type = version == 4 ? kEtherIpv4 : version == 6 ? kEtherIpv6 : 0;
  }
  const uint8_t* ip = f + off;
  const uint32_t avail = caplen - off;
  if (type == kEtherIpv4) {
    if (avail < kIpv4MinHeaderLen || ip[0] >> 4 != 4) return 0;
    uint32_t ihl = (ip[0] & 0x0f) * 4u;
    uint32_t total = load_be16(ip + 2);
    if (ihl < kIpv4MinHeaderLen || avail < ihl || total < ihl) return 0;
    return off + total;
  }
  if (type == kEtherIpv6) {
    if (avail < kIpv6HeaderLen || ip[0] >> 4 != 6) return 0;
    return off + kIpv6HeaderLen + load_be16(ip + 4);
  }
  return 0;
}

uint32_t repaired_wire_len(const uint8_t* frame, uint32_t caplen, uint32_t known_len,
                           LinkType link) noexcept {
  return std::max({caplen, known_len, ip_implied_length(frame, caplen, link)});
}

}  // namespace xcap
