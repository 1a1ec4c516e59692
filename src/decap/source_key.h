// SourceKey: the identity of one mirror source, i.e. one pcapng interface. Two frames belong
// to the same source when their outermost tunnel has the same type, the same outer IP source
// address and the same id. The outermost tunnel decides, because that is the mirror session
// the operator configured; nested tunnels inside it (GENEVE from a load balancer around the
// VXLAN of a mirror session) are the same source.
//
// The key is a small trivially-copyable value with cheap equality and hash, so a worker can
// look it up in a lock-free registry per packet; name() allocates and is meant for the first
// packet of a source only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "decap/tunnel.h"

namespace xcap {

struct SourceKey {
  // Outer IP source address in network order: IPv4 in addr[0..3] (the rest zero), or IPv6.
  std::array<uint8_t, 16> addr{};
  // VXLAN/GENEVE: VNI (24 bits). ERSPAN II/III: session id (10 bits); ERSPAN I: 0.
  // GRE: the key when the K bit is set, else 0.
  uint32_t id = 0;
  Tunnel tunnel = Tunnel::None;
  bool ipv6 = false;

  bool operator==(const SourceKey&) const = default;

  // 64-bit mix of every field; equal keys hash equal.
  uint64_t hash() const noexcept;

  // "<tunnel>:<outer source>:<id label><id>", the pcapng interface name and the file-name part
  // of a source. The id label is "vni" (vxlan, geneve), "session" (erspan1/2/3) or "key" (gre):
  //   vxlan:198.18.0.10:vni100     geneve:2001:db8::1:vni7
  //   erspan2:198.18.0.10:session5 erspan3:2001:db8::7:session1023   gre:198.18.0.10:key0
  // IPv6 addresses are in RFC 5952 form (inet_ntop), so a name splits unambiguously at its
  // first and its last colon. A key with no tunnel is "none".
  std::string name() const;
};

}  // namespace xcap

template <>
struct std::hash<xcap::SourceKey> {
  size_t operator()(const xcap::SourceKey& k) const noexcept { return size_t(k.hash()); }
};
