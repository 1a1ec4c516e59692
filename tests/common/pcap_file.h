// Reads a capture file (pcap or pcapng) with libpcap (nanosecond precision) for assertions.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <vector>

namespace xcap::test {

struct PcapRecord {
  uint64_t ts_ns;
  uint32_t caplen;
  uint32_t len;
  std::vector<uint8_t> data;
  // Field by field, in this order: records compare as values and sort as a multiset.
  bool operator==(const PcapRecord&) const = default;
  auto operator<=>(const PcapRecord&) const = default;
};

struct PcapContents {
  int link_type = -1;
  std::vector<PcapRecord> records;
  std::string error;  // non-empty when libpcap could not read the file
};

PcapContents read_pcap(const std::string& path);
// The same for a whole capture held in memory.
PcapContents read_pcap_bytes(std::vector<uint8_t> bytes);
// read_pcap's records; a file libpcap cannot open or read to the end fails the current test
// (non-fatally) with the path and libpcap's error, and the records read until then are returned.
std::vector<PcapRecord> read_pcap_records(const std::string& path);
// Every complete record of the capture files in dir (those whose names do not start with "."),
// sorted. A .part a killed xcap left counts up to its last complete record, what the next start
// seals it to; a torn record after it does not count and fails nothing.
std::vector<PcapRecord> spool_records(const std::string& dir);
// Writes frames as a classic pcap (Ethernet), 1 ms apart, e.g. for xcap-gen --pcap replays.
void write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames);
// Writes records as they are (nanosecond pcap, Ethernet); caplen is data.size(), len is kept.
void write_pcap_records(const std::string& path, const std::vector<PcapRecord>& records);

}  // namespace xcap::test
