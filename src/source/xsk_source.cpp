#include "source/xsk_source.h"

#include <bpf/bpf.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <xdp/xsk.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <thread>

#include "common/log.h"
#include "source/xsk_batch.h"
#include "source/xsk_frame.h"
#include "xcap_abi.h"

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

namespace xcap::source {

struct XskSource::Rings {
  xsk_ring_prod fill;
  xsk_ring_cons comp;
  xsk_ring_cons rx;
  ChainScratch scratch;
};

namespace {

int64_t clock_ns(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Binding a queue right after the previous socket on it closed can fail with EBUSY while the
// kernel finishes tearing it down: retry for a while before giving up.
int create_socket_with_retry(xsk_socket** xsk, const XskConfig& cfg, xsk_umem* umem,
                             xsk_ring_cons* rx, const xsk_socket_config& sc) {
  int rc = 0;
  for (int attempt = 0; attempt < 20; attempt++) {
    rc = xsk_socket__create(xsk, cfg.ifname.c_str(), cfg.queue, umem, rx, nullptr, &sc);
    if (rc != -EBUSY) return rc;
    std::this_thread::sleep_for(std::chrono::milliseconds(50 << std::min(attempt, 4)));
  }
  return rc;
}

bool kernel_at_least(unsigned major, unsigned minor) {
  utsname u{};
  unsigned ma = 0, mi = 0;
  if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &ma, &mi) != 2) return false;
  return ma > major || (ma == major && mi >= minor);
}

// The UMEM's memory: anonymous, populated, and backed by transparent huge pages where the
// kernel gives them (madvise mode is enough). The worker touches every frame's metadata in a
// different 2 KiB slot of a 64 MiB area: with 4 KiB pages nearly every frame is a TLB miss,
// and a page walk under virtualization is where a profile at 200 kpps found three quarters
// of the receive loop's time (bench/cpu_per_packet: 8% less process CPU, and a cheaper
// kernel copy too). nullptr (errno set) when even plain pages cannot be had.
void* map_umem(size_t bytes) {
  constexpr size_t kHuge = 2u << 20;
  if (bytes >= kHuge) {
    // Reserve a huge page more, so the area can start on a 2 MiB boundary.
    void* raw =
        mmap(nullptr, bytes + kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw != MAP_FAILED) {
      auto start = reinterpret_cast<uintptr_t>(raw);
      const uintptr_t aligned = (start + kHuge - 1) & ~(kHuge - 1);
      if (aligned > start) munmap(raw, aligned - start);
      const uintptr_t end = aligned + bytes, raw_end = start + bytes + kHuge;
      if (raw_end > end) munmap(reinterpret_cast<void*>(end), raw_end - end);
      void* area = reinterpret_cast<void*>(aligned);
      madvise(area, bytes, MADV_HUGEPAGE);  // advice: without THP the pages stay small
      memset(area, 0, bytes);               // populate now, not on the first packets
      return area;
    }
  }
  void* area = mmap(nullptr, bytes, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
  return area == MAP_FAILED ? nullptr : area;
}

}  // namespace

// The UMEM (every frame on the fill ring before bind, so the first burst finds room).
Result<void> XskSource::create_umem() {
  Rings& r = *rings_;
  umem_bytes_ = size_t(cfg_.fill_size) * cfg_.frame_size;
  void* area = map_umem(umem_bytes_);
  if (!area)
    return errno_error("queue " + std::to_string(cfg_.queue) + ": cannot map UMEM of " +
                       std::to_string(umem_bytes_ >> 20) + " MiB");
  umem_area_ = area;
  xsk_umem_config uc{};
  uc.fill_size = cfg_.fill_size;
  uc.comp_size = 64;  // receive only: nothing is transmitted
  uc.frame_size = cfg_.frame_size;
  uc.frame_headroom = 0;
  uc.flags = 0;
  if (int rc = xsk_umem__create(&umem_, area, umem_bytes_, &r.fill, &r.comp, &uc))
    return errno_error(-rc, "queue " + std::to_string(cfg_.queue) + ": cannot register UMEM");
  uint32_t idx = 0;
  if (xsk_ring_prod__reserve(&r.fill, cfg_.fill_size, &idx) != cfg_.fill_size)
    return make_error(ErrorKind::System, "cannot populate the fill ring");
  for (uint32_t i = 0; i < cfg_.fill_size; i++)
    *xsk_ring_prod__fill_addr(&r.fill, idx + i) = uint64_t(i) * cfg_.frame_size;
  xsk_ring_prod__submit(&r.fill, cfg_.fill_size);
  return ok();
}

// Binds the first mode the kernel and driver take. Zero-copy where the driver has it; copy
// mode otherwise (veth, skb mode). Multi-buffer (XDP_USE_SG) where the kernel (6.6+) and, for
// zero-copy, the driver have it. When the MTU outgrows a UMEM frame, whole jumbo frames matter
// more than zero-copy: copy mode with multi-buffer comes before zero-copy without it.
Result<void> XskSource::bind_socket() {
  xsk_socket_config sc{};
  sc.rx_size = cfg_.rx_size;
  sc.tx_size = 0;
  sc.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // our own program is attached
  sc.xdp_flags = cfg_.skb_mode ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
  const uint16_t zc = XDP_USE_NEED_WAKEUP | XDP_ZEROCOPY, copy = XDP_USE_NEED_WAKEUP | XDP_COPY;
  const uint16_t sg = cfg_.multi_buffer ? XDP_USE_SG : 0;
  const bool jumbo = cfg_.mtu == 0 || cfg_.mtu + kL2Overhead > single_frame_bytes();
  std::vector<uint16_t> tries;
  if (cfg_.skb_mode)
    tries = {uint16_t(copy | sg), copy};
  else if (jumbo)
    tries = {uint16_t(zc | sg), uint16_t(copy | sg), zc, copy};
  else
    tries = {uint16_t(zc | sg), zc, uint16_t(copy | sg), copy};
  int rc = -EOPNOTSUPP;
  std::string sg_error = cfg_.multi_buffer ? "" : "turned off (XCAP_MULTI_BUFFER=off)";
  for (size_t t = 0; t < tries.size() && rc != 0; t++) {
    if (t > 0 && tries[t] == tries[t - 1]) continue;  // without sg the pairs coincide
    sc.bind_flags = tries[t];
    rc = create_socket_with_retry(&xsk_, cfg_, umem_, &rings_->rx, sc);
    if (rc == 0) {
      zero_copy_ = tries[t] & XDP_ZEROCOPY;
      multi_buffer_ = tries[t] & XDP_USE_SG;
    } else if (tries[t] & XDP_USE_SG) {
      sg_error =
          errno_error(-rc, std::string(tries[t] & XDP_ZEROCOPY ? "zero-copy" : "copy") + " mode")
              .message +
          (rc == -EINVAL ? " (kernel older than 6.6?)" : "");
      // Copy mode takes XDP_USE_SG on any driver since 6.6: EINVAL there is an older kernel.
      if (!(tries[t] & XDP_ZEROCOPY) && rc == -EINVAL) kernel_linear_only_ = true;
    }
  }
  if (!multi_buffer_ && !kernel_at_least(6, 6)) kernel_linear_only_ = true;
  // For the start-up line: the last refused multi-buffer bind, or why none was tried.
  if (!multi_buffer_) multi_buffer_error_ = sg_error.empty() ? "not offered" : sg_error;
  if (rc == 0) return ok();
  Error e = errno_error(-rc, "cannot bind an AF_XDP socket to " + cfg_.ifname + " queue " +
                                 std::to_string(cfg_.queue));
  if (rc == -EBUSY) e.message += " (is another AF_XDP program using this queue?)";
  return e;
}

// A hint to the kernel: without it the socket works, interrupt-driven. Said, not fatal.
void XskSource::enable_busy_poll(int fd) const {
  int one = 1, usec = 20, budget = 256;
  if (setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof one) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof usec) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof budget) != 0)
    log_info("%s", errno_error("queue " + std::to_string(cfg_.queue) + ": busy polling not enabled")
                       .message.c_str());
}

