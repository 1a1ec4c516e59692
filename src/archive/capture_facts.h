// What a completed capture file holds, read back from the file itself (libpcap): its packet
// count and the times of its first and last packet. Object names and metadata come from it,
// so they are the same however often the file is uploaded.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"

namespace xcap::archive {

struct CaptureFacts {
  uint64_t packets = 0;
  uint64_t first_ns = 0, last_ns = 0;  // UTC nanoseconds; both 0 when there is no packet
};

// Reads every record of path (pcap or pcapng). An unreadable file is an error.
Result<CaptureFacts> read_capture_facts(const std::string& path);

}  // namespace xcap::archive
