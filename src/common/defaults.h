// The defaults that more than one part of xcap needs, in one place. README "Tuning" explains
// the tuning ones and how they were chosen.
#pragma once

#include <cstdint>

namespace xcap::defaults {

inline constexpr uint32_t kSnaplen = 262144;  // -s 0, as tcpdump: the most a record keeps
inline constexpr unsigned kBatchSize = 64;    // frames per worker batch
inline constexpr unsigned kMaxBatchSize = 256;
// The RX ring is the slack for the moments a worker is off its core. A worker that naps (below)
// or shares its core may wake one scheduler tick late and more (4-6 ms seen on the 2-core lab
// VM, HZ=250, PREEMPT_NONE): 32768 frames hold 8 ms at 4 Mpps. README "Tuning" has the
// measurements (bench/default_loss).
inline constexpr uint32_t kRxRing = 32768;         // AF_XDP RX ring descriptors
inline constexpr uint32_t kFillRingPerRxSlot = 1;  // fill ring = UMEM frames = RX ring
inline constexpr uint32_t kFrameSize = 4096;       // UMEM frame when the MTU says nothing smaller
// A worker's nap after a batch that drained its ring (adaptive polling, worker/worker.cpp):
// the longest one bounds the latency it adds, and a burst that starts during it, plus a late
// wake-up, must fit in the RX ring: 2 ms + 6 ms at 4 Mpps is 32,000 frames.
inline constexpr uint64_t kWorkerNapMinNs = 50'000;
inline constexpr uint64_t kWorkerNapMaxNs = 2'000'000;
// With early wake-up (source/wake_channel.h) a burst ends the nap after 1/kWakeRingFraction of
// the ring, so naps at ordinary rates can be long: fewer wake-ups, less CPU. The longest is
// also the most a frame waits before a worker takes it.
inline constexpr uint64_t kWorkerNapMaxWokenNs = 10'000'000;
inline constexpr uint32_t kWakeRingFraction = 4;
// Streaming (--listen): limits on clients, and each client's own buffer.
inline constexpr unsigned kMaxStreams = 8;
inline constexpr unsigned kMaxStreamsPerClient = 2;
inline constexpr uint64_t kStreamBufferMiB = 64;
// --ringbuf-size (local mode): each interface's BPF ring buffer, KiB.
inline constexpr uint32_t kRingbufKiB = 16384;

}  // namespace xcap::defaults
