// XskSource: one AF_XDP socket bound to one rx queue, with its own UMEM. The worker that owns
// it calls receive() and release() in batches; nothing here allocates, locks or makes a
// syscall per packet (a syscall happens only when the rings are empty: to sleep, or to wake
// the kernel when it asked for it with needs_wakeup).
//
// Rings follow the xdpsock pattern: the fill ring holds every UMEM frame and is filled before
// bind; a received frame goes straight back to the fill ring once the sinks copied it out.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/defaults.h"
#include "common/packet_view.h"
#include "common/result.h"
#include "common/single_writer_counter.h"
#include "source/source.h"
#include "source/wake_channel.h"

struct xsk_socket;
struct xsk_umem;

namespace xcap::source {

struct XskConfig {
  std::string ifname;
  uint32_t queue = 0;
  uint32_t frame_size = defaults::kFrameSize;  // UMEM frame; a longer one takes several
  uint32_t rx_size = defaults::kRxRing;        // RX ring descriptors
  // Fill ring = UMEM frames; at least twice the RX ring.
  uint32_t fill_size = defaults::kFillRingPerRxSlot * defaults::kRxRing;
  bool skb_mode = false;   // XDP program attached in skb (generic) mode
  bool busy_poll = false;  // SO_PREFER_BUSY_POLL + SO_BUSY_POLL
  // Ask for AF_XDP multi-buffer (XDP_USE_SG): frames longer than a UMEM frame arrive as a
  // chain of descriptors and are captured whole. Off (XCAP_MULTI_BUFFER=off): such frames are
  // too_big.
  bool multi_buffer = true;
  // Interface MTU, 0 if unknown: when its frames outgrow a UMEM frame, multi-buffer in copy
  // mode is preferred to zero-copy without it.
  uint32_t mtu = 0;
};

// XDP_STATISTICS of one socket: the kernel's own drop counters.
struct XskKernelStats {
  uint64_t rx_dropped = 0;  // no free UMEM frame (fill ring empty) or frame too big
  uint64_t rx_invalid_descs = 0;
  uint64_t rx_ring_full = 0;  // RX ring full: user space did not keep up
  uint64_t fill_ring_empty_events = 0;
};

class XskSource final : public Source {
 public:
  static Result<std::unique_ptr<XskSource>> open(const XskConfig& cfg, int xsks_map_fd);
  ~XskSource() override;
  XskSource(const XskSource&) = delete;
  XskSource& operator=(const XskSource&) = delete;

  // Up to max packets into out[]; waits up to timeout_ms when the ring is empty. The views
  // stay valid until release(). Timestamps are UTC (converted from the XDP TAI stamp). A frame
  // that arrived as a chain of descriptors is assembled into a per-source scratch arena (one
  // copy); other frames are views of the UMEM.
  unsigned receive(PacketView* out, unsigned max, int timeout_ms) override;
  // Gives the last receive()'s frames back to the kernel (fill ring) and frees RX slots.
  void release() override;

  XskKernelStats kernel_stats() const;  // getsockopt: call at scrape time, any thread
  uint64_t missing_meta() const { return missing_meta_.get(); }
  // Chains longer than kMaxFrameBytes, dropped (the XDP side counts the too-big frames of a
  // socket without multi-buffer: XCAP_CNT_TOO_BIG).
  uint64_t too_big() const { return too_big_.get(); }
  bool zero_copy() const { return zero_copy_; }
  bool multi_buffer() const { return multi_buffer_; }
  // Why the socket has no multi-buffer (the bind's error, or "turned off"); empty when it has.
  const std::string& multi_buffer_error() const { return multi_buffer_error_; }
  // The kernel has no AF_XDP multi-buffer at all (it refused XDP_USE_SG as unknown, or is
  // older than 6.6): it hands a socket only the linear part of a frame in fragments.
  bool kernel_linear_only() const { return kernel_linear_only_; }
  // The largest frame captured whole: kMaxFrameBytes with multi-buffer, else what one UMEM
  // frame holds after the kernel's headroom.
  uint32_t max_frame() const;
  uint32_t queue() const override { return cfg_.queue; }
  int fd() const;
  // Re-reads the TAI-UTC offset (leap seconds, clock steps); the worker calls it once a second.
  void refresh_clock() override;
  // With a WakeChannel the nap ends as soon as the XDP program has steered its threshold of
  // frames to this queue; without one it is a plain sleep.
  bool nap(uint64_t ns) override { return wake_ ? wake_->nap(ns) : Source::nap(ns); }
  void set_wake(std::unique_ptr<WakeChannel> wake) { wake_ = std::move(wake); }
  bool wakes_early() const { return wake_ != nullptr; }

 private:
  explicit XskSource(const XskConfig& cfg);
  // The steps of open().
  Result<void> create_umem();
  Result<void> bind_socket();
  void enable_busy_poll(int fd) const;
  // What one UMEM frame holds of a frame: frame_size - kXdpPacketHeadroom.
  uint32_t single_frame_bytes() const;
  struct Rings;
  XskConfig cfg_;
  std::unique_ptr<Rings> rings_;
  std::unique_ptr<WakeChannel> wake_;
  void* umem_area_ = nullptr;
  size_t umem_bytes_ = 0;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  unsigned held_ = 0;      // frames of the last receive() not yet released
  uint32_t held_idx_ = 0;  // their first RX ring index
  int64_t tai_minus_utc_ns_ = 0;
  SingleWriterCounter missing_meta_;  // frames without xcap metadata (META_FAILED)
  SingleWriterCounter too_big_;
  bool zero_copy_ = false;
  bool multi_buffer_ = false;
  bool kernel_linear_only_ = false;
  std::string multi_buffer_error_;
  std::vector<uint8_t> scratch_mem_;  // chains are assembled here (Rings::scratch; multi-buffer)
};

}  // namespace xcap::source
