#include "bpf_loader/tc_egress.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

#include "common/log.h"

namespace xcap::bpf_loader {
namespace {

constexpr int kBpfTcxEgress = 47;  // BPF_TCX_EGRESS, missing from Debian 12's <linux/bpf.h>

// A kernel without tcx refuses the attach type; anything else (EPERM, EBUSY) is an error of
// its own and falls back all the same, the clsact attempt saying what it thinks.
Result<Fd> tcx_attach(int prog_fd, int ifindex) {
  int fd = bpf_link_create(prog_fd, ifindex, bpf_attach_type(kBpfTcxEgress), nullptr);
  if (fd < 0) return errno_error(-fd, "tcx egress");
  return Fd(fd);
}

}  // namespace

Result<std::unique_ptr<TcEgress>> TcEgress::attach(int prog_fd, int ifindex,
                                                   const std::string& ifname) {
  std::unique_ptr<TcEgress> self(new TcEgress());
  self->ifindex_ = ifindex;
  auto link = tcx_attach(prog_fd, ifindex);
  if (link) {
    self->link_ = std::move(link.value());
    return self;
  }
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex;
  hook.attach_point = BPF_TC_EGRESS;
  int rc = bpf_tc_hook_create(&hook);
  if (rc && rc != -EEXIST)
    return errno_error(-rc, "cannot attach to the TC egress of " + ifname + " (" +
                                link.error().message + "; clsact qdisc");
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.prog_fd = prog_fd;
  if ((rc = bpf_tc_attach(&hook, &opts)))
    return errno_error(-rc, "cannot attach to the TC egress of " + ifname + " (" +
                                link.error().message + "; clsact filter)");
  self->clsact_ = true;
  self->handle_ = opts.handle;
  self->priority_ = opts.priority;
  log_info("tcx is not available on %s (%s): egress attached as a clsact filter", ifname.c_str(),
           link.error().message.c_str());
  return self;
}

void TcEgress::detach() {
  link_.reset();
  if (!clsact_) return;
  clsact_ = false;
  bpf_tc_hook hook{};
  hook.sz = sizeof hook;
  hook.ifindex = ifindex_;
  hook.attach_point = BPF_TC_EGRESS;
  bpf_tc_opts opts{};
  opts.sz = sizeof opts;
  opts.handle = handle_;
  opts.priority = priority_;
  if (int rc = bpf_tc_detach(&hook, &opts); rc && rc != -ENOENT && rc != -ENODEV)
    log_error("%s", errno_error(-rc, "detaching the TC egress filter").message.c_str());
}

TcEgress::~TcEgress() {
  detach();
}

}  // namespace xcap::bpf_loader
