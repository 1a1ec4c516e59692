// StreamServer: the HTTP(S) endpoint of remote capture (--listen). It serves
//   GET /capture?filter=&snaplen=&count=&duration=&format=   a chunked pcapng or pcap stream
//   GET /captures                                            the active streams, JSON
//   GET /healthz                                             "ok", or 503 with a reason
// and talks to the capture only through a StreamHost (subscribe, unsubscribe). README "Remote
// capture" is the protocol's contract.
//
// One Asio thread serves every connection asynchronously; a connection holds a bounded amount
// of memory (its request head, at most kMaxRequestHead bytes, and while streaming the bytes in
// flight to the client). A stream is pumped by write completions and a short timer: the
// server never waits on the fanout thread, and the fanout never waits on a client (a client
// that reads too slowly loses its own packets: Subscription). The filter is compiled and
// StreamHost::subscribe called on the server's thread: a host whose subscribe is slow (it
// attaches XDP) delays the other connections by that much.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/defaults.h"
#include "common/result.h"
#include "sink/fanout/stream_host.h"

namespace xcap::sink::fanout {

// A check the capture may add to GET /healthz: nullopt when healthy, else the reason (503).
using HealthCheck = std::function<std::optional<std::string>()>;

struct StreamServerConfig {
  // "ADDR:PORT" as metrics::parse_listen_address takes it; port 0 picks one (port() says it).
  std::string listen = "127.0.0.1:0";
  // Required in "Authorization: Bearer TOKEN" on every path but /healthz. Empty: no token, and
  // then only a loopback address (127.0.0.0/8, ::1) may be listened on.
  std::string token;
  // PEM files. cert and key: HTTPS only (TLS 1.2+). client_ca: clients must present a
  // certificate it signed (mTLS).
  std::string tls_cert, tls_key, tls_client_ca;
  unsigned max_streams = 8;                       // active streams; one more is 503
  unsigned max_streams_per_client = 2;            // per client IP address; one more is 429
  unsigned max_connections = 4096;                // open connections; more are closed when accepted
  size_t stream_buffer_bytes = size_t(64) << 20;  // each stream's Subscription buffer
  uint32_t max_snaplen = defaults::kSnaplen;      // the largest snaplen= (and the default)
  // A new connection's first request (TLS handshake included) must arrive whole within this:
  // a client that sends a byte a second (slowloris) is closed after it.
  std::chrono::milliseconds request_timeout{5000};
  // A kept-alive connection's next request must arrive whole within this.
  std::chrono::milliseconds idle_timeout{15000};
  // A streaming connection is closed when a write makes no progress for this long (the
  // client has stopped reading, or is gone, and the kernel's buffers are full). Until then a
  // client that reads slowly just loses its own packets and is told so in its stream.
  std::chrono::milliseconds write_stall_timeout{60000};
  // stop() waits this long for the streams' clients to take their last block.
  std::chrono::milliseconds stop_timeout{2000};
  HealthCheck health;  // null: always healthy
};

// One stream, as GET /captures lists it.
struct StreamInfo {
  std::string client;  // "ADDR:PORT" ("[V6ADDR]:PORT")
  std::string filter;  // as given; empty: every packet
  std::string format;  // "pcapng" or "pcap"
  uint32_t snaplen = 0;
  uint64_t count = 0;  // 0: no limit
  std::chrono::system_clock::time_point start;
  SubscriptionStats stats;  // delivered: packets put in the stream; dropped: lost to this client
};

struct ListenEndpoint {
  std::string address;  // as bound: "127.0.0.1", "::1"
  uint16_t port = 0;
};

class StreamServer {
 public:
  // Binds and listens now, so a bad address, a busy port or a bad TLS file is an error before
  // the capture starts. Errors start with the address; a port in use is of kind Busy; a
  // non-loopback address without a token, or an unusable TLS file, is InvalidInput. host must
  // outlive the server.
  static Result<std::unique_ptr<StreamServer>> start(const StreamServerConfig& cfg,
                                                     StreamHost& host);
  ~StreamServer();  // stop("end: server stopping")
  StreamServer(const StreamServer&) = delete;
  StreamServer& operator=(const StreamServer&) = delete;

  uint16_t port() const;
  // What the server listens on: the capture leaves its own connections out.
  std::vector<ListenEndpoint> endpoints() const;
  // Stops accepting, ends every stream with why (its client gets the last statistics block
  // with why as its comment), waits up to stop_timeout for the clients to take it, then closes
  // every connection. Idempotent; any thread but the server's.
  void stop(const std::string& why);

  // Packets lost to each client (by IP address, without port: a bounded label set) over its
  // active and ended streams, for xcap_stream_dropped_packets_total{client=...}. Any thread.
  std::map<std::string, uint64_t> dropped_by_client() const;
  // The active streams, oldest first. Any thread.
  std::vector<StreamInfo> streams() const;

 private:
  struct Impl;
  explicit StreamServer(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

// The request head (request line and headers) a client may send, at most.
inline constexpr size_t kMaxRequestHead = 32 * 1024;

}  // namespace xcap::sink::fanout
