// StreamHost: what the streaming server needs from the capture behind it. The Fanout is one;
// `xcap serve` wraps it to attach the XDP program on the first subscription and to keep the
// kernel filter the union of the subscribers' filters.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "sink/fanout/subscription.h"

namespace xcap::sink::fanout {

class StreamHost {
 public:
  virtual ~StreamHost() = default;
  // Any thread (a connection). The subscription receives records from now on. An error means
  // the capture cannot start for this client (e.g. the XDP program would not attach); its
  // message is the one-line reason the client gets (503).
  virtual Result<std::shared_ptr<Subscription>> subscribe(SubscriptionConfig cfg) = 0;
  // Ends one subscription's stream with why ("end: duration reached", "end: client closed");
  // its last block is written off the caller's thread. Idempotent.
  virtual void unsubscribe(const std::shared_ptr<Subscription>& s, const std::string& why) = 0;
  // The active subscriptions, for GET /captures and the metrics.
  virtual std::vector<std::shared_ptr<Subscription>> subscriptions() const = 0;
};

}  // namespace xcap::sink::fanout
