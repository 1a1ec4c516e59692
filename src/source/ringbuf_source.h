// RingbufSource: local mode's source (--mode local): the records bpf/xcap_local.bpf.c wrote
// into one interface's BPF ring buffers (one, or one per CPU), both directions, in batches.
//
// The programs write with BPF_RB_NO_WAKEUP, so epoll sees no event for most records, and
// ring_buffer__poll() would drain nothing: receive() drains with ring_buffer__consume(), and when
// the rings are empty sleeps in ring_buffer__poll() for at most poll_interval_ms (a ring filling
// past a quarter forces a wake-up sooner). Each record is copied out of the ring into this
// source's arena (the ring's space goes back to the kernel as the callback returns); the views
// point into the arena until release(). No allocation per packet: the arena is made once.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "common/result.h"
#include "source/source.h"

struct ring_buffer;

namespace xcap::source {

struct RingbufConfig {
  std::vector<int> ring_fds;  // LocalProgram::ring_fds()
  uint32_t queue = 0;         // the number this source goes by (worker name, queue label)
  int poll_interval_ms = 10;  // the longest a record waits in an idle ring
};

class RingbufSource final : public Source {
 public:
  static Result<std::unique_ptr<RingbufSource>> open(const RingbufConfig& cfg);
  ~RingbufSource() override;
  RingbufSource(const RingbufSource&) = delete;
  RingbufSource& operator=(const RingbufSource&) = delete;

  unsigned receive(PacketView* out, unsigned max, int timeout_ms) override;
  void release() override {}
  void refresh_clock() override;
  uint32_t queue() const override { return cfg_.queue; }
  uint64_t bad_records() const { return bad_records_; }  // shorter than their header said

 private:
  explicit RingbufSource(const RingbufConfig& cfg);
  static int on_record(void* self, void* data, size_t size);
  int take(const void* data, size_t size);

  RingbufConfig cfg_;
  ring_buffer* rb_ = nullptr;
  std::vector<uint8_t> arena_;
  size_t used_ = 0;
  PacketView* out_ = nullptr;
  unsigned max_ = 0, n_ = 0;
  int64_t tai_minus_utc_ns_ = 0;
  uint64_t bad_records_ = 0;  // written by the worker thread only; read at the end
};

}  // namespace xcap::source
