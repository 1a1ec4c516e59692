#include "worker/worker.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <span>
#include <vector>

#include "common/error.h"
#include "common/log.h"
#include "common/monotonic_clock.h"
#include "worker/filter_stage.h"

namespace xcap::worker {

Worker::Worker(const WorkerConfig& cfg, source::Source& src, WorkerStages stages,
               std::vector<sink::WorkerSink*> sinks, CaptureLimit& limit)
    : cfg_(cfg),
      src_(src),
      stages_(std::move(stages)),
      sinks_(std::move(sinks)),
      limit_(limit),
      batch_(std::clamp(cfg.batch_size, 1u, defaults::kMaxBatchSize)) {
  if (stages_.decap && stages_.decap->names_sources())
    source_counters_ = std::make_unique<SourceCounters>();
}

Worker::~Worker() {
  drain();
  join();
}

void Worker::start() {
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { run(); });
}
void Worker::drain() {
  draining_.store(true, std::memory_order_release);
}
void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

unsigned Worker::process_batch(int timeout_ms) {
  PacketView* batch = batch_.data();
  unsigned n = src_.receive(batch, unsigned(batch_.size()), timeout_ms);
  if (n == 0) return 0;
  uint64_t bytes = 0;
  for (unsigned i = 0; i < n; i++) bytes += batch[i].wire_len;
  counters_.rx_packets.add(n);
  counters_.rx_bytes.add(bytes);
  counters_.batches.add(1);
  unsigned kept = stages_.select ? stages_.select->apply(batch, n) : n;
  if (stages_.decap) kept = stages_.decap->apply(batch, kept);
  if (stages_.filter) {
    const unsigned selected = apply_filter(*stages_.filter, batch, kept);
    counters_.filter_excluded.add(kept - selected);
    kept = selected;
  }
  unsigned take = limit_.take(kept);
  if (cfg_.iface_id)
    for (unsigned i = 0; i < take; i++)
      if (!batch[i].iface_id) batch[i].iface_id = cfg_.iface_id;
  if (source_counters_) source_counters_->count(batch, take);
  if (take)
    for (sink::WorkerSink* s : sinks_) s->append(std::span<const PacketView>(batch, take));
  counters_.delivered.add(take);
  if (take < kept) counters_.over_limit.add(kept - take);
  src_.release();
  return n;
}

uint64_t Worker::next_nap(uint64_t nap_ns, unsigned gathered, uint64_t elapsed_ns) const {
  const uint64_t want = elapsed_ns * cfg_.nap_target / gathered;
  const uint64_t step = std::clamp(want, nap_ns / 2, nap_ns * 2);
  return std::clamp(step, cfg_.nap_min_ns, cfg_.nap_max_ns);
}

// Partly filled blocks go on after their flush delay; the clock offset is read once a second.
void Worker::housekeeping(uint64_t now, uint64_t& next_clock_refresh) {
  for (sink::WorkerSink* s : sinks_) s->flush_if_idle(now);
  if (now >= next_clock_refresh) {
    src_.refresh_clock();
    next_clock_refresh = now + 1'000'000'000;
  }
}

void Worker::setup_thread() {
  if (cfg_.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cfg_.cpu, &set);
    // Unpinned, the worker still captures; the scheduler may then move it (slower, not wrong).
    if (int rc = pthread_setaffinity_np(pthread_self(), sizeof set, &set))
      log_error("%s",
                errno_error(rc, "queue " + std::to_string(src_.queue()) +
                                    ": cannot pin the worker to CPU " + std::to_string(cfg_.cpu))
                    .message.c_str());
  }
  if (cfg_.rt_priority > 0) {
    // A worker that loses its core for a scheduler slice (1.5 ms seen on a shared VM) overflows
    // its RX ring; as a real-time thread nothing but interrupts and higher priorities preempt
    // it. It still naps and blocks when the ring is drained, so it starves no one.
    sched_param sp{};
    sp.sched_priority = cfg_.rt_priority;
    if (int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp))
      log_error("%s", errno_error(rc, "queue " + std::to_string(src_.queue()) +
                                          ": cannot use real-time priority " +
                                          std::to_string(cfg_.rt_priority))
                          .message.c_str());
  }
  char name[16];
  snprintf(name, sizeof name, "xcap-q%u", src_.queue());
  pthread_setname_np(pthread_self(), name);  // fails only for names over 15 characters
}

void Worker::run() {
  setup_thread();
  // Adaptive polling (README "Tuning"). A full batch means the ring holds more: the next is
  // taken at once, so under load the worker spins. A partial one means the ring is drained:
  // the worker naps and lets the next frames gather, like a NIC's interrupt coalescing; each
  // wake-up costs a context switch, so at 200 kpps a wake-up per frame would cost more than
  // the frames. The nap is sized to gather about nap_target frames at the rate just seen
  // (halving or doubling at most per step, within [nap_min_ns, nap_max_ns]), well inside
  // the ring. A nap that brought nothing means a pause: the worker blocks in poll() until a
  // frame arrives. After a long pause (longer than the longest nap) it starts again from the
  // shortest nap, since traffic that starts may start fast; a sender that pauses between
  // bursts keeps the nap it had.
  uint64_t next_clock_refresh = 0, nap_ns = cfg_.nap_min_ns, blocked_at = 0;
  uint64_t cycle_start = monotonic_ns();  // when the frames counted in gathered began to come
  unsigned gathered = 0;                  // frames taken since the last nap or block
  bool block = false;
  while (!draining_.load(std::memory_order_acquire)) {
    const unsigned got = process_batch(block ? cfg_.idle_poll_ms : 0);
    if (!got && src_.exhausted()) break;
    const uint64_t now = monotonic_ns();
    housekeeping(now, next_clock_refresh);
    if (block) {
      if (now - blocked_at > cfg_.nap_max_ns) nap_ns = cfg_.nap_min_ns;
      cycle_start = now;
      block = false;
    }
    gathered += got;
    if (got >= batch_.size()) continue;
    if (!gathered) {  // a nap that brought nothing: a pause
      block = true;
      blocked_at = now;
      continue;
    }
    nap_ns = next_nap(nap_ns, gathered, std::max<uint64_t>(now - cycle_start, 1));
    gathered = 0;
    cycle_start = now;
    src_.nap(nap_ns);
  }
  // Drain: XDP is detached, so the ring only holds what was already delivered. It is empty
  // for good once several consecutive short polls find nothing.
  for (int quiet = 0; quiet < 3 && !src_.exhausted();) quiet = process_batch(10) ? 0 : quiet + 1;
  for (sink::WorkerSink* s : sinks_) s->seal();
  finished_.store(src_.exhausted(), std::memory_order_release);
  running_.store(false, std::memory_order_release);
}

}  // namespace xcap::worker
