// Tunnel: the encapsulations the decapsulator strips, and the link type of what they carry.
// Both are part of outside contracts: tunnel names appear in pcapng interface names and in
// the `decap_error` metric's labels; link types are written into pcap/pcapng headers.
#pragma once

#include <cstdint>
#include <string_view>

namespace xcap {

// Values are stable (counter arrays are indexed by them); Erspan1 came last, after the
// original list, so it was appended rather than inserted.
enum class Tunnel : uint8_t {
  None,
  Vxlan,    // RFC 7348, UDP 4789 (and configured ports)
  Geneve,   // RFC 8926, UDP 6081
  Erspan2,  // ERSPAN type II: GRE 0x88BE with the sequence bit, 8-byte header (version 1)
  Erspan3,  // ERSPAN type III: GRE 0x22EB, 12-byte header (version 2) [+ 8-byte subheader]
  Gre,      // RFC 2784/2890: GRE carrying Ethernet (0x6558) or IP (0x0800, 0x86DD)
  Erspan1,  // ERSPAN type I: GRE 0x88BE without the sequence bit, no ERSPAN header
};
inline constexpr unsigned kTunnelCount = 7;

constexpr std::string_view to_string(Tunnel t) {
  switch (t) {
    case Tunnel::None:
      return "none";
    case Tunnel::Vxlan:
      return "vxlan";
    case Tunnel::Geneve:
      return "geneve";
    case Tunnel::Erspan1:
      return "erspan1";
    case Tunnel::Erspan2:
      return "erspan2";
    case Tunnel::Erspan3:
      return "erspan3";
    case Tunnel::Gre:
      return "gre";
  }
  return "unknown";
}

}  // namespace xcap
