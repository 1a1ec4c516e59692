#include "common/pcapng_records.h"

#include <cstring>
#include <fstream>
#include <iterator>

namespace xcap::test {
namespace {

uint32_t u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint16_t u16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}

// Calls f(code, value, length) for each option in [p, end).
template <typename F>
void options(const uint8_t* p, const uint8_t* end, F f) {
  while (p + 4 <= end) {
    const uint16_t code = u16(p), len = u16(p + 2);
    if (code == 0 || p + 4 + len > end) return;
    f(code, p + 4, len);
    p += 4 + ((len + 3u) & ~3u);
  }
}

}  // namespace

PcapngFile read_pcapng(const std::string& path) {
  PcapngFile out;
  std::ifstream in(path, std::ios::binary);
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t at = 0;
  while (at + 12 <= b.size()) {
    const uint8_t* blk = b.data() + at;
    const uint32_t type = u32(blk), total = u32(blk + 4);
    if (total < 12 || at + total > b.size() || total % 4) {
      out.error = "bad block length at " + std::to_string(at);
      return out;
    }
    const uint8_t* end = blk + total - 4;
    if (type == 1) {  // IDB
      std::string name;
      options(blk + 16, end, [&](uint16_t code, const uint8_t* v, uint16_t len) {
        if (code == 2) name.assign(reinterpret_cast<const char*>(v), len);
      });
      out.interfaces.push_back(name);
    } else if (type == 6) {  // EPB
      PcapngPacket p;
      p.iface = u32(blk + 8);
      p.ts = uint64_t(u32(blk + 12)) << 32 | u32(blk + 16);
      p.caplen = u32(blk + 20);
      p.len = u32(blk + 24);
      const uint8_t* data = blk + 28;
      if (data + p.caplen > end) {
        out.error = "EPB data past its block at " + std::to_string(at);
        return out;
      }
      p.data.assign(data, data + p.caplen);
      options(data + ((p.caplen + 3u) & ~3u), end,
              [&](uint16_t code, const uint8_t* v, uint16_t len) {
                if (code == 2 && len == 4) p.flags = u32(v), p.has_flags = true;
              });
      out.packets.push_back(std::move(p));
    }
    at += total;
  }
  return out;
}

}  // namespace xcap::test
