// Fanout: the streaming sink. Each worker has a FanoutProducer (a WorkerSink) that copies its
// batches into hand-off blocks, only while at least one client is subscribed; one fanout
// thread takes the blocks and offers every record to every Subscription, which filters and
// encodes it for its client off the workers. The worker never waits: with no free block it
// drops the records and counts them (handoff_drops); a slow client loses only its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "sink/fanout/stream_host.h"
#include "sink/fanout/subscription.h"
#include "sink/file/record_block.h"
#include "sink/file/spsc_ring.h"
#include "sink/interface_table.h"
#include "sink/worker_sink.h"

namespace xcap::sink::fanout {

struct FanoutConfig {
  unsigned workers = 1;
  size_t block_bytes = size_t(1) << 20;  // a hand-off block; holds at least one full record
  unsigned blocks_per_worker = 16;
  uint64_t flush_ns = 10'000'000;  // a partial block is handed on after this: stream latency
  std::shared_ptr<const InterfaceTable> interfaces;  // null without decapsulation
  std::string iface0;                                // interface 0's name (the capture's)
};

class Fanout;

class alignas(64) FanoutProducer final : public WorkerSink {
 public:
  void append(std::span<const PacketView> batch) override;
  void flush_if_idle(uint64_t now_ns) override;
  void seal() override;
  uint64_t handoff_drops() const { return drops_.load(std::memory_order_relaxed); }

 private:
  friend class Fanout;
  FanoutProducer(const Fanout& fanout, unsigned blocks);
  void drop() {
    drops_.store(drops_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  bool next_block();
  const Fanout& fanout_;
  BlockArena arena_;
  std::vector<RecordBlock> blocks_;
  SpscRing<RecordBlock*> full_, free_;  // to the fanout thread, and back
  RecordBlock* cur_ = nullptr;
  uint64_t cur_since_ns_ = 0;  // flush_if_idle's clock when cur_ was first seen non-empty
  std::atomic<uint64_t> drops_{0};
};

class Fanout final : public StreamHost {
 public:
  static Result<std::unique_ptr<Fanout>> open(const FanoutConfig& cfg);
  ~Fanout();  // stops
  FanoutProducer& producer(unsigned worker) { return *producers_[worker]; }

  // StreamHost. The fanout thread writes an unsubscribed stream's last block.
  Result<std::shared_ptr<Subscription>> subscribe(SubscriptionConfig cfg) override;
  void unsubscribe(const std::shared_ptr<Subscription>& s, const std::string& why) override;
  std::vector<std::shared_ptr<Subscription>> subscriptions() const override;

  void start();
  // Hands on what the producers sealed, ends every stream with why, joins. Idempotent.
  void stop(const std::string& why);

  // Read by the producers once per batch.
  bool active() const { return active_.load(std::memory_order_acquire); }
  uint32_t snaplen() const { return snaplen_.load(std::memory_order_acquire); }
  uint64_t flush_ns() const { return cfg_.flush_ns; }
  size_t block_bytes() const { return cfg_.block_bytes; }
  uint64_t handoff_drops() const;

 private:
  explicit Fanout(const FanoutConfig& cfg);
  void run();
  size_t deliver(const std::vector<std::shared_ptr<Subscription>>& subs, uint64_t now_ns);
  void publish_locked();  // active_, snaplen_ and the fanout thread's copy of subs_

  const FanoutConfig cfg_;
  std::vector<std::unique_ptr<FanoutProducer>> producers_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Subscription>> subs_;
  // Unsubscribed, to be finished by the fanout thread (it alone writes a subscription).
  std::vector<std::pair<std::shared_ptr<Subscription>, std::string>> closing_;
  uint64_t subs_version_ = 0;  // bumped under mu_ at every change
  std::atomic<bool> active_{false};
  std::atomic<uint32_t> snaplen_{0};
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace xcap::sink::fanout
