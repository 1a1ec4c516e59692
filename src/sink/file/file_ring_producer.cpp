// The worker side of the file ring: encode records straight into the current block of their
// output, seal full blocks onto the writer's ring, take fresh ones from the free ring, drop
// when none.
//
// Outputs: without split_by_source every record goes to output 0 and this is one current
// block. With it, each iface id is an output with its own current block (a block holds the
// records of one output only, so the writer can put it in that output's file). active_ lists
// the outputs that hold a block, so seal() and flush_if_idle() cost O(blocks held), not
// O(ids ever seen). A block held by one source is unavailable to the others: when a worker
// takes its last free block, it seals the fullest block another output holds, so blocks keep
// flowing back through the writer even with more live sources than blocks.
#include "sink/file/file_namer.h"
#include "sink/file/file_ring.h"
#include "sink/file/pcap_format.h"
#include "sink/file/record_block.h"
#include "sink/file/spsc_ring.h"

namespace xcap::sink {

FileRingProducer::FileRingProducer(BlockRing* full, BlockRing* free, Doorbell* bell,
                                   const FileRingConfig& cfg)
    : full_(full),
      free_(free),
      bell_(bell),
      outs_(1),
      split_(cfg.split_by_source),
      snaplen_(cfg.snaplen),
      pcapng_(cfg.format == FileFormat::Pcapng),
      period_ns_(cfg.rotate_seconds ? period_ns(cfg.rotate_seconds) : 0),
      flush_ns_(cfg.flush_ns) {
  // Every active output holds one of the worker's blocks: active_ never outgrows this.
  active_.reserve(cfg.blocks_per_worker);
}

void FileRingProducer::append(const PacketView& pkt) {
  const RecordLengths len = record_lengths(pkt, snaplen_);
  const size_t need =
      pcapng_ ? pcapng_record_bytes(len.caplen, pkt.direction) : pcap_record_bytes(len.caplen);
  const uint32_t id = split_ ? pkt.iface_id : 0;
  if (id >= outs_.size()) [[unlikely]]
    grow(id);
  Output* o = &outs_[id];
  RecordBlock* b = o->cur;
  // A block never straddles two -G periods: the writer rotates at block granularity.
  const bool other_period =
      period_ns_ && b && b->records && (pkt.ts_ns < o->period_lo || pkt.ts_ns >= o->period_hi);
  if (!b || need > b->room() || other_period) [[unlikely]] {
    b = next_block(id);
    if (!b) {
      // Writer behind and every block in flight: lose this packet, never wait for the disk.
      drop();
      return;
    }
  }
  if (b->records == 0) {
    b->first_ts_ns = pkt.ts_ns;
    if (period_ns_) {
      b->period = pkt.ts_ns / period_ns_;
      o->period_lo = b->period * period_ns_;
      o->period_hi = o->period_lo + period_ns_;
    }
  }
  uint8_t* dst = b->data + b->used;
  b->used += pcapng_ ? encode_pcapng_record(dst, pkt, len) : encode_pcap_record(dst, pkt, len);
  b->records++;
  if (pkt.iface_id > b->max_iface_id) b->max_iface_id = pkt.iface_id;
}

void FileRingProducer::grow(uint32_t out) {
  outs_.resize(size_t{out} + 1);  // the only allocation: once per new output id
}

RecordBlock* FileRingProducer::next_block(uint32_t out) {
  seal_output(out);
  Output& o = outs_[out];
  if (o.cur) return o.cur;  // an empty current block (seal_output() keeps it): reuse
  RecordBlock* b = nullptr;
  if (!free_->try_pop(b)) {
    // Blocks held by other sources come back only after the writer wrote them: hand one
    // over now so the next packet finds a block.
    if (split_) seal_fullest_except(out);
    return nullptr;
  }
  b->reset();
  b->output = out;
  o.cur = b;
  o.active_pos = static_cast<uint32_t>(active_.size());
  active_.push_back(out);  // within the reserved capacity
  // That was the last free block: release one held by another source before anyone drops.
  if (split_ && active_.size() > 1 && free_->size_approx() == 0) seal_fullest_except(out);
  return b;
}

void FileRingProducer::hand_off(RecordBlock* b) {
  // Cannot fail: the ring holds as many slots as the worker has blocks.
  (void)full_->try_push(b);
  bell_->ring();
}

void FileRingProducer::seal_output(uint32_t out) {
  Output& o = outs_[out];
  if (!o.cur || o.cur->records == 0) return;
  hand_off(o.cur);
  o.cur = nullptr;
  const uint32_t last = active_.back();
  active_[o.active_pos] = last;
  outs_[last].active_pos = o.active_pos;
  active_.pop_back();
}

void FileRingProducer::seal_fullest_except(uint32_t out) {
  uint32_t best = out;
  size_t best_used = 0;
  for (uint32_t id : active_) {
    const RecordBlock* b = outs_[id].cur;
    if (id != out && b->records && b->used > best_used) {
      best = id;
      best_used = b->used;
    }
  }
  if (best != out) seal_output(best);
}

void FileRingProducer::seal() {
  // Keeps (and compacts) the outputs whose block is empty; seals the others.
  size_t keep = 0;
  for (size_t i = 0; i < active_.size(); ++i) {
    const uint32_t id = active_[i];
    Output& o = outs_[id];
    if (o.cur->records) {
      hand_off(o.cur);
      o.cur = nullptr;
    } else {
      o.active_pos = static_cast<uint32_t>(keep);
      active_[keep++] = id;
    }
  }
  active_.resize(keep);  // shrinks: no allocation
}

void FileRingProducer::flush_if_idle(uint64_t now_ns) {
  size_t keep = 0;
  for (size_t i = 0; i < active_.size(); ++i) {
    const uint32_t id = active_[i];
    Output& o = outs_[id];
    RecordBlock* b = o.cur;
    if (b->records) {
      if (!b->flush_armed) {
        b->flush_armed = true;
        b->flush_start_ns = now_ns;
      } else if (now_ns - b->flush_start_ns >= flush_ns_) {
        hand_off(b);
        o.cur = nullptr;
        continue;
      }
    }
    o.active_pos = static_cast<uint32_t>(keep);
    active_[keep++] = id;
  }
  active_.resize(keep);
}

}  // namespace xcap::sink
