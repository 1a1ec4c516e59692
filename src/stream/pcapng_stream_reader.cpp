#include "stream/pcapng_stream_reader.h"

#include <cstring>
#include <functional>

namespace xcap::stream {
namespace {

constexpr uint32_t kShbType = sink::kPcapngShbType;
constexpr uint32_t kIdbType = sink::kPcapngIdbType;
constexpr uint32_t kEpbType = sink::kPcapngEpbType;
constexpr uint32_t kIsbType = 5;
constexpr uint32_t kMagicSwapped = 0x4D3C2B1A;
constexpr uint16_t kOptComment = 1;
constexpr uint16_t kOptIfName = 2, kOptIfTsresol = 9;

std::string hex(uint32_t v) {
  char b[16];
  snprintf(b, sizeof b, "0x%08x", v);
  return b;
}

}  // namespace

void PcapngStreamReader::feed(const uint8_t* data, size_t n) {
  if (error_ || n == 0) return;
  if (pos_ > 0 && pos_ >= buf_.size() / 2) {  // drop what was returned: memmove once per half
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    pos_ = 0;
  }
  buf_.insert(buf_.end(), data, data + n);
}

Error PcapngStreamReader::fail(std::string why) {
  error_ = invalid_input("malformed pcapng at byte " + std::to_string(offset_) + ": " + why);
  return *error_;
}

uint16_t PcapngStreamReader::u16(const uint8_t* p) const {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return swapped_ ? __builtin_bswap16(v) : v;
}
uint32_t PcapngStreamReader::u32(const uint8_t* p) const {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return swapped_ ? __builtin_bswap32(v) : v;
}
uint64_t PcapngStreamReader::u64(const uint8_t* p) const {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return swapped_ ? __builtin_bswap64(v) : v;
}

uint64_t PcapngStreamReader::to_ns(const Interface& i, uint64_t ts) const {
  const unsigned n = i.tsresol & 0x7f;
  if (i.tsresol & 0x80) {  // 2^-n seconds
    const unsigned __int128 ns = static_cast<unsigned __int128>(ts) * 1'000'000'000u;
    return static_cast<uint64_t>(n >= 64 ? 0 : ns >> n);
  }
  uint64_t scale = 1;
  for (unsigned k = 0; k < (n > 9 ? n - 9 : 9 - n) && k < 20; k++) scale *= 10;
  return n > 9 ? ts / scale : ts * scale;
}

// Walks a block's options: code, length, value padded to 4 bytes, until opt_endofopt or the
// end. false when an option runs past the end.
static bool walk_options(const uint8_t* p, const uint8_t* end,
                         const std::function<uint16_t(const uint8_t*)>& rd16,
                         const std::function<void(uint16_t, const uint8_t*, uint16_t)>& each) {
  while (end - p >= 4) {
    const uint16_t code = rd16(p), len = rd16(p + 2);
    if (code == 0) return true;
    p += 4;
    if (static_cast<size_t>(end - p) < sink::pad4(len)) return false;
    each(code, p, len);
    p += sink::pad4(len);
  }
  return p == end;
}

std::optional<Result<StreamBlock>> PcapngStreamReader::next() {
  if (error_) return Result<StreamBlock>(*error_);
  const size_t avail = buf_.size() - pos_;
  if (avail < 12) return std::nullopt;
  const uint8_t* b = buf_.data() + pos_;
  uint32_t type;
  std::memcpy(&type, b, 4);  // the SHB type reads the same in both orders
  if (type == kShbType) {
    uint32_t magic;
    std::memcpy(&magic, b + 8, 4);
    if (magic == sink::kPcapngByteOrderMagic)
      swapped_ = false;
    else if (magic == kMagicSwapped)
      swapped_ = true;
    else
      return Result<StreamBlock>(fail("section header with a bad byte-order magic " + hex(magic)));
  } else if (!started_) {
    return Result<StreamBlock>(fail("not a pcapng stream: it starts with block type " + hex(type) +
                                    ", not a Section Header Block"));
  }
  type = u32(b);
  const uint32_t len = u32(b + 4);
  if (len < 12 || len % 4 != 0 || len > kMaxBlockBytes)
    return Result<StreamBlock>(
        fail("block type " + hex(type) + " with a bad length " + std::to_string(len)));
  if (avail < len) return std::nullopt;
  if (u32(b + len - 4) != len)
    return Result<StreamBlock>(fail("block type " + hex(type) + ": trailing length " +
                                    std::to_string(u32(b + len - 4)) + " differs from " +
                                    std::to_string(len)));
  Result<StreamBlock> out = StreamBlock(OtherBlock{type});
  switch (type) {
    case kShbType:
      out = parse_section(b, len);
      break;
    case kIdbType:
      out = parse_interface(b, len);
      break;
    case kEpbType:
      out = parse_packet(b, len);
      break;
    case kIsbType:
      out = parse_statistics(b, len);
      break;
    default:
      break;
  }
  if (!out) return out;
  pos_ += len;
  offset_ += len;
  return out;
}

Result<StreamBlock> PcapngStreamReader::parse_section(const uint8_t* b, uint32_t len) {
  if (len < 28) return fail("section header of " + std::to_string(len) + " bytes (minimum 28)");
  if (u16(b + 12) != 1)
    return fail("section header version " + std::to_string(u16(b + 12)) + " (expected 1)");
  started_ = true;
  interfaces_.clear();
  return StreamBlock(SectionBlock{});
}

Result<StreamBlock> PcapngStreamReader::parse_interface(const uint8_t* b, uint32_t len) {
  if (len < 20) return fail("interface description of " + std::to_string(len) + " bytes");
  InterfaceBlock idb;
  idb.id = static_cast<uint32_t>(interfaces_.size());
  idb.link_type = u16(b + 8);
  idb.snaplen = u32(b + 12);
  Interface iface{idb.link_type};
  const bool ok = walk_options(
      b + 16, b + len - 4, [this](const uint8_t* p) { return u16(p); },
      [&](uint16_t code, const uint8_t* v, uint16_t n) {
        if (code == kOptIfName) idb.name.assign(reinterpret_cast<const char*>(v), n);
        if (code == kOptIfTsresol && n >= 1) iface.tsresol = v[0];
      });
  if (!ok) return fail("interface description " + std::to_string(idb.id) + ": bad options");
  if (interfaces_.size() >= 65536) return fail("more than 65536 interfaces");
  interfaces_.push_back(iface);
  return StreamBlock(std::move(idb));
}

Result<StreamBlock> PcapngStreamReader::parse_packet(const uint8_t* b, uint32_t len) {
  if (len < sink::kPcapngEpbOverheadBytes)
    return fail("enhanced packet block of " + std::to_string(len) + " bytes");
  PacketBlock p;
  p.iface = u32(b + 8);
  if (p.iface >= interfaces_.size())
    return fail("packet on interface " + std::to_string(p.iface) + ", which was not described");
  const uint64_t ts = (uint64_t{u32(b + 12)} << 32) | u32(b + 16);
  p.caplen = u32(b + 20);
  p.origlen = u32(b + 24);
  if (sink::pad4(p.caplen) > len - sink::kPcapngEpbOverheadBytes)
    return fail("packet of " + std::to_string(p.caplen) + " captured bytes in a block of " +
                std::to_string(len));
  p.ts_ns = to_ns(interfaces_[p.iface], ts);
  p.data = b + 28;
  const uint8_t* options = p.data + sink::pad4(p.caplen);
  if (options < b + len - 4) {  // epb_flags: the direction (xcap --mode local writes it)
    const bool ok = walk_options(
        options, b + len - 4, [this](const uint8_t* q) { return u16(q); },
        [&](uint16_t code, const uint8_t* v, uint16_t n) {
          if (code == sink::kPcapngOptEpbFlags && n == 4) p.direction = uint8_t(u32(v) & 3);
        });
    if (!ok) return fail("enhanced packet block: bad options");
  }
  return StreamBlock(p);
}

Result<StreamBlock> PcapngStreamReader::parse_statistics(const uint8_t* b, uint32_t len) {
  if (len < 24) return fail("interface statistics block of " + std::to_string(len) + " bytes");
  StatisticsBlock s;
  s.iface = u32(b + 8);
  if (s.iface >= interfaces_.size())
    return fail("statistics for interface " + std::to_string(s.iface) +
                ", which was not described");
  s.ts_ns = to_ns(interfaces_[s.iface], (uint64_t{u32(b + 12)} << 32) | u32(b + 16));
  const bool ok = walk_options(
      b + 20, b + len - 4, [this](const uint8_t* p) { return u16(p); },
      [&](uint16_t code, const uint8_t* v, uint16_t n) {
        if (code == kOptComment) s.comment.assign(reinterpret_cast<const char*>(v), n);
        if (n != 8) return;
        const uint64_t x = u64(v);
        switch (code) {
          case 4:
            s.counters.ifrecv = x;
            break;
          case 5:
            s.counters.ifdrop = x;
            break;
          case 6:
            s.counters.filteraccept = x;
            break;
          case 7:
            s.counters.osdrop = x;
            break;
          case 8:
            s.counters.usrdeliv = x;
            break;
          default:
            break;
        }
      });
  if (!ok) return fail("interface statistics block: bad options");
  return StreamBlock(std::move(s));
}

}  // namespace xcap::stream
