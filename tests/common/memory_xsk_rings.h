// MemoryXskRings: an AF_XDP RX ring, fill ring and UMEM in plain memory, laid out as the kernel
// lays them out, for the tests and the benchmark of the batch loops (src/source/xsk_batch.h)
// without a socket. Whoever plays the kernel writes descriptors and moves the indexes.
// Header-only: bench/ring_bench uses it without the test kit.
#pragma once

#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include <cstdint>
#include <vector>

namespace xcap::test {

struct MemoryXskRings {
  // Sizes are powers of two; the fill ring holds every UMEM frame (fill_size frames).
  MemoryXskRings(uint32_t rx_size, uint32_t fill_size, uint32_t frame_size)
      : rx_descs(rx_size), fill_addrs(fill_size), umem(size_t(fill_size) * frame_size) {
    rx.mask = rx_size - 1;
    rx.size = rx_size;
    rx.producer = &rx_prod;
    rx.consumer = &rx_cons;
    rx.ring = rx_descs.data();
    rx.flags = &flags;
    fill.mask = fill_size - 1;
    fill.size = fill_size;
    fill.producer = &fill_prod;
    fill.consumer = &fill_cons;
    fill.ring = fill_addrs.data();
    fill.flags = &flags;
    fill.cached_cons = fill_size;  // libxdp keeps the producer's view of free slots this way
  }
  // The rings point into this object.
  MemoryXskRings(const MemoryXskRings&) = delete;
  MemoryXskRings& operator=(const MemoryXskRings&) = delete;

  std::vector<xdp_desc> rx_descs;
  std::vector<uint64_t> fill_addrs;
  uint32_t rx_prod = 0, rx_cons = 0, fill_prod = 0, fill_cons = 0, flags = 0;
  xsk_ring_cons rx{};
  xsk_ring_prod fill{};
  std::vector<uint8_t> umem;
};

}  // namespace xcap::test
