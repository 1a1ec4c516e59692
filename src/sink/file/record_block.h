// RecordBlock: a run of already-encoded records (pcap or pcapng) plus the metadata the writer
// needs to place it: how many records, how many bytes, the first record's time, and the
// -G period the records belong to. A block is owned by one side at a time: the worker fills
// it, then hands it to the writer through an SpscRing; the writer writes it and hands it back.
// The bytes live in a per-worker arena (BlockArena) allocated once at open.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace xcap::sink {

struct RecordBlock {
  uint8_t* data = nullptr;  // capacity bytes, page aligned, inside the worker's BlockArena
  size_t capacity = 0;
  size_t used = 0;            // bytes of encoded records at data
  uint32_t records = 0;       // number of records in [data, data + used)
  uint64_t first_ts_ns = 0;   // timestamp of the first record (UTC ns): names the file
  uint64_t period = 0;        // -G: first_ts_ns / (rotate_seconds * 1e9); 0 when not rotating
  uint32_t max_iface_id = 0;  // pcapng: highest interface id among the records
  uint32_t output = 0;        // split_by_source: the output (iface id) of every record; else 0
  // flush_if_idle bookkeeping: the caller's clock when a flush check first saw this block
  // non-empty (the clock is the caller's; append() has no clock, so the wait is measured
  // from the first check, not from the first record).
  uint64_t flush_start_ns = 0;
  bool flush_armed = false;

  void reset() {
    used = 0;
    records = 0;
    first_ts_ns = period = 0;
    max_iface_id = 0;
    output = 0;
    flush_start_ns = 0;
    flush_armed = false;
  }
  size_t room() const { return capacity - used; }
};

// The memory behind one worker's blocks: one anonymous mapping, populated up front so the
// worker never takes a page fault (a hidden syscall) the first time it fills a block.
class BlockArena {
 public:
  BlockArena() = default;
  ~BlockArena() {
    if (base_) munmap(base_, bytes_);
  }
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  Result<void> allocate(size_t bytes) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED)
      return errno_error("cannot allocate " + std::to_string(bytes) + " bytes of blocks");
    base_ = static_cast<uint8_t*>(p);
    bytes_ = bytes;
    return ok();
  }
  uint8_t* base() const { return base_; }

 private:
  uint8_t* base_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace xcap::sink
