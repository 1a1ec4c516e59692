#include "live_frames_sender.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

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

}  // namespace

Result<std::unique_ptr<LiveFramesSender>> LiveFramesSender::open(int ifindex,
                                                                 const StampPlan& stamp,
                                                                 uint32_t batch_size) {
  libbpf_set_print(libbpf_print);
  xcap_gen_bpf* skel = xcap_gen_bpf__open();
  if (!skel) return make_error(std::string("opening the BPF program: ") + strerror(errno));
  skel->rodata->seq_offset = stamp.seq_offset;
  skel->rodata->csum_offset = stamp.csum_offset;
  skel->rodata->csum_seed = stamp.csum_seed;
  skel->rodata->csum_odd = stamp.csum_odd;
  if (int err = xcap_gen_bpf__load(skel)) {
    xcap_gen_bpf__destroy(skel);
    return make_error(std::string("loading the BPF program: ") + strerror(-err));
  }
  std::unique_ptr<LiveFramesSender> s(new LiveFramesSender(skel, ifindex, batch_size));
  s->prog_fd_ = bpf_program__fd(skel->progs.xcap_gen_tx);
  return s;
}

LiveFramesSender::~LiveFramesSender() {
  xcap_gen_bpf__destroy(skel_);
}

int LiveFramesSender::send(const Bytes& frame, uint32_t repeat) {
  // The kernel insists that ctx describe exactly the data it is given (data_end == size).
  xdp_md ctx{};
  ctx.data_end = uint32_t(frame.size());
  ctx.ingress_ifindex = uint32_t(ifindex_);
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = frame.data();
  opts.data_size_in = uint32_t(frame.size());
  opts.ctx_in = &ctx;
  opts.ctx_size_in = sizeof ctx;
  opts.repeat = repeat;
  opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
  opts.batch_size = batch_size_;
  return bpf_prog_test_run_opts(prog_fd_, &opts) ? -errno : 0;
}

uint64_t LiveFramesSender::frames_run() const {
  return skel_->bss->frames_run;
}

}  // namespace xcap::gen
