// TcEgress: one BPF program attached to an interface's TC egress hook, detached when this
// object goes. tcx first (kernel 6.6+): a bpf_link made with bpf_link_create(prog, ifindex,
// BPF_TCX_EGRESS), since libbpf 1.1 has no bpf_program__attach_tcx; the link detaches when its
// fd closes, so a capture that dies leaves nothing behind, and other tcx programs run before
// and after it (multi-attach). Older kernels: a clsact qdisc filter (bpf_tc_hook_create +
// bpf_tc_attach, direct action), removed by the destructor; the qdisc is left, as others' filters
// may hang on it.
#pragma once

#include <memory>
#include <string>

#include "common/fd.h"
#include "common/result.h"

namespace xcap::bpf_loader {

class TcEgress {
 public:
  static Result<std::unique_ptr<TcEgress>> attach(int prog_fd, int ifindex,
                                                  const std::string& ifname);
  ~TcEgress();
  TcEgress(const TcEgress&) = delete;
  TcEgress& operator=(const TcEgress&) = delete;

  bool tcx() const { return link_.valid(); }
  void detach();  // idempotent

 private:
  TcEgress() = default;
  Fd link_;  // tcx
  int ifindex_ = 0;
  bool clsact_ = false;  // a clsact filter at (handle_, priority_)
  uint32_t handle_ = 0, priority_ = 0;
};

}  // namespace xcap::bpf_loader
