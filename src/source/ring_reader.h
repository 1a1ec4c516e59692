// RingReader: one BPF ring buffer (BPF_MAP_TYPE_RINGBUF) read in place. The ring's pages are
// mapped as libbpf maps them (consumer page read-write, producer page and data read-only, the
// data twice in a row so a record that wraps is contiguous), but a record is handed out as a
// pointer into the ring, not copied: the kernel may reuse its space only after commit(), which
// publishes the consumer position. So the worker's views stay valid until the source's
// release(), and the ring itself is the batch buffer (libbpf's ring_buffer__consume frees
// each record as its callback returns, which forces a copy).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/result.h"

namespace xcap::source {

class RingReader {
 public:
  static Result<RingReader> open(int map_fd);
  RingReader(RingReader&& o) noexcept;
  RingReader& operator=(RingReader&&) = delete;
  RingReader(const RingReader&) = delete;
  ~RingReader();

  // The next complete record after those already read (not yet committed): its bytes, or
  // nullptr when none is complete now. Records the producer discarded are skipped.
  const uint8_t* next(size_t* size);
  // Gives back every record read so far.
  void commit();
  int map_fd() const { return map_fd_; }  // for epoll: readable while records wait

 private:
  RingReader() = default;
  uint8_t* consumer_page_ = nullptr;  // consumer_pos at offset 0
  uint8_t* producer_map_ = nullptr;   // producer_pos at offset 0, data from one page on
  size_t page_ = 0, size_ = 0;        // page size; ring data size (a power of two)
  uint64_t pos_ = 0;                  // read up to here (>= the published consumer position)
  int map_fd_ = -1;                   // not owned
};

}  // namespace xcap::source
