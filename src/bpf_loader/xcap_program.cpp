// The only translation unit that includes the skeleton (and with it <linux/bpf.h>): libpcap's
// headers define struct bpf_insn too, so the two never meet in one file.
#include "bpf_loader/xcap_program.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <xdp/libxdp.h>

#include <cerrno>
#include <cstring>

#include "bpf_loader/program_state.h"
#include "bpf_loader/xdp_filter_install.h"
#include "common/log.h"
#include "xcap.skel.h"

namespace xcap::bpf_loader {
namespace {

constexpr const char* kProgName = "xcap_xdp";
constexpr const char* kLocalProgName = "xcap_local_in";  // bpf/xcap_local.bpf.c (--mode local)

bool is_xcap_program(const char* name) {
  return strcmp(name, kProgName) == 0 || strcmp(name, kLocalProgName) == 0;
}

// "<what>: <reason>" for a libxdp call that returned rc (-errno, or one of libxdp's own codes,
// which only its libxdp_strerror knows).
Error libxdp_error(int rc, std::string what) {
  char buf[256];
  libxdp_strerror(rc, buf, sizeof buf);
  return Error{kind_of_errno(-rc), -rc, std::move(what) + ": " + buf};
}

xdp_attach_mode to_libxdp(XdpMode m) {
  return m == XdpMode::Skb ? XDP_MODE_SKB : XDP_MODE_NATIVE;
}

// The kernel's flags for the same mode, for libbpf's netlink calls.
uint32_t xdp_flags(XdpMode m) {
  return m == XdpMode::Skb ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
}

// The id of the program attached to ifindex in mode, asked over netlink (no capability
// needed); 0 when none.
uint32_t attached_prog_id(int ifindex, XdpMode m) {
  uint32_t id = 0;
  if (bpf_xdp_query_id(ifindex, int(xdp_flags(m)), &id) != 0) return 0;
  return id;
}

// libbpf and libxdp narrate every step (the dispatcher probe, skipped ELF sections); xcap says
// what matters itself, so their lines appear only with -v.
int library_print(const char* fmt, va_list ap) {
  if (log_level() < LogLevel::Debug) return 0;
  return vfprintf(stderr, fmt, ap);
}
int libbpf_print(libbpf_print_level, const char* fmt, va_list ap) {
  return library_print(fmt, ap);
}
int libxdp_print(libxdp_print_level, const char* fmt, va_list ap) {
  return library_print(fmt, ap);
}

// A refused attach in words an operator can act on; libxdp's own text ("Numerical result out
// of range") names the errno, not the cause.
Error attach_error(int rc, XdpMode mode, const std::string& ifname) {
  Error e = libxdp_error(rc, to_string(mode));
  if (rc == -ERANGE)
    e.message += ": the MTU of " + ifname + " (or of its veth peer) is larger than the driver " +
                 "allows for XDP (lower it, or use a driver with XDP multi-buffer support)";
  else if (rc == -EOPNOTSUPP)
    e.message += ": the driver of " + ifname + " has no native XDP";
  return e;
}

}  // namespace

uint16_t decap_tunnels(DecapConfig::Mode mode) {
  using Mode = DecapConfig::Mode;
  switch (mode) {
    case Mode::Auto:
      return XCAP_META_F_VXLAN | XCAP_META_F_GENEVE | XCAP_META_F_GRE;
    case Mode::None:
      return 0;
    case Mode::Vxlan:
      return XCAP_META_F_VXLAN;
    case Mode::Geneve:
      return XCAP_META_F_GENEVE;
    case Mode::Erspan:  // ERSPAN rides on GRE: the XDP side does not tell them apart
    case Mode::Gre:
      return XCAP_META_F_GRE;
  }
  return XCAP_META_F_VXLAN | XCAP_META_F_GENEVE | XCAP_META_F_GRE;
}

Result<void> ensure_bpffs() {
  struct statfs st {};
  if (statfs("/sys/fs/bpf", &st) == 0 && st.f_type == BPF_FS_MAGIC) return ok();
  if (mkdir("/sys/fs/bpf", 0700) != 0 && errno != EEXIST)
    return errno_error("bpffs is not mounted at /sys/fs/bpf and creating that directory failed");
  if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0)
    return errno_error("bpffs is not mounted at /sys/fs/bpf and mounting it failed");
  log_info("mounted bpffs at /sys/fs/bpf (libxdp keeps its dispatcher state there)");
  return ok();
}

