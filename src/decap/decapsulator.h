// Decapsulator: strips a mirror's delivery encapsulation, without copying or allocating.
//
// Outer headers: Ethernet, up to two VLAN tags (0x8100/0x88a8), IPv4 (options honoured; a
// fragment with a non-zero offset is not a tunnel) or IPv6 (hop-by-hop, routing, destination
// options and fragment headers walked), then UDP to a VXLAN or GENEVE port, or IP protocol 47
// (GRE, ERSPAN I/II/III). Inner frames of GENEVE (0x0800, 0x86DD) and GRE (IP payloads) carry
// no Ethernet header and start at their IP header.
//
// Depth: the delivery tunnel is stripped, the customer's are not. DecapConfig::max_depth levels
// (default 1) are unwrapped; VXLAN directly inside GENEVE (AWS Gateway Load Balancer: GENEVE →
// IPv4/UDP 4789 → VXLAN) belongs to the level of its GENEVE.
//
// When is a frame a tunnel? Once the header that names it has arrived whole: a UDP header
// with a VXLAN/GENEVE destination port (in an IP header that is itself complete and
// consistent), or a complete IP header with protocol 47. Before that point the frame is not a
// tunnel and comes back unchanged (depth 0). After it, anything cut, inconsistent or unknown
// in the outermost tunnel's headers or its inner link header is a DecapError. In a nested
// level the same fault costs nothing: the frame stops at the level above (inner_error says
// why), since a customer's UDP to 4789 need not be VXLAN at all.
//
// Lengths: the inner frame ends where the enclosing IP/UDP length fields say (Ethernet padding
// and trailers after the outer packet are not part of it) or at the end of the capture. A
// header that runs past the capture while the length fields say the packet goes on is
// Truncated; one that runs past what the length fields allow is BadLength.
#pragma once

#include <bitset>
#include <cstdint>

#include "decap/decap_config.h"
#include "decap/decap_error.h"
#include "decap/link_type.h"
#include "decap/source_key.h"
#include "decap/tunnel.h"

namespace xcap {

struct DecapResult {
  // The frame under the stripped tunnels: a pointer into the input and its captured length.
  // The input frame itself when depth is 0 or on error.
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;
  // Its original length: for a decapsulated frame, the largest of the captured length, what
  // the enclosing length fields and the outer wire length say, and what its own IP header
  // implies (truncation repair, see wire_length.h). Unchanged when depth is 0 or on error.
  uint32_t wire_len = 0;
  LinkType link_type = LinkType::Ethernet;
  // Tunnels stripped: 0 for a frame that is not a tunnel (passed through as it is).
  uint8_t depth = 0;
  DecapError error = DecapError::None;
  // On error, the outermost tunnel, whose header failed.
  Tunnel error_tunnel = Tunnel::None;
  // A nested level that did not parse (data is the frame above it, still ok()), or None.
  DecapError inner_error = DecapError::None;
  // The outermost tunnel's identity when depth > 0. On an error in the outermost tunnel it
  // holds what was learned before the failure (address, tunnel type, id if read); tunnel is
  // None when the frame is not a tunnel.
  SourceKey source;

  bool ok() const { return error == DecapError::None; }
};

class Decapsulator {
 public:
  explicit Decapsulator(const DecapConfig& config = {});

  // Unwraps frame[0, caplen), which was wire_len bytes on the wire. Reads nothing outside the
  // caplen bytes, never throws, never allocates.
  DecapResult decap(const uint8_t* frame, uint32_t caplen, uint32_t wire_len) const noexcept;

 private:
  // One level of unwrapping; filled in place (a by-value struct handed between the parsers
  // cost more than the parsing, in store-forwarding stalls).
  struct Step;
  void step(const uint8_t* f, uint32_t off, LinkType link, Step& s) const noexcept;
  void udp_tunnel(const uint8_t* f, uint32_t udp, Step& s) const noexcept;
  void gre_tunnel(const uint8_t* f, uint32_t gre, Step& s) const noexcept;

  std::bitset<65536> vxlan_ports_;  // 8 KiB: one lookup per UDP packet, however many ports
  uint16_t geneve_port_;
  uint8_t max_depth_;
  bool vxlan_, geneve_, gre_, erspan_;
};

}  // namespace xcap
