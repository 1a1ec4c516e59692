#include "source/ringbuf_source.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>

#include "common/tai_clock.h"
#include "source/local_record.h"

namespace xcap::source {
namespace {

// Room for a batch of full-size records and one more: the callback stops once the next record
// might not fit, since a record handed to it is gone from the ring.
constexpr size_t kMaxRecord = kLocalRecordHeader + XCAP_LOCAL_MAX_CAPLEN;
constexpr size_t kArenaBytes = 4u << 20;
constexpr int kStop = -1;  // any negative return ends ring_buffer__consume's walk

}  // namespace

RingbufSource::RingbufSource(const RingbufConfig& cfg) : cfg_(cfg), arena_(kArenaBytes) {
  tai_minus_utc_ns_ = sample_tai_minus_utc_ns();
}

Result<std::unique_ptr<RingbufSource>> RingbufSource::open(const RingbufConfig& cfg) {
  if (cfg.ring_fds.empty()) return invalid_input("no ring buffer to read");
  std::unique_ptr<RingbufSource> s(new RingbufSource(cfg));
  s->rb_ = ring_buffer__new(cfg.ring_fds.front(), &RingbufSource::on_record, s.get(), nullptr);
  if (!s->rb_) return errno_error("cannot map the ring buffer");
  for (size_t i = 1; i < cfg.ring_fds.size(); i++)
    if (int rc = ring_buffer__add(s->rb_, cfg.ring_fds[i], &RingbufSource::on_record, s.get()))
      return errno_error(-rc, "cannot map ring buffer " + std::to_string(i));
  return s;
}

RingbufSource::~RingbufSource() {
  if (rb_) ring_buffer__free(rb_);
}

int RingbufSource::on_record(void* self, void* data, size_t size) {
  return static_cast<RingbufSource*>(self)->take(data, size);
}

int RingbufSource::take(const void* data, size_t size) {
  PacketView& v = out_[n_];
  if (!decode_local_record(data, size, tai_minus_utc_ns_, v)) {
    bad_records_++;
    return 0;
  }
  uint8_t* dst = arena_.data() + used_;
  if (v.caplen) std::memcpy(dst, v.data, v.caplen);
  v.data = dst;
  used_ += v.caplen;
  n_++;
  return n_ < max_ && arena_.size() - used_ >= kMaxRecord ? 0 : kStop;
}

unsigned RingbufSource::receive(PacketView* out, unsigned max, int timeout_ms) {
  out_ = out;
  max_ = max;
  n_ = 0;
  used_ = 0;
  if (max == 0) return 0;
  ring_buffer__consume(rb_);
  if (n_ == 0 && timeout_ms > 0) {
    // Sleeps until the interval ends or a record forces a wake-up (and may drain then).
    ring_buffer__poll(rb_, std::min(timeout_ms, cfg_.poll_interval_ms));
    if (n_ < max_ && arena_.size() - used_ >= kMaxRecord) ring_buffer__consume(rb_);
  }
  return n_;
}

void RingbufSource::refresh_clock() {
  tai_minus_utc_ns_ = sample_tai_minus_utc_ns();
}

}  // namespace xcap::source
