// The defaults that more than one part of xcap needs, in one place. README "Tuning" explains
// the tuning ones and how they were chosen.
#pragma once

#include <cstdint>

namespace xcap::defaults {

inline constexpr uint32_t kSnaplen = 262144;  // -s 0, as tcpdump: the most a record keeps
inline constexpr unsigned kBatchSize = 64;    // frames per worker batch
inline constexpr unsigned kMaxBatchSize = 256;
inline constexpr uint32_t kRxRing = 4096;          // AF_XDP RX ring descriptors
inline constexpr uint32_t kFillRingPerRxSlot = 2;  // fill ring = UMEM frames = 2 x RX ring
inline constexpr uint32_t kFrameSize = 4096;       // UMEM frame when the MTU says nothing smaller
// Streaming (--listen): limits on clients, and each client's own buffer.
inline constexpr unsigned kMaxStreams = 8;
inline constexpr unsigned kMaxStreamsPerClient = 2;
inline constexpr uint64_t kStreamBufferMiB = 64;
// --ringbuf-size (local mode): each interface's BPF ring buffer, KiB.
inline constexpr uint32_t kRingbufKiB = 16384;

}  // namespace xcap::defaults
