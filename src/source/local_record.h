// Decoding one ring buffer record of bpf/xcap_local.bpf.c (struct xcap_local_record, then
// caplen packet bytes) into a PacketView. Pure, for RingbufSource's callback and for the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/packet_view.h"
#include "common/tai_clock.h"
#include "xcap_abi.h"

namespace xcap::source {

inline constexpr size_t kLocalRecordHeader = sizeof(xcap_local_record);

// Reads the header of a record of size bytes; false when it is shorter than its header says
// (never written so by the BPF side, but the kernel hands user space bytes, not promises).
// The view's data points at the packet bytes inside record.
inline bool decode_local_record(const void* record, size_t size, int64_t tai_minus_utc_ns,
                                PacketView& v) {
  if (size < kLocalRecordHeader) return false;
  xcap_local_record h;
  std::memcpy(&h, record, sizeof h);
  if (h.caplen > size - kLocalRecordHeader || h.caplen > h.wire_len) return false;
  v.data = static_cast<const uint8_t*>(record) + kLocalRecordHeader;
  v.caplen = h.caplen;
  v.wire_len = h.wire_len;
  v.ts_ns = tai_to_utc_ns(h.tai_ns, tai_minus_utc_ns);
  v.xdp_selected = (h.flags & XCAP_LOCAL_F_FILTERED) != 0;
  v.direction = h.direction <= uint8_t(XCAP_DIR_OUTBOUND) ? h.direction : uint8_t(0);
  v.iface_id = 0;  // the worker's
  return true;
}

}  // namespace xcap::source
