// What the decapsulator reads from the wire: big-endian loads (common/byte_order.h), the
// ethertypes, IP protocols and header lengths it knows.
#pragma once

#include <cstdint>

#include "common/byte_order.h"

namespace xcap::wire {

using xcap::load_be16;
using xcap::load_be32;

// The ethertypes and IP protocols the decapsulator reads.
inline constexpr uint16_t kEtherIpv4 = 0x0800;
inline constexpr uint16_t kEtherIpv6 = 0x86dd;
inline constexpr uint16_t kEtherVlan = 0x8100;  // 802.1Q
inline constexpr uint16_t kEtherQinq = 0x88a8;  // 802.1ad
inline constexpr uint16_t kEtherTeb = 0x6558;   // transparent Ethernet bridging
inline constexpr uint16_t kEtherErspan2 = 0x88be;
inline constexpr uint16_t kEtherErspan3 = 0x22eb;
inline constexpr uint8_t kIpProtoUdp = 17;
inline constexpr uint8_t kIpProtoGre = 47;
inline constexpr uint32_t kEthHeaderLen = 14;
inline constexpr uint32_t kVlanTagLen = 4;
inline constexpr uint32_t kMaxVlanTags = 2;
inline constexpr uint32_t kIpv4MinHeaderLen = 20;
inline constexpr uint32_t kIpv6HeaderLen = 40;

}  // namespace xcap::wire
