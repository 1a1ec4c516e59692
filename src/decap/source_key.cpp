#include "decap/source_key.h"

#include <arpa/inet.h>

#include <cstring>

namespace xcap {

namespace {
// splitmix64's finaliser: a full avalanche in a handful of instructions.
constexpr uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

const char* id_label(Tunnel t) {
  switch (t) {
    case Tunnel::Vxlan:
    case Tunnel::Geneve:
      return "vni";
    case Tunnel::Erspan1:
    case Tunnel::Erspan2:
    case Tunnel::Erspan3:
      return "session";
    case Tunnel::Gre:
      return "key";
    case Tunnel::None:
      break;
  }
  return "id";
}
}  // namespace

uint64_t SourceKey::hash() const noexcept {
  uint64_t lo, hi;
  std::memcpy(&lo, addr.data(), 8);
  std::memcpy(&hi, addr.data() + 8, 8);
  uint64_t tail = uint64_t(id) << 16 | uint64_t(tunnel) << 8 | uint64_t(ipv6);
  return mix(mix(mix(lo) ^ hi) ^ tail);
}

std::string SourceKey::name() const {
  if (tunnel == Tunnel::None) return "none";
  char ip[INET6_ADDRSTRLEN] = {};
  inet_ntop(ipv6 ? AF_INET6 : AF_INET, addr.data(), ip, sizeof(ip));
  std::string s(to_string(tunnel));
  s += ':';
  s += ip;
  s += ':';
  s += id_label(tunnel);
  s += std::to_string(id);
  return s;
}

}  // namespace xcap
