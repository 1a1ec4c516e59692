// RawRecord: how a packet travels from a worker to the fanout thread. The worker copies the
// frame's bytes (a PacketView points into memory the source reuses) behind this header into
// a hand-off block; each subscriber then filters and encodes it in its own format. Records
// are 8-byte aligned in the block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/packet_view.h"

namespace xcap::sink::fanout {

struct RawRecordHeader {
  uint64_t ts_ns;
  uint32_t caplen;  // bytes that follow
  uint32_t wire_len;
  uint32_t iface_id;
  uint16_t link_type;
  uint8_t direction;  // PacketView::direction
  uint8_t reserved;   // zero
};
static_assert(sizeof(RawRecordHeader) == 24);

constexpr size_t raw_record_bytes(uint32_t caplen) {
  return (sizeof(RawRecordHeader) + caplen + 7) & ~size_t{7};
}

// Writes p (cut to caplen bytes) at dst, raw_record_bytes(caplen) bytes available.
inline size_t encode_raw_record(uint8_t* dst, const PacketView& p, uint32_t caplen) {
  const RawRecordHeader h{p.ts_ns,    caplen,      p.wire_len > caplen ? p.wire_len : caplen,
                          p.iface_id, p.link_type, p.direction,
                          0};
  std::memcpy(dst, &h, sizeof h);
  if (caplen) std::memcpy(dst + sizeof h, p.data, caplen);
  return raw_record_bytes(caplen);
}

// The view of the record at src; valid while the block is.
inline PacketView decode_raw_record(const uint8_t* src, size_t* bytes) {
  RawRecordHeader h;
  std::memcpy(&h, src, sizeof h);
  PacketView v;
  v.data = src + sizeof h;
  v.caplen = h.caplen;
  v.wire_len = h.wire_len;
  v.ts_ns = h.ts_ns;
  v.link_type = h.link_type;
  v.iface_id = h.iface_id;
  v.direction = h.direction;
  *bytes = raw_record_bytes(h.caplen);
  return v;
}

}  // namespace xcap::sink::fanout
