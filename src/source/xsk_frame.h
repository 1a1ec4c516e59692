// What one AF_XDP UMEM frame holds: the facts the socket (xsk_source, xsk_batch) and the
// --frame-size choice (src/cli) share.
#pragma once

#include <cstdint>

namespace xcap::source {

// In copy mode the kernel puts a frame XDP_PACKET_HEADROOM bytes into its UMEM frame (the
// xcap_meta in front of it lies in that headroom).
inline constexpr uint32_t kXdpPacketHeadroom = 256;
// A frame's bytes beyond its MTU: the Ethernet header and up to two VLAN tags.
inline constexpr uint32_t kL2Overhead = 14 + 8;
// The smallest UMEM frame size AF_XDP takes.
inline constexpr uint32_t kMinUmemFrame = 2048;

}  // namespace xcap::source
