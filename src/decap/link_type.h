// LinkType: what a (decapsulated) frame starts with, as the pcap/pcapng link type its records
// carry. Most tunnels carry Ethernet; GENEVE with protocol 0x0800/0x86DD (AWS Gateway Load
// Balancer) and GRE with an IP payload carry bare IP packets (LINKTYPE_RAW).
#pragma once

#include <cstdint>
#include <string_view>

namespace xcap {

enum class LinkType : uint32_t {
  Ethernet = 1,  // LINKTYPE_ETHERNET
  Raw = 101,     // LINKTYPE_RAW: an IPv4 or IPv6 packet, no link-layer header
};

// The LINKTYPE_ value, as file headers and interface blocks carry it.
constexpr uint32_t linktype_value(LinkType t) {
  return static_cast<uint32_t>(t);
}

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