Result<std::unique_ptr<XskSource>> XskSource::open(const XskConfig& cfg, int xsks_map_fd) {
  if (cfg.fill_size < cfg.rx_size)
    return invalid_input("the fill ring must be at least as large as the RX ring");
  std::unique_ptr<XskSource> self(new XskSource(cfg));
  self->rings_ = std::make_unique<Rings>();
  if (auto r = self->create_umem(); !r) return r.error();
  if (auto r = self->bind_socket(); !r) return r.error();
  const int fd = xsk_socket__fd(self->xsk_);
  if (cfg.busy_poll) self->enable_busy_poll(fd);
  if (self->multi_buffer_) {
    self->scratch_mem_.resize(kChainScratchBytes);
    self->rings_->scratch.data = self->scratch_mem_.data();
    self->rings_->scratch.size = self->scratch_mem_.size();
  }
  uint32_t key = cfg.queue;
  if (bpf_map_update_elem(xsks_map_fd, &key, &fd, BPF_ANY) != 0)
    return errno_error("cannot register the socket of queue " + std::to_string(cfg.queue) +
                       " in the XSKMAP");
  self->refresh_clock();
  log_debug("queue %u: AF_XDP socket bound (%s%s), UMEM %zu MiB", cfg.queue,
            self->zero_copy_ ? "zero-copy" : "copy", self->multi_buffer_ ? ", multi-buffer" : "",
            self->umem_bytes_ >> 20);
  return self;
}

