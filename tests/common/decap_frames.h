// Frames for the Decapsulator tests (tests/unit/decap_test.cpp, decap_malformed_test.cpp):
// inner frames to wrap and outer carriers to wrap them in, with fixed test addresses
// (198.18.0.0/15, 2001:db8::/32).
#pragma once

#include "common/frame_builder.h"

namespace xcap::test {

inline constexpr const char* kOuterSrc = "198.18.0.10";
inline constexpr const char* kOuterDst = "198.18.0.20";
inline constexpr const char* kOuterSrc6 = "2001:db8::10";
inline constexpr const char* kOuterDst6 = "2001:db8::20";

// The mirrored frame: what the operator wants back, byte for byte.
inline Bytes inner_eth() {
  return FrameBuilder()
      .eth({0x02, 0, 0, 0, 0, 0x12}, {0x02, 0, 0, 0, 0, 0x11})
      .ipv4("198.18.1.1", "198.18.1.2")
      .tcp(40000, 443)
      .payload(32)
      .build();
}

// Inner packets with no Ethernet header (GENEVE from AWS Gateway Load Balancer, GRE with IP).
inline Bytes inner_ipv4() {
  return FrameBuilder().ipv4("198.18.1.1", "198.18.1.2").tcp(40000, 443).payload(32).build(false);
}
inline Bytes inner_ipv6() {
  return FrameBuilder()
      .ipv6("2001:db8:1::1", "2001:db8:1::2")
      .tcp(40000, 443)
      .payload(32)
      .build(false);
}

// Outer Ethernet, IP and UDP to dport, or GRE carrying proto: the tunnel header comes next.
inline FrameBuilder outer_udp(uint16_t dport) {
  return FrameBuilder().eth().ipv4(kOuterSrc, kOuterDst).udp(49152, dport);
}
inline FrameBuilder outer_udp6(uint16_t dport) {
  return FrameBuilder().eth().ipv6(kOuterSrc6, kOuterDst6).udp(49152, dport);
}
inline FrameBuilder outer_gre(uint16_t proto, const GreFields& f = {}) {
  return FrameBuilder().eth().ipv4(kOuterSrc, kOuterDst).gre(proto, f);
}

}  // namespace xcap::test
