// LinkType: what the first byte of a (decapsulated) frame is, as pcap/pcapng link types.
// Most tunnels carry Ethernet. GENEVE with protocol 0x0800/0x86DD (what AWS Gateway Load
// Balancer sends) and GRE with an IP payload carry bare IP packets: those are written as
// LINKTYPE_RAW (101), which Wireshark and tcpdump read by the IP version nibble, rather than
// behind a made-up Ethernet header that would show MAC addresses nobody sent.
#pragma once

#include <cstdint>
#include <string_view>

namespace xcap {

enum class LinkType : uint32_t {
  Ethernet = 1,  // LINKTYPE_ETHERNET
  Raw = 101,     // LINKTYPE_RAW: an IPv4 or IPv6 packet, no link-layer header
};

constexpr std::string_view to_string(LinkType t) {
  switch (t) {
    case LinkType::Ethernet:
      return "ethernet";
    case LinkType::Raw:
      return "raw";
  }
  return "unknown";
}

}  // namespace xcap
