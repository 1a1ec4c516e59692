#include "source/ring_reader.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <sys/mman.h>
#include <unistd.h>

#include <utility>

namespace xcap::source {
namespace {

template <typename T>
T load_acquire(const void* p) {
  return __atomic_load_n(static_cast<const T*>(p), __ATOMIC_ACQUIRE);
}

}  // namespace

Result<RingReader> RingReader::open(int map_fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(map_fd, &info, &len)) return errno_error("ring buffer: map info");
  if (info.type != BPF_MAP_TYPE_RINGBUF) return invalid_input("not a ring buffer map");
  RingReader r;
  r.page_ = size_t(sysconf(_SC_PAGESIZE));
  r.size_ = info.max_entries;
  void* c = mmap(nullptr, r.page_, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
  if (c == MAP_FAILED) return errno_error("ring buffer: mapping its consumer page");
  r.consumer_page_ = static_cast<uint8_t*>(c);
  void* p = mmap(nullptr, r.page_ + 2 * r.size_, PROT_READ, MAP_SHARED, map_fd, off_t(r.page_));
  if (p == MAP_FAILED) return errno_error("ring buffer: mapping its data");
  r.producer_map_ = static_cast<uint8_t*>(p);
  r.pos_ = load_acquire<uint64_t>(r.consumer_page_);
  r.map_fd_ = map_fd;
  return r;
}

RingReader::RingReader(RingReader&& o) noexcept
    : consumer_page_(std::exchange(o.consumer_page_, nullptr)),
      producer_map_(std::exchange(o.producer_map_, nullptr)),
      page_(o.page_),
      size_(o.size_),
      pos_(o.pos_),
      map_fd_(o.map_fd_) {}

RingReader::~RingReader() {
  if (consumer_page_) munmap(consumer_page_, page_);
  if (producer_map_) munmap(producer_map_, page_ + 2 * size_);
}

const uint8_t* RingReader::next(size_t* size) {
  const uint64_t prod = load_acquire<uint64_t>(producer_map_);
  const uint8_t* data = producer_map_ + page_;
  while (pos_ < prod) {
    const uint8_t* hdr = data + (pos_ & (size_ - 1));
    const uint32_t len = load_acquire<uint32_t>(hdr);
    if (len & BPF_RINGBUF_BUSY_BIT) return nullptr;  // reserved, not yet submitted
    const uint32_t bytes = len & ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
    pos_ += (uint64_t(bytes) + BPF_RINGBUF_HDR_SZ + 7) & ~uint64_t{7};
    if (len & BPF_RINGBUF_DISCARD_BIT) continue;
    *size = bytes;
    return hdr + BPF_RINGBUF_HDR_SZ;
  }
  return nullptr;
}

void RingReader::commit() {
  __atomic_store_n(reinterpret_cast<uint64_t*>(consumer_page_), pos_, __ATOMIC_RELEASE);
}

}  // namespace xcap::source
