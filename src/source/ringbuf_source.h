// RingbufSource: local mode's source (--mode local): the records bpf/xcap_local.bpf.c wrote
// into one interface's BPF ring buffers (one, or one per CPU), both directions, in batches.
//
// The records are read in place (RingReader): a view points into the ring until release(),
// which gives the batch's space back to the kernel. No copy, no allocation per packet.
// The programs write with BPF_RB_NO_WAKEUP, so epoll sees no event for most records (and
// libbpf's ring_buffer__poll() would drain nothing): receive() reads whatever is complete, and
// when the rings are empty sleeps in epoll_wait for at most poll_interval_ms; a ring filling
// past a quarter forces a wake-up sooner.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "source/ring_reader.h"
#include "source/source.h"

namespace xcap::source {

struct RingbufConfig {
  std::vector<int> ring_fds;  // LocalProgram::ring_fds()
  uint32_t queue = 0;         // the number this source goes by (worker name, queue label)
  int poll_interval_ms = 10;  // the longest a record waits in an idle ring
};

class RingbufSource final : public Source {
 public:
  static Result<std::unique_ptr<RingbufSource>> open(const RingbufConfig& cfg);
  RingbufSource(const RingbufSource&) = delete;
  RingbufSource& operator=(const RingbufSource&) = delete;

  unsigned receive(PacketView* out, unsigned max, int timeout_ms) override;
  void release() override;
  void refresh_clock() override;
  // The worker's nap: an epoll wait, which a ring filling past a quarter ends early.
  bool nap(uint64_t ns) override;
  uint32_t queue() const override { return cfg_.queue; }
  uint64_t bad_records() const { return bad_records_; }  // shorter than their header said

 private:
  explicit RingbufSource(const RingbufConfig& cfg);
  unsigned read(PacketView* out, unsigned max);
  void wait(int timeout_ms);

  RingbufConfig cfg_;
  std::vector<RingReader> rings_;
  Fd epoll_;          // every ring's wake-ups
  size_t first_ = 0;  // the ring read first next time (per-CPU rings take turns)
  int64_t tai_minus_utc_ns_ = 0;
  uint64_t bad_records_ = 0;  // written by the worker thread only; read at the end
};

}  // namespace xcap::source
