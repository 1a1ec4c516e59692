#include "source/wake_channel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/epoll.h>

#include <ctime>

#include "common/error.h"
#include "common/monotonic_clock.h"

namespace xcap::source {
namespace {

int ignore_record(void*, void*, size_t) {
  return 0;  // the record only wakes; consuming it makes room
}

}  // namespace

Result<std::unique_ptr<WakeChannel>> WakeChannel::open(int rings_map_fd, xcap_wake* slot,
                                                       uint32_t queue) {
  const std::string what = "queue " + std::to_string(queue) + ": wake-up ring buffer";
  if (!slot) return make_error(ErrorKind::System, "cannot map the program's xcap_wake array");
  Fd ring(
      bpf_map_create(BPF_MAP_TYPE_RINGBUF, "xcap_wake_rb", 0, 0, XCAP_WAKE_RING_BYTES, nullptr));
  if (!ring.valid()) return errno_error("cannot create the " + what);
  const int fd = ring.get();
  if (bpf_map_update_elem(rings_map_fd, &queue, &fd, BPF_ANY) != 0)
    return errno_error("cannot register the " + what);
  std::unique_ptr<WakeChannel> self(new WakeChannel(std::move(ring), slot));
  self->ring_ = ring_buffer__new(fd, ignore_record, nullptr, nullptr);
  if (!self->ring_) return errno_error("cannot map the " + what);
  return self;
}

WakeChannel::~WakeChannel() {
  __atomic_store_n(&slot_->armed, 0, __ATOMIC_RELAXED);
  if (ring_) ring_buffer__free(ring_);
}

bool WakeChannel::nap(uint64_t ns) {
  slot_->pending = 0;
  __atomic_store_n(&slot_->armed, 1, __ATOMIC_RELEASE);
  const timespec ts = timespec_of_ns(ns);
  epoll_event ev{};
  const int n = epoll_pwait2(ring_buffer__epoll_fd(ring_), &ev, 1, &ts, nullptr);
  __atomic_store_n(&slot_->armed, 0, __ATOMIC_RELAXED);
  if (n <= 0) return false;
  ring_buffer__consume(ring_);
  return true;
}

}  // namespace xcap::source