Result<int> remove_stale_programs(int ifindex, const std::string& ifname) {
  libbpf_set_print(libbpf_print);
  libxdp_set_print(libxdp_print);
  xdp_multiprog* mp = xdp_multiprog__get_from_ifindex(ifindex);
  long err = libxdp_get_error(mp);
  if (err || !mp) return 0;  // nothing attached (libxdp reports that as an error or null)
  int removed = 0;
  std::string foreign;
  if (xdp_multiprog__is_legacy(mp)) {
    xdp_program* p = xdp_multiprog__main_prog(mp);
    if (p && is_xcap_program(xdp_program__name(p))) {
      if (xdp_multiprog__detach(mp) == 0) removed++;
    } else if (p) {
      foreign =
          xdp_program__name(p) + std::string(" (id ") + std::to_string(xdp_program__id(p)) + ")";
    }
  } else {
    for (xdp_program* p = xdp_multiprog__next_prog(nullptr, mp); p;
         p = xdp_multiprog__next_prog(p, mp)) {
      if (is_xcap_program(xdp_program__name(p)) &&
          xdp_program__detach(p, ifindex, xdp_multiprog__attach_mode(mp), 0) == 0)
        removed++;
    }
  }
  xdp_multiprog__close(mp);
  if (removed)
    log_info("removed %d xcap XDP program(s) left on %s by a capture that died", removed,
             ifname.c_str());
  if (!foreign.empty())
    return make_error(ErrorKind::Busy, "interface " + ifname +
                                           " already has another XDP program attached: " + foreign +
                                           "; xcap cannot share it without libxdp's dispatcher");
  return removed;
}

// Opens the skeleton with the options in .rodata and hands it to libxdp.
Result<void> XcapProgram::open() {
  skel_ = xcap_bpf__open();
  if (!skel_) return errno_error("cannot open the XDP program");
  auto& cfg = skel_->rodata->xcap_cfg;
  cfg.mode = opts_.mode;
  for (size_t i = 0; i < XCAP_MAX_VXLAN_PORTS; i++)
    cfg.vxlan_ports[i] = i < opts_.vxlan_ports.size() ? opts_.vxlan_ports[i] : 0;
  cfg.geneve_port = opts_.geneve_port;
  cfg.decap = opts_.decap;
  cfg.wake_threshold = opts_.wake_threshold;
  // SEC("xdp.frags"): multi-buffer frames (jumbo frames, a veth or NIC MTU above a page) reach
  // the program instead of keeping it off the interface. Said to libxdp too, so a dispatcher
  // it builds is loaded frags-capable (it must be, to run a frags program).
  prog_ = xdp_program__from_bpf_obj(skel_->obj, "xdp.frags");
  if (long e = libxdp_get_error(prog_)) {
    prog_ = nullptr;
    return libxdp_error(int(e), "libxdp cannot use the XDP program");
  }
  if (int rc = xdp_program__set_xdp_frags_support(prog_, true))
    return libxdp_error(rc, "libxdp cannot mark the XDP program multi-buffer");
  return ok();
}

// Native first, then skb with --xdp-mode auto; every refusal is kept for the message.
Result<void> XcapProgram::attach_in_a_mode() {
  std::vector<XdpMode> tries;
  if (opts_.xdp_mode == XdpMode::Auto)
    tries = {XdpMode::Native, XdpMode::Skb};
  else
    tries = {opts_.xdp_mode};
  std::string errors;
  Error last;
  for (XdpMode m : tries) {
    int rc = xdp_program__attach(prog_, opts_.ifindex, to_libxdp(m), 0);
    if (rc == 0) {
      mode_ = m;
      attached_ = true;
      break;
    }
    last = attach_error(rc, m, opts_.ifname);
    errors += (errors.empty() ? "" : "; ") + last.message;
  }
  if (!attached_) {
    last.message = "cannot attach XDP to " + opts_.ifname + " (" + errors + ")";
    return last;
  }
  // skb mode runs after the kernel built an skb for every frame: several times slower, and
  // a host that silently ends up there looks like a slow capture. Say why, every time.
  if (opts_.xdp_mode == XdpMode::Auto && mode_ == XdpMode::Skb)
    log_info("native XDP refused on %s (%s): fell back to skb (generic) mode, which is slower",
             opts_.ifname.c_str(), errors.c_str());
  return ok();
}

Result<std::unique_ptr<XcapProgram>> XcapProgram::attach(const ProgramOptions& opts) {
  if (opts.vxlan_ports.size() > XCAP_MAX_VXLAN_PORTS)
    return invalid_input(std::to_string(opts.vxlan_ports.size()) + " VXLAN ports: at most " +
                         std::to_string(XCAP_MAX_VXLAN_PORTS) + " fit in the XDP program");
  libbpf_set_print(libbpf_print);
  libxdp_set_print(libxdp_print);
  std::unique_ptr<XcapProgram> self(new XcapProgram());
  self->opts_ = opts;
  if (auto r = self->open(); !r) return r.error();
  if (auto r = self->attach_in_a_mode(); !r) return r.error();
  // Over netlink, not libxdp's query: reading another program's id back into an fd takes
  // CAP_SYS_ADMIN, which the service does not hold (deploy/systemd). Our own program on the
  // interface means a single program; another one (libxdp's dispatcher) carries ours.
  self->interface_prog_id_ = attached_prog_id(opts.ifindex, self->mode_);
  const bool dispatcher = self->interface_prog_id_ != xdp_program__id(self->prog_);
  log_info("XDP program attached to %s in %s mode (%s)", opts.ifname.c_str(),
           self->mode_ == XdpMode::Native ? "native" : "skb",
           dispatcher ? "libxdp dispatcher"
                      : "single program: libxdp's dispatcher is not available here");
  return self;
}

