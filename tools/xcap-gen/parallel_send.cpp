#include "parallel_send.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <memory>
#include <thread>
#include <vector>

namespace xcap::gen {
namespace {

void pin_to(unsigned cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);  // best effort: it still sends
}

// Thread t's share of n: the first n % threads get one more.
uint64_t share(uint64_t n, unsigned t, unsigned threads) {
  return n / threads + (t < n % threads ? 1 : 0);
}

}  // namespace

Result<SendStats> run_parallel(const SenderConfig& config, const SendPlan& plan, unsigned threads,
                               unsigned first_cpu) {
  std::vector<std::unique_ptr<LiveFramesSender>> senders;
  for (unsigned t = 0; t < threads; t++) {
    auto s = LiveFramesSender::open(config);
    if (!s) return s.error();
    senders.push_back(std::move(s.value()));
  }
  const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  std::vector<SendStats> stats(threads);
  std::vector<std::thread> running;
  for (unsigned t = 0; t < threads; t++) {
    SendPlan mine = plan;
    mine.count = share(plan.count, t, threads);
    mine.rate = share(plan.rate, t, threads);
    mine.progress = false;  // N progress lines a second would be noise
    if (plan.count && !mine.count) continue;
    running.emplace_back([&, t, mine] {
      pin_to((first_cpu + t) % cores);
      stats[t] = run_send_loop(*senders[t], mine);
    });
  }
  for (std::thread& th : running) th.join();
  SendStats all;
  for (const SendStats& s : stats) {
    all.sent += s.sent;
    all.bytes += s.bytes;
    all.failed += s.failed;
    all.elapsed_ns = std::max(all.elapsed_ns, s.elapsed_ns);
    if (!all.first_error) all.first_error = s.first_error;
    all.fatal = all.fatal || s.fatal;
  }
  return all;
}

}  // namespace xcap::gen
