// SourceCounters: packets and bytes a worker captured per mirror source, for the per-source
// rates on a dashboard (xcap_source_packets_total). Sources are the pcapng interface ids
// decapsulation assigns (worker/source_cache.h), so they exist with pcapng or --split source.
// One array increment per packet; the arrays never move, so a scrape reads them while the
// worker writes. Ids past the last slot share it ("other").
#pragma once

#include <cstdint>
#include <memory>

#include "common/packet_view.h"
#include "common/single_writer_counter.h"

namespace xcap::worker {

class SourceCounters {
 public:
  static constexpr uint32_t kSlots = 4096;

  SourceCounters()
      : packets_(std::make_unique<SingleWriterCounter[]>(kSlots)),
        bytes_(std::make_unique<SingleWriterCounter[]>(kSlots)) {}

  // The worker's thread only.
  void count(const PacketView* batch, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
      const uint32_t slot = batch[i].iface_id < kSlots ? batch[i].iface_id : kSlots - 1;
      packets_[slot].add(1);
      bytes_[slot].add(batch[i].wire_len);
    }
  }
  uint64_t packets(uint32_t slot) const { return packets_[slot].get(); }
  uint64_t bytes(uint32_t slot) const { return bytes_[slot].get(); }

 private:
  std::unique_ptr<SingleWriterCounter[]> packets_, bytes_;
};

}  // namespace xcap::worker
