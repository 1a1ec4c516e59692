#include "source/ringbuf_source.h"

#include <sys/epoll.h>

#include <algorithm>

#include "common/monotonic_clock.h"
#include "common/tai_clock.h"
#include "source/local_record.h"

namespace xcap::source {

RingbufSource::RingbufSource(const RingbufConfig& cfg) : cfg_(cfg) {
  tai_minus_utc_ns_ = sample_tai_minus_utc_ns();
}

Result<std::unique_ptr<RingbufSource>> RingbufSource::open(const RingbufConfig& cfg) {
  if (cfg.ring_fds.empty()) return invalid_input("no ring buffer to read");
  std::unique_ptr<RingbufSource> s(new RingbufSource(cfg));
  s->epoll_ = Fd(epoll_create1(EPOLL_CLOEXEC));
  if (!s->epoll_.valid()) return errno_error("epoll");
  for (int fd : cfg.ring_fds) {
    auto r = RingReader::open(fd);
    if (!r) return r.error();
    epoll_event ev{};
    ev.events = EPOLLIN;  // level-triggered: while records wait, or at a forced wake-up
    if (epoll_ctl(s->epoll_.get(), EPOLL_CTL_ADD, r->map_fd(), &ev))
      return errno_error("epoll: adding a ring buffer");
    s->rings_.push_back(std::move(r.value()));
  }
  return s;
}

unsigned RingbufSource::read(PacketView* out, unsigned max) {
  unsigned n = 0;
  for (size_t k = 0; k < rings_.size() && n < max; k++) {
    RingReader& ring = rings_[(first_ + k) % rings_.size()];
    size_t size = 0;
    while (n < max) {
      const uint8_t* rec = ring.next(&size);
      if (!rec) break;
      if (decode_local_record(rec, size, tai_minus_utc_ns_, out[n]))
        n++;
      else
        bad_records_++;
    }
  }
  first_ = (first_ + 1) % rings_.size();
  return n;
}

void RingbufSource::wait(int timeout_ms) {
  epoll_event ev[8];
  epoll_wait(epoll_.get(), ev, 8, std::min(timeout_ms, cfg_.poll_interval_ms));
}

bool RingbufSource::nap(uint64_t ns) {
  epoll_event ev[8];
  const timespec ts = timespec_of_ns(ns);
  return epoll_pwait2(epoll_.get(), ev, 8, &ts, nullptr) > 0;
}

unsigned RingbufSource::receive(PacketView* out, unsigned max, int timeout_ms) {
  unsigned n = read(out, max);
  if (n == 0 && timeout_ms > 0) {
    wait(timeout_ms);
    n = read(out, max);
  }
  return n;
}

void RingbufSource::release() {
  for (RingReader& r : rings_) r.commit();
}

void RingbufSource::refresh_clock() {
  tai_minus_utc_ns_ = sample_tai_minus_utc_ns();
}

}  // namespace xcap::source
