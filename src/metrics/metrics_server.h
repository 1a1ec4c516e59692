// MetricsServer: the ADDR:PORT endpoint of --metrics, an HTTP/1.1 server (Boost.Beast on one
// Asio thread) that answers GET /metrics in Prometheus' text format. Each scrape calls the
// collect function, which reads worker and kernel counters right then (nothing is pushed from
// the packet path). Beast rather than prometheus-cpp's Exposer: Debian 12 builds the Exposer's
// civetweb without IPv6, and it reports a busy port as "null context".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "common/result.h"
#include "metrics/family_builder.h"

namespace xcap::metrics {

using CollectFn = std::function<void(FamilyBuilder&)>;
// GET /healthz: 200 with reason when ok, else 503 with it (pipeline/health.h says when).
struct HealthAnswer {
  bool ok = true;
  std::string reason = "ok";
};
using HealthFn = std::function<HealthAnswer()>;

class MetricsServer {
 public:
  // Binds and listens now, so a busy or bad address is an error before the capture starts.
  // addr is what parse_listen_address returns. Errors start with the address; a port in use is
  // of kind Busy.
  // health: what /healthz answers; without one it answers 200 "ok" while the server runs.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& addr, CollectFn collect,
                                                      HealthFn health = {});
  ~MetricsServer();  // closes every connection and joins the server thread
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  uint16_t port() const;  // the bound port (":0" picks one)

 private:
  struct Impl;
  explicit MetricsServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (every IPv4 address), checked and normalised; IPv6
// comes back bracketed. The error (InvalidInput) starts with s, quoted.
Result<std::string> parse_listen_address(const std::string& s);

}  // namespace xcap::metrics
