// PacketView: one captured frame as it travels from a Source to the sinks. It points into
// memory the Source owns (a UMEM frame, a replay buffer) and is valid until the Source
// releases the batch: nothing on the hot path copies the bytes before the sink does.
#pragma once

#include <cstdint>

#include "decap/link_type.h"

namespace xcap {

struct PacketView {
  const uint8_t* data = nullptr;
  uint32_t caplen = 0;    // bytes available at data
  uint32_t wire_len = 0;  // length of the frame on the wire (>= caplen)
  uint64_t ts_ns = 0;     // UTC, nanoseconds since the Unix epoch
  // The XDP filter selected it (XCAP_META_F_FILTERED). The worker's filter would select it
  // too (tests/bpf/xdp_filter_test.cpp checks that), so the worker does not run it again.
  bool xdp_selected = false;
  uint16_t link_type = linktype_value(LinkType::Ethernet);  // LinkType: what data starts with
  uint32_t iface_id = 0;  // pcapng interface the record belongs to
  // Local mode: 1 inbound, 2 outbound (pcapng epb_flags bits 0-1, enum xcap_direction); 0
  // unknown, and then no epb_flags option is written.
  uint8_t direction = 0;
};

}  // namespace xcap
