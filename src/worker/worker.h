// Worker: one thread per source (an rx queue's socket, or a replayed file), pinned to a core.
// It drains its Source in batches, strips tunnels, filters, and hands every frame to each of
// its sinks; the frames go back to the source right after.
//
// Stopping is two-phase so nothing the kernel delivered is lost: the XDP program is detached
// first (no new frames), then drain() lets the worker empty its ring until it stays empty,
// seal its sinks, and exit. A source that is exhausted (end of a replayed file) ends the
// worker the same way by itself: finished() then says so.
#pragma once

#include <atomic>
#include <thread>
#include <vector>

#include "common/defaults.h"
#include "filter/filter_set.h"
#include "sink/worker_sink.h"
#include "source/source.h"
#include "worker/capture_limit.h"
#include "worker/decap_stage.h"
#include "worker/mirror_select.h"
#include "worker/source_counters.h"
#include "worker/worker_counters.h"

namespace xcap::worker {

// What a worker does to a batch between its source and its sinks, in this order. Each may be
// absent.
struct WorkerStages {
  std::unique_ptr<MirrorSelect> select;  // replay in mirror mode: XDP's classification
  std::unique_ptr<DecapStage> decap;     // null with --decap none
  const FilterSet* filter = nullptr;     // -f; shared by all workers (read-only)
};

struct WorkerConfig {
  unsigned batch_size = defaults::kBatchSize;  // 1..kMaxBatchSize
  int cpu = -1;                                // core to pin to; -1 = no pinning
  int rt_priority = 0;     // SCHED_FIFO priority (--rt-priority); 0 = normal scheduling
  int idle_poll_ms = 100;  // how long receive() may block in poll() when the ring is empty
  // Adaptive polling (worker.cpp): after a batch that drained the ring, nap long enough to
  // gather about nap_target frames at the rate just seen, within [nap_min_ns, nap_max_ns].
  uint64_t nap_min_ns = defaults::kWorkerNapMinNs;
  uint64_t nap_max_ns = defaults::kWorkerNapMaxNs;
  unsigned nap_target = defaults::kRxRing / 8;
  // The pcapng interface of frames no stage assigned one (xcap serve with several -i: each
  // interface's own); 0 leaves them on interface 0.
  uint32_t iface_id = 0;
};

class Worker {
 public:
  // sinks: this worker's end of each sink (may be empty: count only); they outlive the worker.
  Worker(const WorkerConfig& cfg, source::Source& src, WorkerStages stages,
         std::vector<sink::WorkerSink*> sinks, CaptureLimit& limit);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  void start();
  void drain();  // finish what the ring holds, then exit (call after detaching XDP)
  void join();
  // The source was exhausted and everything it gave went to the sinks.
  bool finished() const { return finished_.load(std::memory_order_acquire); }
  // Between start() and the end of its thread: what /healthz calls capturing.
  bool running() const { return running_.load(std::memory_order_acquire); }
  const WorkerCounters& counters() const { return counters_; }
  const DecapStage* decap() const { return stages_.decap.get(); }
  const MirrorSelect* mirror_select() const { return stages_.select.get(); }
  // Per mirror source, when decapsulation names sources; else null.
  const SourceCounters* source_counters() const { return source_counters_.get(); }

 private:
  void run();
  void setup_thread();  // pinning, real-time priority, name
  void housekeeping(uint64_t now, uint64_t& next_clock_refresh);
  uint64_t next_nap(uint64_t nap_ns, unsigned gathered, uint64_t elapsed_ns) const;
  unsigned process_batch(int timeout_ms);

  WorkerConfig cfg_;
  source::Source& src_;
  WorkerStages stages_;
  std::vector<sink::WorkerSink*> sinks_;
  CaptureLimit& limit_;
  WorkerCounters counters_;
  std::unique_ptr<SourceCounters> source_counters_;
  // Allocated once: a stack array here would be zeroed on every poll, empty ones included.
  std::vector<PacketView> batch_;
  std::atomic<bool> draining_{false};
  std::atomic<bool> finished_{false};
  std::atomic<bool> running_{false};
  std::thread thread_;
};

}  // namespace xcap::worker
