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
#include "worker/filter_stage.h"

namespace xcap::worker {
namespace {

uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + uint64_t(ts.tv_nsec);
}

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

}  // namespace

Worker::Worker(const WorkerConfig& cfg, source::Source& src, WorkerStages stages,
               std::vector<sink::WorkerSink*> sinks, CaptureLimit& limit)
    : cfg_(cfg),
      src_(src),
      stages_(std::move(stages)),
      sinks_(std::move(sinks)),
      limit_(limit),
      batch_(std::clamp(cfg.batch_size, 1u, defaults::kMaxBatchSize)) {}

Worker::~Worker() {
  drain();
  join();
}

void Worker::start() {
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
  if (take)
    for (sink::WorkerSink* s : sinks_) s->append(std::span<const PacketView>(batch, take));
  counters_.delivered.add(take);
  if (take < kept) counters_.over_limit.add(kept - take);
  src_.release();
  return n;
}

void Worker::run() {
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
    // it. It still sleeps after spin_ns of silence, so an idle capture starves no one.
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

  // Housekeeping (partial-block flush, clock offset, the spin deadline) needs the time, but
  // not on every turn: a clock read per empty spin costs more than the spin itself.
  constexpr unsigned kTurnsPerClockRead = 32;
  uint64_t now = monotonic_ns();
  uint64_t next_clock_refresh = 0;
  uint64_t last_packet = now;
  unsigned turns = 0;
  while (!draining_.load(std::memory_order_acquire)) {
    // Under load, spin on the ring: sleeping in poll() makes the kernel wake this thread for
    // every few frames, and those wake-ups cost more than the frames. Sleep only after the
    // ring stayed empty for spin_ns.
    bool spin = now - last_packet < cfg_.spin_ns;
    bool got = process_batch(spin ? 0 : cfg_.idle_poll_ms) != 0;
    if (!got && src_.exhausted()) break;
    if (!got && spin && ++turns % kTurnsPerClockRead) {
      cpu_relax();
      continue;
    }
    now = monotonic_ns();
    if (got) last_packet = now;
    for (sink::WorkerSink* s : sinks_) s->flush_if_idle(now);
    if (now >= next_clock_refresh) {
      src_.refresh_clock();
      next_clock_refresh = now + 1'000'000'000;
    }
  }
  // Drain: XDP is detached, so the ring only holds what was already delivered. It is empty
  // for good once several consecutive short polls find nothing.
  for (int quiet = 0; quiet < 3 && !src_.exhausted();) quiet = process_batch(10) ? 0 : quiet + 1;
  for (sink::WorkerSink* s : sinks_) s->seal();
  finished_.store(src_.exhausted(), std::memory_order_release);
}

}  // namespace xcap::worker
