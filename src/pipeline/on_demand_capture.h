// OnDemandCapture: xcap serve's capture, which runs only while a client is subscribed. It is
// the streaming server's StreamHost: the first subscription starts one Pipeline per interface
// (XDP attached, sockets bound, workers running), the last unsubscription stops them (XDP
// detached first). In between, the XDP filter is the union of the subscribers' filters, so
// frames no client asked for never leave the kernel; each subscription still filters its own.
// The fanout, its producers and its interface table outlive the pipelines.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/result.h"
#include "metrics/capture_snapshot.h"
#include "pipeline/capture_options.h"
#include "pipeline/pipeline.h"
#include "sink/fanout/fanout.h"
#include "sink/fanout/stream_host.h"

namespace xcap::pipeline {

class OnDemandCapture final : public sink::fanout::StreamHost {
 public:
  // per_interface: each interface's options, resolved against the host. Starts the fanout
  // thread; captures nothing yet.
  static Result<std::unique_ptr<OnDemandCapture>> open(std::vector<CaptureOptions> per_interface);
  ~OnDemandCapture() override;  // stop()

  // The streaming server's endpoint: its connections are never captured. Call before the
  // first subscription.
  void exclude_self(const std::string& address, uint16_t port);

  Result<std::shared_ptr<sink::fanout::Subscription>> subscribe(
      sink::fanout::SubscriptionConfig cfg) override;
  void unsubscribe(const std::shared_ptr<sink::fanout::Subscription>& s,
                   const std::string& why) override;
  std::vector<std::shared_ptr<sink::fanout::Subscription>> subscriptions() const override;

  bool capturing() const;
  // Ends every stream with why, stops the capture. Idempotent.
  void stop(const std::string& why);
  // One snapshot per interface now capturing (none while idle); the first carries the
  // streaming counters.
  std::vector<metrics::CaptureSnapshot> snapshots() const;

 private:
  explicit OnDemandCapture(std::vector<CaptureOptions> per_interface);
  Result<void> start_capture_locked();
  void stop_capture_locked();
  void update_filter_locked();

  const std::vector<CaptureOptions> opts_;
  std::shared_ptr<sink::InterfaceTable> interfaces_;
  std::unique_ptr<sink::fanout::Fanout> fanout_;
  std::string self_address_;
  uint16_t self_port_ = 0;
  mutable std::mutex mu_;  // subscribe/unsubscribe/stop, and the pipelines
  std::vector<std::unique_ptr<Pipeline>> live_;
  std::string union_;  // the filter expression installed at XDP ("" none)
  bool stopped_ = false;
};

}  // namespace xcap::pipeline
