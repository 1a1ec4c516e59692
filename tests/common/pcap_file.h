// Reads a capture file with libpcap (nanosecond precision) for assertions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace xcap::test {

struct PcapRecord {
  uint64_t ts_ns;
  uint32_t caplen;
  uint32_t len;
  std::vector<uint8_t> data;
};

struct PcapContents {
  int link_type = -1;
  std::vector<PcapRecord> records;
  std::string error;  // non-empty when libpcap could not read the file
};

PcapContents read_pcap(const std::string& path);
// Writes records as a classic pcap (microseconds, Ethernet) for xcap-gen --pcap replays.
void write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames);

}  // namespace xcap::test
