#include "send_loop.h"

#include <csignal>
#include <cstdio>
#include <cstring>

#include "pacer.h"

namespace xcap::gen {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStopCheckNs = 5'000'000;  // how late a Ctrl-C may be noticed
constexpr int kMaxFailuresInARow = 100;      // then the interface is gone, not busy

sigset_t stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  return s;
}

bool stop_pending() {
  sigset_t pending;
  sigpending(&pending);
  return sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM);
}

// Sleeps up to ns, waking at once on SIGINT/SIGTERM; true when one arrived.
bool sleep_until_stop(int64_t ns) {
  sigset_t s = stop_signals();
  timespec ts{time_t(ns / kSecond), long(ns % kSecond)};
  return sigtimedwait(&s, nullptr, &ts) > 0;
}

void print_progress(uint64_t frames, uint64_t bytes, int64_t ns, uint64_t total) {
  double s = double(ns) / kSecond;
  fprintf(stderr, "xcap-gen: %llu sent, %.3f Mpps, %.3f Gbit/s\n", (unsigned long long)total,
          frames / s / 1e6, bytes * 8 / s / 1e9);
}

}  // namespace

void block_stop_signals() {
  sigset_t s = stop_signals();
  sigprocmask(SIG_BLOCK, &s, nullptr);
}

SendStats run_send_loop(LiveFramesSender& sender, const SendPlan& plan) {
  SendStats st;
  const uint64_t n_frames = plan.frames.size();
  if (n_frames == 0) return st;
  // One frame: repeat it in chunks. Several: one call per frame keeps the file's order.
  const bool single = n_frames == 1;
  const uint32_t chunk = single ? Pacer::chunk(plan.rate) : 1;
  uint64_t limit = plan.count;
  if (plan.passes && (limit == 0 || plan.passes * n_frames < limit)) limit = plan.passes * n_frames;

  const int64_t start = monotonic_ns();
  Pacer pacer(plan.rate, start);
  int64_t next_progress = start + kSecond, next_stop_check = start;
  uint64_t attempted = 0, last_sent = 0, last_bytes = 0;
  int64_t last_progress = start;
  size_t idx = 0;
  int failures_in_a_row = 0;

  while (limit == 0 || attempted < limit) {
    int64_t now = monotonic_ns();
    if (now >= next_stop_check) {
      if (stop_pending()) break;
      next_stop_check = now + kStopCheckNs;
    }
    if (plan.progress && now >= next_progress) {
      print_progress(st.sent - last_sent, st.bytes - last_bytes, now - last_progress, st.sent);
      last_sent = st.sent, last_bytes = st.bytes, last_progress = now;
      next_progress = now + kSecond;
    }
    if (int64_t wait = pacer.wait_ns(attempted, now)) {
      if (sleep_until_stop(std::min(wait, std::max<int64_t>(next_progress - now, 1)))) break;
      continue;
    }
    uint32_t n = chunk;
    if (limit && limit - attempted < n) n = uint32_t(limit - attempted);
    const Bytes& frame = plan.frames[idx];
    const uint64_t before = sender.frames_run();
    const int rc = sender.send(frame, n);
    const uint64_t ran = sender.frames_run() - before;
    st.sent += ran;
    st.bytes += ran * frame.size();
    attempted += n;
    if (!single) idx = idx + 1 == n_frames ? 0 : idx + 1;
    if (rc == 0) {
      failures_in_a_row = 0;
      continue;
    }
    st.failed += n - ran;
    if (!st.first_error) st.first_error = -rc;
    if (st.sent == 0 || ++failures_in_a_row >= kMaxFailuresInARow) {
      st.fatal = true;
      break;
    }
  }
  st.elapsed_ns = monotonic_ns() - start;
  return st;
}

}  // namespace xcap::gen
