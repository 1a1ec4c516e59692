// Encoders for the two capture file formats xcap writes, in host byte order (both formats
// carry a magic number that tells readers the byte order):
//   - classic pcap with the NANOSECOND magic 0xa1b23c4d: 24-byte global header, then records
//     of a 16-byte header {ts_sec, ts_nsec, caplen, len} + data;
//   - pcapng: a Section Header Block and one Interface Description Block (if_name,
//     if_tsresol = 9, i.e. nanoseconds) per file, then Enhanced Packet Blocks.
// Record encoders are inline: the worker calls them for every packet, straight into its block.
// File headers are built by the writer at each file open (pcap_format.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/packet_view.h"

namespace xcap::sink {

inline constexpr uint32_t kPcapMagicNano = 0xa1b23c4d;
inline constexpr size_t kPcapRecordHeaderBytes = 16;
inline constexpr uint32_t kPcapngShbType = 0x0A0D0D0A;
inline constexpr uint32_t kPcapngIdbType = 0x00000001;
inline constexpr uint32_t kPcapngEpbType = 0x00000006;
inline constexpr uint32_t kPcapngByteOrderMagic = 0x1A2B3C4D;
inline constexpr size_t kPcapngEpbOverheadBytes = 32;  // 28-byte head + 4-byte trailing length
// An EPB with a direction carries epb_flags (code 2, length 4, value) and opt_endofopt: 12 bytes.
inline constexpr size_t kPcapngEpbFlagsBytes = 12;
inline constexpr uint16_t kPcapngOptEpbFlags = 2;

constexpr size_t pad4(size_t n) {
  return (n + 3) & ~size_t{3};
}

// The lengths a record carries: the captured bytes cut to snaplen, and the original length,
// never below the captured length (a reader rejects or flags caplen > len).
struct RecordLengths {
  uint32_t caplen;
  uint32_t origlen;
};
inline RecordLengths record_lengths(const PacketView& p, uint32_t snaplen) {
  const uint32_t cap = p.caplen < snaplen ? p.caplen : snaplen;
  return {cap, p.wire_len > cap ? p.wire_len : cap};
}

constexpr size_t pcap_record_bytes(uint32_t caplen) {
  return kPcapRecordHeaderBytes + caplen;
}
// direction: PacketView::direction; a record with one carries the epb_flags option.
constexpr size_t pcapng_record_bytes(uint32_t caplen, uint8_t direction = 0) {
  return kPcapngEpbOverheadBytes + pad4(caplen) + (direction ? kPcapngEpbFlagsBytes : 0);
}

// Writes one pcap record at dst (pcap_record_bytes(len.caplen) bytes available); returns its
// size. The 32-bit seconds field holds dates up to 2106.
inline size_t encode_pcap_record(uint8_t* dst, const PacketView& p, RecordLengths len) {
  const uint32_t hdr[4] = {static_cast<uint32_t>(p.ts_ns / 1'000'000'000u),
                           static_cast<uint32_t>(p.ts_ns % 1'000'000'000u), len.caplen,
                           len.origlen};
  std::memcpy(dst, hdr, sizeof hdr);
  if (len.caplen) std::memcpy(dst + sizeof hdr, p.data, len.caplen);  // data may be null at 0
  return sizeof hdr + len.caplen;
}

// Writes one Enhanced Packet Block at dst (pcapng_record_bytes(len.caplen, p.direction) bytes
// available); returns its size. The timestamp is in the IDB's if_tsresol units: nanoseconds.
// A packet with a direction gets epb_flags with it in bits 0-1 (Wireshark shows it).
inline size_t encode_pcapng_record(uint8_t* dst, const PacketView& p, RecordLengths len) {
  const size_t padded = pad4(len.caplen);
  const uint32_t total = static_cast<uint32_t>(pcapng_record_bytes(len.caplen, p.direction));
  const uint32_t hdr[7] = {kPcapngEpbType,
                           total,
                           p.iface_id,
                           static_cast<uint32_t>(p.ts_ns >> 32),
                           static_cast<uint32_t>(p.ts_ns),
                           len.caplen,
                           len.origlen};
  std::memcpy(dst, hdr, sizeof hdr);
  uint8_t* body = dst + sizeof hdr;
  if (len.caplen) std::memcpy(body, p.data, len.caplen);
  std::memset(body + len.caplen, 0, padded - len.caplen);  // pad bytes must not leak old data
  uint8_t* tail = body + padded;
  if (p.direction) {
    const uint16_t opt[2] = {kPcapngOptEpbFlags, 4};
    const uint32_t flags = p.direction & 3u;
    const uint32_t end = 0;  // opt_endofopt
    std::memcpy(tail, opt, sizeof opt);
    std::memcpy(tail + 4, &flags, sizeof flags);
    std::memcpy(tail + 8, &end, sizeof end);
    tail += kPcapngEpbFlagsBytes;
  }
  std::memcpy(tail, &total, sizeof total);
  return total;
}

// 24-byte pcap global header (nanosecond magic, version 2.4).
std::vector<uint8_t> pcap_file_header(uint32_t snaplen, uint32_t link_type);

// Section Header Block (shb_userappl "xcap", section length unknown: we stream).
std::vector<uint8_t> pcapng_section_header();
// Appends one Interface Description Block: if_name (when not empty), if_tsresol = 9. Its id
// is its position among the section's IDBs; an IDB may come anywhere before its first use.
void append_pcapng_interface(std::vector<uint8_t>& out, const std::string& if_name,
                             uint32_t snaplen, uint32_t link_type);
// Interface Statistics Block counters (pcapng isb_* options); absent ones are not written.
struct InterfaceStatistics {
  std::optional<uint64_t> ifrecv, ifdrop, filteraccept, osdrop, usrdeliv;
};
// Appends one Interface Statistics Block for interface iface_id at ts_ns, with the counters
// given and, when not empty, an opt_comment (Wireshark and tshark show it with the block).
void append_pcapng_statistics(std::vector<uint8_t>& out, uint32_t iface_id, uint64_t ts_ns,
                              const InterfaceStatistics& stats, const std::string& comment);
// Section Header Block followed by one Interface Description Block.
std::vector<uint8_t> pcapng_file_header(const std::string& if_name, uint32_t snaplen,
                                        uint32_t link_type);

}  // namespace xcap::sink
