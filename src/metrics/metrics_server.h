// MetricsServer: the --metrics ADDR:PORT endpoint. prometheus-cpp's Exposer serves /metrics;
// on every scrape it calls the collect function, which reads worker counters and kernel
// counters right then (nothing is pushed from the packet path).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "metrics/family_builder.h"

namespace prometheus {
class Exposer;
}

namespace xcap::metrics {

using CollectFn = std::function<void(FamilyBuilder&)>;

class MetricsServer {
 public:
  // Binds now, so a busy or bad address is an error before the capture starts.
  static Result<std::unique_ptr<MetricsServer>> start(const std::string& addr, CollectFn collect);
  ~MetricsServer();
  // Ports actually bound (":0" picks one; tests use it).
  std::vector<int> ports() const;

 private:
  MetricsServer() = default;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::shared_ptr<class ScrapeCollectable> collectable_;
};

// "ADDR:PORT" as prometheus-cpp/civetweb expects it; IPv6 as "[::1]:9100". Error names the flag.
Result<std::string> parse_listen_address(const std::string& s, const std::string& flag);

}  // namespace xcap::metrics