XskSource::XskSource(const XskConfig& cfg) : cfg_(cfg) {}

XskSource::~XskSource() {
  if (xsk_) xsk_socket__delete(xsk_);  // the kernel removes it from the XSKMAP
  if (umem_) xsk_umem__delete(umem_);
  if (umem_area_) munmap(umem_area_, umem_bytes_);
}

int XskSource::fd() const {
  return xsk_socket__fd(xsk_);
}

void XskSource::refresh_clock() {
  // Sample REALTIME between two TAI reads so the offset is exact to the syscall cost.
  int64_t a = clock_ns(CLOCK_TAI), u = clock_ns(CLOCK_REALTIME), b = clock_ns(CLOCK_TAI);
  tai_minus_utc_ns_ = (a + (b - a) / 2) - u;
}

uint32_t XskSource::single_frame_bytes() const {
  return cfg_.frame_size - kXdpPacketHeadroom;
}

uint32_t XskSource::max_frame() const {
  return multi_buffer_ ? kMaxFrameBytes : single_frame_bytes();
}

unsigned XskSource::receive(PacketView* out, unsigned max, int timeout_ms) {
  Rings& r = *rings_;
  release();  // a batch that yielded no view (only too-big chains) is still held
  // With multi-buffer, peek beyond max so a chain that starts in the last slot can end.
  const unsigned want = multi_buffer_ ? max + kMaxChainDescs : max;
  uint32_t idx = 0;
  unsigned n = peek_rx(r.rx, want, &idx, r.scratch);
  if (n == 0) {
    if (xsk_ring_prod__needs_wakeup(&r.fill))
      recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
    if (timeout_ms > 0) {
      pollfd p{fd(), POLLIN, 0};
      poll(&p, 1, timeout_ms);
    }
    n = peek_rx(r.rx, want, &idx, r.scratch);
    if (n == 0) return 0;
  }
  const RxBatch b = views_from_rx(r.rx, idx, n, max, static_cast<const uint8_t*>(umem_area_),
                                  tai_minus_utc_ns_, out, r.scratch);
  if (b.descs < n) unpeek(r.rx, n - b.descs, r.scratch);  // the next batch's
  held_ = b.descs;
  held_idx_ = idx;
  if (b.missing_meta) missing_meta_.add(b.missing_meta);
  if (b.too_big) too_big_.add(b.too_big);
  if (b.views == 0) release();  // the caller releases only batches that gave it views
  return b.views;
}

void XskSource::release() {
  if (!held_) return;
  Rings& r = *rings_;
  while (!refill_from_rx(r.fill, r.rx, held_idx_, held_, cfg_.frame_size)) {
    if (xsk_ring_prod__needs_wakeup(&r.fill))
      recvfrom(fd(), nullptr, 0, MSG_DONTWAIT, nullptr, nullptr);
  }
  xsk_ring_cons__release(&r.rx, held_);
  held_ = 0;
}

XskKernelStats XskSource::kernel_stats() const {
  xdp_statistics st{};
  socklen_t len = sizeof st;
  XskKernelStats out;
  if (getsockopt(fd(), SOL_XDP, XDP_STATISTICS, &st, &len) != 0) return out;
  out.rx_dropped = st.rx_dropped;
  out.rx_invalid_descs = st.rx_invalid_descs;
  out.rx_ring_full = st.rx_ring_full;
  out.fill_ring_empty_events = st.rx_fill_ring_empty_descs;
  return out;
}

}  // namespace xcap::source