Result<void> XcapProgram::install_xdp_filter(std::span<const CbpfInsn> ethernet_program) {
  if (xdp_filter_.valid())
    return make_error(ErrorKind::Exists, "an XDP filter is already installed");
  if (!attached_) {
    xdp_filter_reason_ = "the XDP program is not attached";
    return make_error(ErrorKind::System, xdp_filter_reason_);
  }
  Result<Fd> f = bpf_loader::install_xdp_filter(skel_, ethernet_program);
  if (!f) {
    xdp_filter_reason_ = f.error().message;
    return f.error();
  }
  xdp_filter_ = std::move(f.value());
  xdp_filter_reason_.clear();
  return ok();
}

Result<void> XcapProgram::replace_xdp_filter(std::span<const CbpfInsn> ethernet_program) {
  if (!ethernet_program.empty() && attached_) {
    if (Result<Fd> f = bpf_loader::install_xdp_filter(skel_, ethernet_program)) {
      xdp_filter_ = std::move(f.value());
      xdp_filter_reason_.clear();
      return ok();
    } else {
      xdp_filter_reason_ = f.error().message;
    }
  }
  if (xdp_filter_.valid()) {
    bpf_loader::remove_xdp_filter(skel_);
    xdp_filter_ = Fd();
  }
  if (ethernet_program.empty()) return ok();
  return make_error(ErrorKind::System, attached_ ? xdp_filter_reason_
                                                 : std::string("the XDP program is not attached"));
}

Result<void> XcapProgram::start_capturing() {
  return set_capturing(skel_, true);
}

void XcapProgram::detach() {
  if (!attached_) return;
  attached_ = false;
  int rc = 0;
  if (interface_prog_id_ == xdp_program__id(prog_)) {
    // A single program: detach it over netlink, only if it is still ours (XDP_FLAGS_REPLACE),
    // which needs CAP_NET_ADMIN alone; libxdp's detach would first read the interface's
    // program back by id (CAP_SYS_ADMIN).
    LIBBPF_OPTS(bpf_xdp_attach_opts, o, .old_prog_fd = xdp_program__fd(prog_));
    rc = bpf_xdp_detach(opts_.ifindex, xdp_flags(mode_) | XDP_FLAGS_REPLACE, &o);
    if (rc == -EEXIST) rc = 0;  // someone replaced or removed it already: nothing of ours left
  } else {
    rc = xdp_program__detach(prog_, opts_.ifindex, to_libxdp(mode_), 0);
  }
  char name[IF_NAMESIZE];
  if (rc && if_indextoname(unsigned(opts_.ifindex), name))  // a deleted interface took it along
    log_error("%s",
              libxdp_error(rc, "detaching XDP from " + opts_.ifname + " failed").message.c_str());
}

XcapProgram::~XcapProgram() {
  detach();
  if (wake_) munmap(wake_, wake_bytes_);
  if (prog_) xdp_program__close(prog_);  // the bpf_object stays the skeleton's to destroy
  if (skel_) xcap_bpf__destroy(skel_);
}

Result<void> XcapProgram::set_max_frame(uint32_t bytes, bool linear_only) {
  return bpf_loader::set_max_frame(skel_, bytes, linear_only);
}

Result<void> XcapProgram::set_self_endpoint(const std::string& address, uint16_t port) {
  return bpf_loader::set_self_endpoint(skel_, address, port);
}

int XcapProgram::wake_rings_fd() const {
  return bpf_map__fd(skel_->maps.xcap_wake_rings);
}

xcap_wake* XcapProgram::wake_slot(uint32_t queue) {
  if (queue >= XCAP_MAX_QUEUES) return nullptr;
  if (!wake_) {
    const size_t page = size_t(sysconf(_SC_PAGESIZE));
    wake_bytes_ = (sizeof(xcap_wake) * XCAP_MAX_QUEUES + page - 1) / page * page;
    void* m = mmap(nullptr, wake_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED,
                   bpf_map__fd(skel_->maps.xcap_wake), 0);
    if (m == MAP_FAILED) return nullptr;
    wake_ = static_cast<xcap_wake*>(m);
  }
  return &wake_[queue];
}

int XcapProgram::xsks_map_fd() const {
  return bpf_map__fd(skel_->maps.xsks_map);
}

XdpCounters XcapProgram::counters() const {
  XdpCounters out;
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return out;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
  int fd = bpf_map__fd(skel_->maps.xcap_counters);
  for (uint32_t k = 0; k < XCAP_CNT_MAX; k++) {
    // The map and every key exist while the program is loaded; should a read fail anyway, the
    // counter reads 0 for this scrape rather than failing the whole report.
    if (bpf_map_lookup_elem(fd, &k, per_cpu.data()) != 0) continue;
    for (uint64_t c : per_cpu) out.v[k] += c;
  }
  return out;
}

bool XcapProgram::still_attached() const {
  if (!attached_ || !prog_) return false;
  // The interface still runs what we attached: our program, or the dispatcher that carries it.
  // (A dispatcher that lost our program to another tool is not seen; it keeps its id.)
  return interface_prog_id_ && attached_prog_id(opts_.ifindex, mode_) == interface_prog_id_;
}

}  // namespace xcap::bpf_loader
