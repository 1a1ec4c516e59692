// The worker side of the file ring: encode records straight into the current block, seal
// full blocks onto the writer's ring, take fresh ones from the free ring, drop when none.
#include "sink/file/file_namer.h"
#include "sink/file/file_ring.h"
#include "sink/file/pcap_format.h"
#include "sink/file/record_block.h"
#include "sink/file/spsc_ring.h"

namespace xcap::sink {

FileRingProducer::FileRingProducer(BlockRing* full, BlockRing* free, const FileRingConfig& cfg)
    : full_(full),
      free_(free),
      snaplen_(cfg.snaplen),
      pcapng_(cfg.format == FileFormat::Pcapng),
      period_ns_(cfg.rotate_seconds ? period_ns(cfg.rotate_seconds) : 0),
      flush_ns_(cfg.flush_ns) {}

void FileRingProducer::append(const PacketView& pkt) {
  const RecordLengths len = record_lengths(pkt, snaplen_);
  const size_t need = pcapng_ ? pcapng_record_bytes(len.caplen) : pcap_record_bytes(len.caplen);
  RecordBlock* b = cur_;
  // A block never straddles two -G periods: the writer rotates at block granularity.
  const bool other_period =
      period_ns_ && b && b->records && (pkt.ts_ns < period_lo_ || pkt.ts_ns >= period_hi_);
  if (!b || need > b->room() || other_period) [[unlikely]] {
    b = next_block();
    if (!b) {
      // Writer behind and every block in flight: lose this packet, never wait for the disk.
      drops_.store(drops_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
      return;
    }
  }
  if (b->records == 0) {
    b->first_ts_ns = pkt.ts_ns;
    if (period_ns_) {
      b->period = pkt.ts_ns / period_ns_;
      period_lo_ = b->period * period_ns_;
      period_hi_ = period_lo_ + period_ns_;
    }
  }
  uint8_t* dst = b->data + b->used;
  b->used += pcapng_ ? encode_pcapng_record(dst, pkt, len) : encode_pcap_record(dst, pkt, len);
  b->records++;
  b->last_ts_ns = pkt.ts_ns;
  if (pkt.iface_id > b->max_iface_id) b->max_iface_id = pkt.iface_id;
}

RecordBlock* FileRingProducer::next_block() {
  seal();
  if (cur_) return cur_;  // an empty current block (seal() keeps it): reuse
  RecordBlock* b = nullptr;
  if (!free_->try_pop(b)) return nullptr;
  b->reset();
  cur_ = b;
  return b;
}

void FileRingProducer::seal() {
  if (!cur_ || cur_->records == 0) return;
  // Cannot fail: the ring holds as many slots as the worker has blocks.
  (void)full_->try_push(cur_);
  cur_ = nullptr;
}

void FileRingProducer::flush_if_idle(uint64_t now_ns) {
  RecordBlock* b = cur_;
  if (!b || b->records == 0) return;
  if (!b->flush_armed) {
    b->flush_armed = true;
    b->flush_start_ns = now_ns;
    return;
  }
  if (now_ns - b->flush_start_ns >= flush_ns_) seal();
}

}  // namespace xcap::sink
