// Includes the skeleton (and with it <linux/bpf.h>): never <pcap/pcap.h> here.
#include "bpf_loader/local_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <net/if.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>

#include "bpf_loader/program_state.h"
#include "bpf_loader/xdp_filter_install.h"
#include "common/log.h"
#include "filter/xdp_filter_translator.h"
#include "xcap_abi.h"  // before the skeleton, which names its structs

#include "xcap_local.skel.h"

namespace xcap::bpf_loader {
namespace {

int quiet_libbpf(libbpf_print_level, const char* fmt, va_list ap) {
  return log_level() < LogLevel::Debug ? 0 : vfprintf(stderr, fmt, ap);
}
int quiet_libxdp(libxdp_print_level, const char* fmt, va_list ap) {
  return log_level() < LogLevel::Debug ? 0 : vfprintf(stderr, fmt, ap);
}

Error libxdp_error(int rc, std::string what) {
  char buf[256];
  libxdp_strerror(rc, buf, sizeof buf);
  return Error{kind_of_errno(-rc), -rc, std::move(what) + ": " + buf};
}

template <typename Change>
Result<void> update_bss(::xcap_local_bpf* skel, Change change) {
  const int fd = bpf_map__fd(skel->maps.bss);
  const uint32_t key = 0;
  xcap_local_bpf::xcap_local_bpf__bss bss{};
  if (bpf_map_lookup_elem(fd, &key, &bss) != 0)
    return errno_error("reading the local-mode program's .bss");
  change(bss);
  if (bpf_map_update_elem(fd, &key, &bss, BPF_ANY) != 0)
    return errno_error("writing the local-mode program's .bss");
  return ok();
}

unsigned possible_cpus() {
  const int n = libbpf_num_possible_cpus();
  return n > 0 ? unsigned(n) : 1;
}

}  // namespace

// The options into .rodata and the map sizes, then the object to libxdp.
Result<void> LocalProgram::open() {
  skel_ = xcap_local_bpf__open();
  if (!skel_) return errno_error("cannot open the local-mode BPF object");
  auto& cfg = skel_->rodata->xcap_local_cfg;
  cfg.snaplen = opts_.snaplen < XCAP_LOCAL_MAX_CAPLEN ? opts_.snaplen : XCAP_LOCAL_MAX_CAPLEN;
  cfg.per_cpu = opts_.per_cpu;
  cfg.wakeup_bytes = opts_.ring_bytes / 4;  // a quarter full: wake the consumer now
  const unsigned cpus = possible_cpus();
  if (cpus > XCAP_LOCAL_MAX_CPUS)
    return make_error(ErrorKind::Unsupported, std::to_string(cpus) + " CPUs: local mode takes " +
                                                  std::to_string(XCAP_LOCAL_MAX_CPUS));
  if (auto r = create_rings(); !r) return r;
  // The first ring is the template of xcap_local_rings' entries (their size).
  if (int rc = bpf_map__set_inner_map_fd(skel_->maps.xcap_local_rings, rings_.front().get()))
    return errno_error(-rc, "cannot size the local-mode ring buffers");
  prog_ = xdp_program__from_bpf_obj(skel_->obj, "xdp.frags");
  if (long e = libxdp_get_error(prog_)) {
    prog_ = nullptr;
    return libxdp_error(int(e), "libxdp cannot use the local-mode XDP program");
  }
  if (int rc = xdp_program__set_xdp_frags_support(prog_, true))
    return libxdp_error(rc, "libxdp cannot mark the XDP program multi-buffer");
  return ok();
}

Result<void> LocalProgram::attach_xdp() {
  std::vector<XdpMode> tries = {opts_.xdp_mode};
  if (opts_.xdp_mode == XdpMode::Auto) tries = {XdpMode::Native, XdpMode::Skb};
  std::string errors;
  for (XdpMode m : tries) {
    int rc = xdp_program__attach(prog_, opts_.ifindex,
                                 m == XdpMode::Skb ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
    if (rc == 0) {
      mode_ = m;
      xdp_attached_ = true;
      break;
    }
    errors += (errors.empty() ? "" : "; ") + libxdp_error(rc, to_string(m)).message;
  }
  if (!xdp_attached_)
    return make_error(ErrorKind::System,
                      "cannot attach XDP to " + opts_.ifname + " (" + errors + ")");
  bool dispatcher = false;
  if (xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(opts_.ifindex);
      mp && !libxdp_get_error(mp)) {
    dispatcher = !xdp_multiprog__is_legacy(mp);
    xdp_multiprog__close(mp);
  }
  log_info("local mode: XDP (ingress) attached to %s in %s mode (%s)", opts_.ifname.c_str(),
           mode_ == XdpMode::Native ? "native" : "skb",
           dispatcher ? "libxdp dispatcher"
                      : "single program: libxdp's dispatcher is not available here");
  return ok();
}

// The ring buffers: one, or one per CPU.
Result<void> LocalProgram::create_rings() {
  const unsigned n = opts_.per_cpu ? possible_cpus() : 1;
  for (uint32_t i = 0; i < n; i++) {
    const std::string name = "xcap_ring" + std::to_string(i);
    int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, name.c_str(), 0, 0, opts_.ring_bytes, nullptr);
    if (fd < 0)
      return errno_error(
          -fd, "cannot create a ring buffer of " + std::to_string(opts_.ring_bytes) + " bytes");
    rings_.emplace_back(fd);
  }
  return ok();
}

// The rings into xcap_local_rings; the copy programs into their prog arrays' slot.
Result<void> LocalProgram::make_rings() {
  const int outer = bpf_map__fd(skel_->maps.xcap_local_rings);
  for (uint32_t i = 0; i < rings_.size(); i++) {
    const int fd = rings_[i].get();
    if (bpf_map_update_elem(outer, &i, &fd, BPF_ANY))
      return errno_error("cannot put ring buffer " + std::to_string(i) + " in place");
  }
  const uint32_t slot = XCAP_LOCAL_SLOT_COPY;
  const int in_copy = bpf_program__fd(skel_->progs.xcap_local_in_copy);
  const int out_copy = bpf_program__fd(skel_->progs.xcap_local_out_copy);
  if (bpf_map_update_elem(bpf_map__fd(skel_->maps.xcap_local_xdp_progs), &slot, &in_copy, 0) ||
      bpf_map_update_elem(bpf_map__fd(skel_->maps.xcap_local_tc_progs), &slot, &out_copy, 0))
    return errno_error("cannot put the copy programs in place");
  return ok();
}

Result<void> LocalProgram::attach_egress() {
  auto tc =
      TcEgress::attach(bpf_program__fd(skel_->progs.xcap_local_out), opts_.ifindex, opts_.ifname);
  if (!tc) return tc.error();
  tc_ = std::move(tc.value());
  log_info("local mode: TC (egress) attached to %s (%s)", opts_.ifname.c_str(),
           tc_->tcx() ? "tcx" : "clsact");
  return ok();
}

Result<std::unique_ptr<LocalProgram>> LocalProgram::attach(const LocalProgramOptions& opts) {
  if (opts.ring_bytes < 4096 || (opts.ring_bytes & (opts.ring_bytes - 1)))
    return invalid_input(std::to_string(opts.ring_bytes) +
                         " bytes: a ring buffer is a power of two of at least 4096 bytes");
  libbpf_set_print(quiet_libbpf);
  libxdp_set_print(quiet_libxdp);
  std::unique_ptr<LocalProgram> self(new LocalProgram());
  self->opts_ = opts;
  if (auto r = self->open(); !r) return r.error();
  if (auto r = self->attach_xdp(); !r) return r.error();  // loads the object
  if (auto r = self->make_rings(); !r) return r.error();
  if (auto r = self->attach_egress(); !r) return r.error();
  return self;
}

std::vector<int> LocalProgram::ring_fds() const {
  std::vector<int> out;
  for (const Fd& f : rings_) out.push_back(f.get());
  return out;
}

Result<void> LocalProgram::start_capturing() {
  return update_bss(skel_, [](auto& bss) { bss.xcap_local_capturing = 1; });
}

Result<void> LocalProgram::set_self_endpoint(const std::string& address, uint16_t port) {
  auto e = self_endpoint(address, port);
  if (!e) return e.error();
  return update_bss(skel_, [&](auto& bss) { std::memcpy(&bss.xcap_self, &*e, sizeof *e); });
}

void LocalProgram::detach() {
  if (tc_) tc_->detach();
  if (!xdp_attached_) return;
  xdp_attached_ = false;
  int rc = xdp_program__detach(prog_, opts_.ifindex,
                               mode_ == XdpMode::Skb ? XDP_MODE_SKB : XDP_MODE_NATIVE, 0);
  if (rc && if_nametoindex(opts_.ifname.c_str()))  // a deleted interface took it along
    log_error("%s",
              libxdp_error(rc, "detaching XDP from " + opts_.ifname + " failed").message.c_str());
}

LocalProgram::~LocalProgram() {
  detach();
  tc_.reset();
  // libxdp 1.3 keeps a reference to an XDP program it attached without its dispatcher until the
  // process ends (xcap serve attaches and detaches many times): the rings leave that program
  // now, so their memory goes with this object.
  if (skel_ && !rings_.empty()) {
    const int outer = bpf_map__fd(skel_->maps.xcap_local_rings);
    for (uint32_t i = 0; i < rings_.size(); i++) bpf_map_delete_elem(outer, &i);
  }
  if (prog_) xdp_program__close(prog_);
  if (skel_) xcap_local_bpf__destroy(skel_);
}

// Translates and loads the filter for one direction, puts it in its prog array's slot and
// sets the direction's flag. The returned Fd is the program (the slot holds its own reference).
Result<Fd> LocalProgram::install(std::span<const CbpfInsn> program, LocalDirection d) {
  const bool out = d == LocalDirection::Out;
  XdpFilterMaps maps;
  maps.counters = bpf_map__fd(skel_->maps.xcap_local_counters);
  maps.args = bpf_map__fd(skel_->maps.xcap_filter_args);
  maps.local_progs =
      bpf_map__fd(out ? skel_->maps.xcap_local_tc_progs : skel_->maps.xcap_local_xdp_progs);
  maps.tc = out;
  maps.counter_base = unsigned(d) * XCAP_LCNT_MAX;
  const bpf_program* entry = out ? skel_->progs.xcap_local_out : skel_->progs.xcap_local_in;
  XdpFilterLoadOptions lo;
  lo.expected_attach_type = bpf_program__expected_attach_type(entry);
  lo.xdp_frags = !out && xdp_frags(entry);
  lo.name = out ? "xcap_filter_out" : "xcap_filter_in";
  Result<Fd> prog = load_xdp_filter(program, maps, lo);
  if (!prog) return prog.error();
  const uint32_t slot = XCAP_LOCAL_SLOT_FILTER;
  const int fd = prog->get();
  if (bpf_map_update_elem(maps.local_progs, &slot, &fd, BPF_ANY))
    return errno_error("the local-mode prog array refused the filter program");
  auto flag = update_bss(skel_, [out](auto& bss) {
    (out ? bss.xcap_local_filter_out : bss.xcap_local_filter_in) = 1;
  });
  if (!flag) {
    remove(d);
    return flag.error();
  }
  return std::move(prog.value());
}

// The flag first: a packet that still sees it finds the slot empty and is copied unfiltered.
void LocalProgram::remove(LocalDirection d) {
  const bool out = d == LocalDirection::Out;
  if (auto r = update_bss(
          skel_,
          [out](auto& bss) { (out ? bss.xcap_local_filter_out : bss.xcap_local_filter_in) = 0; });
      !r)
    log_debug("removing the local-mode filter: %s", r.error().message.c_str());
  const uint32_t slot = XCAP_LOCAL_SLOT_FILTER;
  const int map =
      bpf_map__fd(out ? skel_->maps.xcap_local_tc_progs : skel_->maps.xcap_local_xdp_progs);
  if (bpf_map_delete_elem(map, &slot) != 0 && errno != ENOENT)
    log_debug("%s", errno_error("removing the local-mode filter").message.c_str());
}

Result<void> LocalProgram::replace_filter(std::span<const CbpfInsn> ethernet_program) {
  std::string why;
  for (LocalDirection d : {LocalDirection::In, LocalDirection::Out}) {
    Fd& slot = d == LocalDirection::In ? filter_in_ : filter_out_;
    if (!ethernet_program.empty()) {
      if (Result<Fd> f = install(ethernet_program, d)) {
        slot = std::move(f.value());
        continue;
      } else {
        why += (why.empty() ? "" : "; ") + std::string(d == LocalDirection::In ? "XDP" : "TC") +
               ": " + f.error().message;
      }
    }
    if (slot.valid()) remove(d);
    slot = Fd();
  }
  if (why.empty()) return ok();
  return make_error(ErrorKind::System, why);
}

LocalCounters LocalProgram::counters() const {
  LocalCounters out;
  const unsigned ncpu = possible_cpus();
  std::vector<uint64_t> per_cpu(ncpu);
  const int fd = bpf_map__fd(skel_->maps.xcap_local_counters);
  for (unsigned d = 0; d < 2; d++)
    for (uint32_t c = 0; c < XCAP_LCNT_MAX; c++) {
      const uint32_t key = d * XCAP_LCNT_MAX + c;
      if (bpf_map_lookup_elem(fd, &key, per_cpu.data()) != 0) continue;  // reads 0 this time
      for (uint64_t v : per_cpu) out.v[d][c] += v;
    }
  return out;
}

}  // namespace xcap::bpf_loader
