#include "metrics/metrics_server.h"

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>

#include <charconv>

namespace xcap::metrics {

class ScrapeCollectable : public prometheus::Collectable {
 public:
  explicit ScrapeCollectable(CollectFn fn) : fn_(std::move(fn)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    FamilyBuilder b;
    fn_(b);
    return b.take();
  }

 private:
  CollectFn fn_;
};

Result<std::string> parse_listen_address(const std::string& s, const std::string& flag) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon + 1 >= s.size())
    return make_error(flag + " '" + s + "': expected ADDR:PORT, e.g. 127.0.0.1:9100 or [::1]:9100");
  std::string host = s.substr(0, colon), port = s.substr(colon + 1);
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535)
    return make_error(flag + " '" + s + "': port must be 0-65535");
  if (host.empty()) host = "0.0.0.0";
  if (host.find(':') != std::string::npos && host.front() != '[') host = "[" + host + "]";
  return host + ":" + port;
}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& addr,
                                                            CollectFn collect) {
  std::unique_ptr<MetricsServer> self(new MetricsServer());
  try {
    self->exposer_ = std::make_unique<prometheus::Exposer>(addr, 2);
  } catch (const std::exception& e) {
    return make_error("--metrics " + addr + ": cannot listen (" + e.what() + ")");
  }
  self->collectable_ = std::make_shared<ScrapeCollectable>(std::move(collect));
  self->exposer_->RegisterCollectable(self->collectable_);
  return self;
}

MetricsServer::~MetricsServer() {
  // Stop serving before the collect function's captures go away.
  exposer_.reset();
}

std::vector<int> MetricsServer::ports() const {
  return exposer_->GetListeningPorts();
}

}  // namespace xcap::metrics
