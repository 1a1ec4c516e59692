// PcapngStreamReader: turns a pcapng byte stream that arrives in pieces of any size (an HTTP
// chunked body) into blocks, one at a time. It keeps only the bytes of the block it has not
// seen whole yet. Input that is not pcapng (a bad length, an unknown interface, a missing
// Section Header) is an error, reported once, after which the reader accepts nothing more: a
// broken stream is never guessed at.
//
//   reader.feed(bytes, n);
//   while (auto b = reader.next()) { if (!*b) break; handle(**b); }   // then check error()
//
// Both byte orders are read (the Section Header says which); timestamps come out in
// nanoseconds whatever the interface's if_tsresol.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"
#include "sink/file/pcap_format.h"

namespace xcap::stream {

// A new section: every interface before it is forgotten.
struct SectionBlock {};

struct InterfaceBlock {
  uint32_t id = 0;  // its position in the section
  uint16_t link_type = 0;
  uint32_t snaplen = 0;
  std::string name;  // if_name; empty when absent
};

// An Enhanced (or Simple) Packet Block. data points into the reader's buffer and is valid
// until the next call to feed() or next().
struct PacketBlock {
  uint32_t iface = 0;
  uint64_t ts_ns = 0;
  uint32_t caplen = 0;
  uint32_t origlen = 0;
  const uint8_t* data = nullptr;
  uint8_t direction = 0;  // epb_flags bits 0-1 (1 inbound, 2 outbound); 0 without them
};

struct StatisticsBlock {
  uint32_t iface = 0;
  uint64_t ts_ns = 0;
  sink::InterfaceStatistics counters;
  std::string comment;  // opt_comment; empty when absent
};

// Any other block type (name resolution, custom blocks): skipped by the caller.
struct OtherBlock {
  uint32_t type = 0;
};

using StreamBlock =
    std::variant<SectionBlock, InterfaceBlock, PacketBlock, StatisticsBlock, OtherBlock>;

class PcapngStreamReader {
 public:
  // Blocks longer than this are refused as malformed: a stream carries packets of at most
  // 256 KiB (xcap's snaplen) plus options.
  static constexpr uint32_t kMaxBlockBytes = 4u << 20;

  void feed(const uint8_t* data, size_t n);
  // The next whole block; nullopt when more bytes are needed; an Error when the stream is
  // malformed (the same error again on every later call).
  std::optional<Result<StreamBlock>> next();
  // Bytes fed but not yet returned as blocks (a partial block at the end of the stream).
  size_t pending() const { return buf_.size() - pos_; }
  // Whether a Section Header Block was seen.
  bool started() const { return started_; }

 private:
  struct Interface {
    uint16_t link_type = 0;
    uint8_t tsresol = 6;  // if_tsresol: 10^-n seconds, or 2^-n with the high bit; default us
  };
  Error fail(std::string why);
  uint32_t u32(const uint8_t* p) const;
  uint16_t u16(const uint8_t* p) const;
  uint64_t u64(const uint8_t* p) const;
  uint64_t to_ns(const Interface& i, uint64_t ts) const;
  Result<StreamBlock> parse_section(const uint8_t* b, uint32_t len);
  Result<StreamBlock> parse_interface(const uint8_t* b, uint32_t len);
  Result<StreamBlock> parse_packet(const uint8_t* b, uint32_t len);
  Result<StreamBlock> parse_statistics(const uint8_t* b, uint32_t len);

  std::vector<uint8_t> buf_;
  size_t pos_ = 0;  // start of the first byte not yet returned
  bool swapped_ = false;
  bool started_ = false;
  std::optional<Error> error_;
  std::vector<Interface> interfaces_;
  uint64_t offset_ = 0;  // stream offset of buf_[pos_], for error messages
};

}  // namespace xcap::stream
