#include "sink/file/pcap_format.h"

#include <algorithm>
#include <utility>

namespace xcap::sink {
namespace {

void put32(std::vector<uint8_t>& b, uint32_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + 4);
}
void put16(std::vector<uint8_t>& b, uint16_t v) {
  const auto* p = reinterpret_cast<const uint8_t*>(&v);
  b.insert(b.end(), p, p + 2);
}

// One pcapng option: code, length, value padded to 32 bits.
void put_option(std::vector<uint8_t>& b, uint16_t code, const void* value, uint16_t len) {
  put16(b, code);
  put16(b, len);
  const auto* p = static_cast<const uint8_t*>(value);
  b.insert(b.end(), p, p + len);
  b.resize(pad4(b.size()), 0);
}

// Wraps a block body: type, total length, body, total length again.
void put_block(std::vector<uint8_t>& out, uint32_t type, const std::vector<uint8_t>& body) {
  const uint32_t total = static_cast<uint32_t>(12 + body.size());
  put32(out, type);
  put32(out, total);
  out.insert(out.end(), body.begin(), body.end());
  put32(out, total);
}

constexpr uint16_t kOptEndOfOpt = 0;
constexpr uint16_t kOptShbUserAppl = 4;
constexpr uint16_t kOptIfName = 2;
constexpr uint16_t kOptIfTsresol = 9;
constexpr uint16_t kOptComment = 1;
constexpr uint32_t kPcapngIsbType = 0x00000005;
constexpr uint16_t kIsbIfRecv = 4, kIsbIfDrop = 5, kIsbFilterAccept = 6, kIsbOsDrop = 7,
                   kIsbUsrDeliv = 8;

}  // namespace

std::vector<uint8_t> pcap_file_header(uint32_t snaplen, uint32_t link_type) {
  std::vector<uint8_t> b;
  put32(b, kPcapMagicNano);
  put16(b, 2);  // version major
  put16(b, 4);  // version minor
  put32(b, 0);  // thiszone
  put32(b, 0);  // sigfigs
  put32(b, snaplen);
  put32(b, link_type);
  return b;
}

std::vector<uint8_t> pcapng_section_header() {
  std::vector<uint8_t> out;
  std::vector<uint8_t> shb;
  put32(shb, kPcapngByteOrderMagic);
  put16(shb, 1);           // major
  put16(shb, 0);           // minor
  put32(shb, 0xffffffff);  // section length: unknown (-1), we stream
  put32(shb, 0xffffffff);
  static constexpr char kAppl[] = "xcap";
  put_option(shb, kOptShbUserAppl, kAppl, sizeof kAppl - 1);
  put_option(shb, kOptEndOfOpt, nullptr, 0);
  put_block(out, kPcapngShbType, shb);
  return out;
}

void append_pcapng_interface(std::vector<uint8_t>& out, const std::string& if_name,
                             uint32_t snaplen, uint32_t link_type) {
  std::vector<uint8_t> idb;
  put16(idb, static_cast<uint16_t>(link_type));
  put16(idb, 0);  // reserved
  put32(idb, snaplen);
  if (!if_name.empty()) {
    // The option length field is 16 bits; an interface name is never near that.
    put_option(idb, kOptIfName, if_name.data(), static_cast<uint16_t>(if_name.size()));
  }
  const uint8_t tsresol = 9;  // 10^-9 s: EPB timestamps are nanoseconds
  put_option(idb, kOptIfTsresol, &tsresol, 1);
  put_option(idb, kOptEndOfOpt, nullptr, 0);
  put_block(out, kPcapngIdbType, idb);
}

void append_pcapng_statistics(std::vector<uint8_t>& out, uint32_t iface_id, uint64_t ts_ns,
                              const InterfaceStatistics& stats, const std::string& comment) {
  std::vector<uint8_t> isb;
  put32(isb, iface_id);
  put32(isb, static_cast<uint32_t>(ts_ns >> 32));  // if_tsresol 9: nanoseconds
  put32(isb, static_cast<uint32_t>(ts_ns));
  if (!comment.empty()) {
    const uint16_t len = static_cast<uint16_t>(std::min<size_t>(comment.size(), 0xfff0));
    put_option(isb, kOptComment, comment.data(), len);
  }
  const std::pair<uint16_t, const std::optional<uint64_t>*> counters[] = {
      {kIsbIfRecv, &stats.ifrecv},
      {kIsbIfDrop, &stats.ifdrop},
      {kIsbFilterAccept, &stats.filteraccept},
      {kIsbOsDrop, &stats.osdrop},
      {kIsbUsrDeliv, &stats.usrdeliv}};
  for (const auto& [code, value] : counters)
    if (value->has_value()) {
      const uint64_t v = **value;
      put_option(isb, code, &v, sizeof v);
    }
  put_option(isb, kOptEndOfOpt, nullptr, 0);
  put_block(out, kPcapngIsbType, isb);
}

std::vector<uint8_t> pcapng_file_header(const std::string& if_name, uint32_t snaplen,
                                        uint32_t link_type) {
  std::vector<uint8_t> out = pcapng_section_header();
  append_pcapng_interface(out, if_name, snaplen, link_type);
  return out;
}

}  // namespace xcap::sink
