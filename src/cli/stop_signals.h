// SIGINT and SIGTERM end a command: they are blocked in every thread and taken synchronously
// by the main thread (sigtimedwait), so no other thread ever sees them.
#pragma once

#include <signal.h>

namespace xcap::cli {

inline sigset_t block_stop_signals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGINT);
  sigaddset(&s, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a reader that goes away is an EPIPE, handled where it happens
  return s;
}

// Waits up to tick_ns for SIGINT or SIGTERM; true if one came.
inline bool stop_signal_within(const sigset_t& signals, long tick_ns) {
  timespec tick{0, tick_ns};
  const int sig = sigtimedwait(&signals, nullptr, &tick);
  return sig == SIGINT || sig == SIGTERM;
}

}  // namespace xcap::cli
