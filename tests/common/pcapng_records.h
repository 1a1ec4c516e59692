// Reads a pcapng file block by block for the tests that need what libpcap does not show: each
// Enhanced Packet Block's interface and epb_flags (direction), and the interface names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xcap::test {

struct PcapngPacket {
  uint32_t iface = 0;
  uint64_t ts = 0;  // in the interface's if_tsresol units (xcap: nanoseconds)
  uint32_t caplen = 0, len = 0;
  uint32_t flags = 0;  // epb_flags; 0 when absent
  bool has_flags = false;
  std::vector<uint8_t> data;
};

struct PcapngFile {
  std::vector<std::string> interfaces;  // if_name of each IDB, in order ("" without one)
  std::vector<PcapngPacket> packets;
  std::string error;  // non-empty when the file is not well-formed pcapng
};

PcapngFile read_pcapng(const std::string& path);

}  // namespace xcap::test
