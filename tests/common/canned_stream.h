// Canned pcapng streams for the tests of `xcap stream`: what one streaming xcap would send,
// built with xcap's own pcapng encoders and FrameBuilder frames (198.18.0.0/15 addresses),
// and served by a TestHttpServer handler the way the server does it: a chunked body cut in
// odd-sized pieces (blocks split across chunks), statistics blocks as it goes, congestion
// comments, a last statistics block saying why it ended, or, live, an end when the client
// half-closes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/frame_builder.h"
#include "common/test_http_server.h"

namespace xcap::test {

struct CannedPacket {
  uint64_t ts_ns = 0;
  uint32_t iface = 0;  // the server's interface
  Bytes frame;
};

struct CannedTarget {
  std::vector<std::string> interfaces = {"eth0"};  // IDB i is sent just before its first use
  uint16_t link_type = 1;
  std::vector<CannedPacket> packets;
  bool congestion = false;  // a "congested" and a "cleared ... lost 3" block halfway
  // The last statistics block's comment; "" for a live stream that ends only when the client
  // half-closes ("end: client closed").
  std::string end = "end: count reached";
  std::string token;                   // required bearer token; "" none
  size_t piece = 997;                  // bytes per chunk
  std::chrono::milliseconds pause{2};  // between chunks
  // Live streams: called once every packet is sent (before waiting for the half-close).
  std::function<void()> on_all_sent;
};

// n packets for target t (0, 1, 2...): UDP 198.18.0.(t+1):(1000+t) -> 198.18.1.1:2000 with
// "t<t>#<i>" in the payload; ts = base + i * step + t * offset: targets interleave.
std::vector<CannedPacket> canned_packets(int t, int n, uint64_t base_ns, uint64_t step_ns,
                                         uint64_t offset_ns);

// Serves target on ex (a TestHttpServer handler's body).
void serve_canned(TestHttpExchange& ex, const CannedTarget& target);

// A handler that answers the request and then sends nothing until the client goes away.
void serve_stall(TestHttpExchange& ex);

}  // namespace xcap::test
