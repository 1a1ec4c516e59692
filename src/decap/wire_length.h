// Truncation repair. Mirrors cut packets (OCI VTAP "max packet size", AWS PacketLength, the
// ERSPAN T bit) and then wrap what is left, so after decapsulation the inner frame is short
// and nothing but its own IP header remembers how long it was. Recording that length as the
// original length makes the capture honest: Wireshark sees a packet captured in part rather
// than a whole packet, and its TCP analysis stops reporting segments as lost.
#pragma once

#include <cstdint>

#include "decap/link_type.h"

namespace xcap {

// The frame's length as its IP header implies it: the L2 header (Ethernet, up to two VLAN
// tags; none for LinkType::Raw) plus the IPv4 total length, or plus 40 + the IPv6 payload
// length. 0 when the frame is not IP, or its IP header is cut (IPv4 options included) or
// inconsistent (wrong version, IHL < 5, total length < IHL * 4).
uint32_t ip_implied_length(const uint8_t* frame, uint32_t caplen, LinkType link) noexcept;

// The original length of a frame of which caplen bytes arrived and known_len (>= caplen) are
// known to have existed from the enclosing headers: the IP-implied length when it is larger,
// else known_len. A shorter implied length is normal (Ethernet pads to 60 bytes) and changes
// nothing.
uint32_t repaired_wire_len(const uint8_t* frame, uint32_t caplen, uint32_t known_len,
                           LinkType link) noexcept;

}  // namespace xcap
