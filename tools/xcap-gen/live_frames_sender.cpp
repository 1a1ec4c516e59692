#include "live_frames_sender.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "xcap_gen.skel.h"

namespace xcap::gen {
namespace {

// libbpf's info chatter would drown the one-line progress; keep its warnings and errors.
int libbpf_print(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG || level == LIBBPF_INFO) return 0;
  return vfprintf(stderr, fmt, ap);
}

size_t round_up(size_t n, size_t to) {
  return (n + to - 1) / to * to;
}

// True unless we are sure this is not the initial network namespace: it is one that
// `ip netns add` named (a bind mount under /run/netns), or differs from PID 1's (which a
// sandbox may hide). Since Linux 6.18 the initial one also has a fixed inode number.
bool in_initial_netns() {
  constexpr ino_t kInitNetIno = 0xEFFFFFF9;  // PROC_NET_INIT_INO
  struct stat self, other;
  if (stat("/proc/self/ns/net", &self) != 0) return true;
  if (self.st_ino == kInitNetIno) return true;
  if (DIR* d = opendir("/run/netns")) {
    bool named = false;
    while (dirent* e = readdir(d)) {
      std::string path = std::string("/run/netns/") + e->d_name;
      if (e->d_name[0] != '.' && stat(path.c_str(), &other) == 0 && other.st_ino == self.st_ino &&
          other.st_dev == self.st_dev)
        named = true;
    }
    closedir(d);
    if (named) return false;
  }
  if (stat("/proc/1/ns/net", &other) != 0) return true;
  return self.st_ino == other.st_ino && self.st_dev == other.st_dev;
}

}  // namespace

Result<std::unique_ptr<LiveFramesSender>> LiveFramesSender::open(const SenderConfig& c) {
  libbpf_set_print(libbpf_print);
  xcap_gen_bpf* skel = xcap_gen_bpf__open();
  if (!skel) return errno_error("opening the BPF program");
  std::unique_ptr<LiveFramesSender> s(new LiveFramesSender(skel));
  s->ifindex_ = c.ifindex;
  s->batch_size_ = c.batch_size;
  skel->rodata->tx_ifindex = uint32_t(c.ifindex);
  skel->rodata->seq_offset = c.stamp.seq_offset;
  skel->rodata->csum_offset = c.stamp.csum_offset;
  skel->rodata->csum_seed = c.stamp.csum_seed;
  skel->rodata->csum_odd = c.stamp.csum_odd;
  if (c.replay_slots) {
    // Slot: u32 length, u32 pad, then the bytes, rounded to 8 as the array stores it.
    s->replay_slot_len_ = 8 + round_up(c.replay_max_len, 8);
    skel->rodata->replay_data_max = uint32_t(s->replay_slot_len_ - 8);
    if (bpf_map__set_value_size(skel->maps.replay, uint32_t(s->replay_slot_len_)) ||
        bpf_map__set_max_entries(skel->maps.replay, c.replay_slots))
      return make_error(ErrorKind::System, "sizing the replay map failed");
    s->replay_seed_.assign(64, 0);
  }
  if (int err = xcap_gen_bpf__load(skel)) return errno_error(-err, "loading the BPF program");
  s->prog_fd_ = bpf_program__fd(skel->progs.xcap_gen_tx);
  if (c.replay_slots) {
    s->replay_mem_len_ = round_up(s->replay_slot_len_ * c.replay_slots, size_t(getpagesize()));
    void* m = mmap(nullptr, s->replay_mem_len_, PROT_READ | PROT_WRITE, MAP_SHARED,
                   bpf_map__fd(skel->maps.replay), 0);
    if (m == MAP_FAILED) return errno_error("mapping the replay map");
    s->replay_mem_ = static_cast<uint8_t*>(m);
  }
  s->park_in_dispatcher();
  return s;
}

// A test run with repeat > 1 adds the program to the kernel's XDP dispatcher and removes it
// when done; each change rewrites the dispatcher's code and waits for an RCU grace period,
// which measured 20-25 ms per call on the lab machines (a 2-frame call took as long as a
// 65536-frame one). A program already in the dispatcher only gains a user. So we keep one for
// our lifetime: attach the program, in generic mode through a bpf_link that dies with the
// process, to this namespace's loopback, where tx_ifindex makes it pass everything. Not in the
// initial namespace: its loopback carries real traffic, which generic XDP slows down (it
// copies cloned and non-linear skbs). There, or if lo is taken, calls stay slow and the send
// loop makes its chunks larger to keep the rate.
void LiveFramesSender::park_in_dispatcher() {
  if (in_initial_netns()) {
    park_note_ = "in the initial network namespace";
    return;
  }
  int lo = int(if_nametoindex("lo"));
  if (lo == 0 || lo == ifindex_) {  // sending out of lo: its own traffic would be bounced
    park_note_ = lo ? "sending out of lo" : "no loopback";
    return;
  }
  bpf_link_create_opts opts{};
  opts.sz = sizeof opts;
  opts.flags = XDP_FLAGS_SKB_MODE;
  int fd = bpf_link_create(prog_fd_, lo, BPF_XDP, &opts);
  if (fd >= 0)
    park_link_fd_ = fd;
  else
    park_note_ = errno_error("attaching to lo").message;
}

LiveFramesSender::~LiveFramesSender() {
  if (park_link_fd_ >= 0) close(park_link_fd_);
  if (replay_mem_) munmap(replay_mem_, replay_mem_len_);
  xcap_gen_bpf__destroy(skel_);
}

int LiveFramesSender::send(const Bytes& frame, uint32_t repeat) {
  const Bytes& data = replay_mem_ ? replay_seed_ : frame;
  // The kernel insists that ctx describe exactly the data it is given (data_end == size).
  xdp_md ctx{};
  ctx.data_end = uint32_t(data.size());
  ctx.ingress_ifindex = uint32_t(ifindex_);
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = data.data();
  opts.data_size_in = uint32_t(data.size());
  opts.ctx_in = &ctx;
  opts.ctx_size_in = sizeof ctx;
  opts.repeat = repeat;
  opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
  opts.batch_size = batch_size_;
  return bpf_prog_test_run_opts(prog_fd_, &opts) ? -errno : 0;
}

void LiveFramesSender::load_replay(const std::vector<Bytes>& frames, size_t first, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const Bytes& f = frames[first + i];
    uint8_t* slot = replay_mem_ + i * replay_slot_len_;
    uint32_t len = uint32_t(f.size());
    memcpy(slot, &len, sizeof len);
    memcpy(slot + 8, f.data(), f.size());
  }
  skel_->bss->replay_count = uint32_t(n);
  skel_->bss->replay_next = 0;
}

void LiveFramesSender::seek_replay(uint32_t slot) {
  skel_->bss->replay_next = slot;
}

uint64_t LiveFramesSender::frames_run() const {
  return skel_->bss->frames_run;
}
uint64_t LiveFramesSender::frames_failed() const {
  return skel_->bss->frames_failed;
}

}  // namespace xcap::gen
