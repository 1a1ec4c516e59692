// Pipeline's local-mode steps (--mode local, copy and pass): see pipeline.h.
#include <algorithm>
#include <thread>

#include "common/capabilities.h"
#include "common/log.h"
#include "pipeline/pipeline.h"

namespace xcap::pipeline {

Result<void> Pipeline::acquire_local_interfaces() {
  // The ring buffers are locked memory; no AF_XDP socket, so no CAP_NET_RAW.
  const uint64_t rings =
      uint64_t(opt_.local_ifaces.size()) * opt_.ringbuf_bytes *
      (opt_.ringbuf_per_cpu ? std::max(1u, std::thread::hardware_concurrency()) : 1);
  if (auto r = check_capture_capabilities(rings, /*af_xdp=*/false); !r) return r.error();
  if (auto r = bpf_loader::ensure_bpffs(); !r) return r.error();
  for (size_t i = 0; i < opt_.local_ifaces.size(); i++) {
    const std::string& name = opt_.local_ifaces[i];
    auto lock = bpf_loader::InterfaceLock::acquire(name, bpf_loader::InterfaceLock::default_dir());
    if (!lock) return lock.error();
    local_locks_.push_back(std::move(lock.value()));
    if (auto r = bpf_loader::remove_stale_programs(opt_.local_ifindexes[i], name); !r)
      return r.error();
  }
  return ok();
}

// One LocalProgram per interface, then the filter in both of its programs. Where the kernel
// cannot run the filter, the workers still do: only the cost differs.
Result<void> Pipeline::attach_local() {
  for (size_t i = 0; i < opt_.local_ifaces.size(); i++) {
    bpf_loader::LocalProgramOptions lo;
    lo.ifname = opt_.local_ifaces[i];
    lo.ifindex = opt_.local_ifindexes[i];
    lo.snaplen = opt_.snaplen;
    lo.ring_bytes = opt_.ringbuf_bytes;
    lo.per_cpu = opt_.ringbuf_per_cpu;
    lo.xdp_mode = opt_.xdp_mode;
    auto prog = bpf_loader::LocalProgram::attach(lo);
    if (!prog) return prog.error().context("--mode local on " + lo.ifname);
    if (self_port_)
      if (auto r = (*prog)->set_self_endpoint(self_address_, self_port_); !r) return r.error();
    local_.push_back(std::move(prog.value()));
  }
  if (!opt_.filter) return ok();
  const char* expr = opt_.filter->expression().c_str();
  for (auto& p : local_) {
    const char* name = p->options().ifname.c_str();
    if (auto r = p->replace_filter(opt_.filter->ethernet().instructions()); r)
      log_info("filter \"%s\" runs in the kernel on %s (XDP and TC) and in the worker", expr, name);
    else
      log_info("filter \"%s\" on %s: in the worker only where the kernel refused it: %s", expr,
               name, r.error().message.c_str());
  }
  return ok();
}

Result<void> Pipeline::open_rings() {
  for (size_t i = 0; i < local_.size(); i++) {
    source::RingbufConfig rc;
    rc.ring_fds = local_[i]->ring_fds();
    rc.queue = uint32_t(i);
    auto s = source::RingbufSource::open(rc);
    if (!s) return s.error().context(opt_.local_ifaces[i]);
    QueuePipeline qp;
    qp.ring = s->get();
    qp.iface = opt_.local_ifaces[i];
    qp.source = std::move(s.value());
    queues_.push_back(std::move(qp));
  }
  return ok();
}

Result<void> Pipeline::arm_local() {
  for (auto& p : local_)
    if (auto r = p->start_capturing(); !r) return r.error();
  std::string names;
  for (const std::string& n : opt_.local_ifaces) names += (names.empty() ? "" : ", ") + n;
  log_info(
      "capturing on %s: local mode (copy and pass, both directions), %s ring buffer%s of "
      "%u KiB, decap %s",
      names.c_str(), opt_.ringbuf_per_cpu ? "per-CPU" : "one", opt_.ringbuf_per_cpu ? "s" : "",
      opt_.ringbuf_bytes >> 10, std::string(to_string(opt_.decap)).c_str());
  return ok();
}

void Pipeline::detach_programs() {
  if (prog_) prog_->detach();
  for (auto& p : local_) p->detach();
}

Result<void> Pipeline::replace_kernel_filter(std::span<const CbpfInsn> ethernet_program) {
  if (prog_) return prog_->replace_xdp_filter(ethernet_program);
  std::string why;
  for (auto& p : local_)
    if (auto r = p->replace_filter(ethernet_program); !r)
      why += (why.empty() ? "" : "; ") + p->options().ifname + ": " + r.error().message;
  if (why.empty()) return ok();
  return make_error(ErrorKind::System, why);
}

void Pipeline::local_snapshot(metrics::CaptureSnapshot& s) const {
  for (const auto& p : local_) {
    metrics::LocalSnapshot l;
    l.iface = p->options().ifname;
    l.counters = p->counters().v;
    s.local.push_back(std::move(l));
  }
}

}  // namespace xcap::pipeline
