#include "decap/wire_length.h"

#include <algorithm>

#include "decap/ip_header.h"

namespace xcap {

using namespace wire;

uint32_t ip_implied_length(const uint8_t* f, uint32_t caplen, LinkType link) noexcept {
  const IpHeader ip = find_ip_header(f, 0, caplen, link);
  if (ip.len == 0) return 0;
  return ip.off + (ip.ipv6 ? kIpv6HeaderLen : 0) + ip.length_field;
}

uint32_t repaired_wire_len(const uint8_t* frame, uint32_t caplen, uint32_t known_len,
                           LinkType link) noexcept {
  return std::max({caplen, known_len, ip_implied_length(frame, caplen, link)});
}

}  // namespace xcap
