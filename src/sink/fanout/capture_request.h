// CaptureRequest: what a client asks of GET /capture, parsed from the query string and checked
// before anything reaches the capture. Every parameter is optional:
//   filter=EXPR   a tcpdump expression (libpcap), at most 8 KiB; absent or empty: every packet
//   snaplen=N     bytes kept of each packet, 1..max (0: the largest, as tcpdump -s 0)
//   count=N       end the stream after N packets (0: no limit)
//   duration=S    end the stream after S seconds (decimals allowed, e.g. 0.5)
//   format=F      pcapng (default) or pcap
// The query is application/x-www-form-urlencoded: %XX escapes, '+' is a space. An unknown or
// repeated parameter, a bad escape or a bad value is an InvalidInput error whose one-line
// message names the parameter; it becomes the client's 400 reason as it stands.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "filter/filter_set.h"

namespace xcap::sink::fanout {

struct CaptureRequest {
  std::string filter;                        // as the client gave it; empty: every packet
  std::shared_ptr<const FilterSet> program;  // filter, compiled; null when filter is empty
  uint32_t snaplen = 0;
  uint64_t count = 0;
  std::chrono::milliseconds duration{0};  // 0: until the client or the server ends it
  bool pcapng = true;
};

// query: what follows '?' in the request target (without it). max_snaplen: the server's
// largest snaplen, what snaplen=0 and no snaplen mean.
Result<CaptureRequest> parse_capture_request(std::string_view query, uint32_t max_snaplen);

}  // namespace xcap::sink::fanout
