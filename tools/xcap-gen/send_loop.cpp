#include "send_loop.h"

#include <csignal>
#include <cstdio>

#include "pacer.h"

namespace xcap::gen {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStopCheckNs = 5'000'000;  // how late a Ctrl-C may be noticed
constexpr int kMaxFailuresInARow = 100;      // by then the interface is gone, not busy

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
  fprintf(stderr, "xcap-gen: %llu sent, %.0f pps (%.3f Mpps), %.3f Gbit/s\n",
          (unsigned long long)total, frames / s, frames / s / 1e6, bytes * 8 / s / 1e9);
}

// Ethernet bytes of n frames starting at frame pos, wrapping around the file.
class FrameBytes {
 public:
  explicit FrameBytes(const std::vector<Bytes>& frames) : prefix_(frames.size() + 1, 0) {
    for (size_t i = 0; i < frames.size(); i++) prefix_[i + 1] = prefix_[i] + frames[i].size();
  }
  uint64_t span(uint64_t pos, uint64_t n) const {
    const uint64_t total = prefix_.back(), size = prefix_.size() - 1;
    uint64_t bytes = n / size * total;
    n %= size;
    if (pos + n <= size) return bytes + prefix_[pos + n] - prefix_[pos];
    return bytes + total - prefix_[pos] + prefix_[pos + n - size];
  }

 private:
  std::vector<uint64_t> prefix_;
};

}  // namespace

void block_stop_signals() {
  sigset_t s = stop_signals();
  sigprocmask(SIG_BLOCK, &s, nullptr);
}

SendStats run_send_loop(LiveFramesSender& sender, const SendPlan& plan) {
  SendStats st;
  const uint64_t n_frames = plan.frames.size();
  if (n_frames == 0) return st;
  uint64_t limit = plan.count;
  if (plan.replay && plan.passes && (limit == 0 || plan.passes * n_frames < limit))
    limit = plan.passes * n_frames;
  const FrameBytes frame_bytes(plan.frames);

  // Replay: pos is the next frame of the file; the map holds [win_start, win_start + win_len).
  // A file that fits is loaded once and the program wraps around it by itself.
  uint64_t pos = 0, win_start = 0, win_len = 0;
  const bool windowed = plan.replay && n_frames > plan.window;

  const int64_t start = monotonic_ns();
  Pacer pacer(plan.rate, start);
  int64_t next_progress = start + kSecond, next_stop_check = start, last_progress = start;
  uint64_t attempted = 0, last_sent = 0, last_bytes = 0;
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

    uint64_t n = pacer.chunk();
    if (limit && limit - attempted < n) n = limit - attempted;
    if (plan.replay) {
      if (win_len == 0 || pos < win_start || pos >= win_start + win_len) {
        win_start = windowed ? pos : 0;
        win_len = std::min<uint64_t>(plan.window, n_frames - win_start);
        sender.load_replay(plan.frames, win_start, win_len);
      }
      if (windowed) n = std::min(n, win_start + win_len - pos);
      sender.seek_replay(uint32_t(pos - win_start));
    }

    const uint64_t before = sender.frames_run();
    const int64_t t0 = monotonic_ns();
    const int rc = sender.send(plan.frames[0], uint32_t(n));
    pacer.observe_call(monotonic_ns() - t0);
    const uint64_t ran = sender.frames_run() - before;
    st.sent += ran;
    st.failed += n - ran;
    st.bytes += frame_bytes.span(pos, n) * ran / n;
    attempted += n;
    pos = (pos + n) % n_frames;

    if (rc == 0 && ran > 0) {
      failures_in_a_row = 0;
      continue;
    }
    if (rc && !st.first_error) st.first_error = -rc;
    if (st.sent == 0 || ++failures_in_a_row >= kMaxFailuresInARow) {
      st.fatal = true;
      break;
    }
  }
  st.elapsed_ns = monotonic_ns() - start;
  return st;
}

}  // namespace xcap::gen
