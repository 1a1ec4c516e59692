// Includes the skeleton (and with it <linux/bpf.h>): never <pcap/pcap.h> here.
#include "bpf_loader/xdp_filter_install.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "bpf_loader/program_state.h"
#include "common/log.h"
#include "filter/xdp_filter_translator.h"
#include "xcap_abi.h"  // before the skeleton, which names struct xcap_config

#include "xcap.skel.h"

namespace xcap::bpf_loader {

bool xdp_frags(const bpf_program* prog) {
  // libbpf adds BPF_F_XDP_HAS_FRAGS at load for an "xdp.frags" section without showing it in
  // the program's flags; libxdp shows it there. Either says the kernel holds a frags program.
  const char* sec = bpf_program__section_name(prog);
  return (bpf_program__flags(prog) & BPF_F_XDP_HAS_FRAGS) ||
         (sec && strncmp(sec, "xdp.frags", 9) == 0);
}

Result<Fd> install_xdp_filter(::xcap_bpf* skel, std::span<const CbpfInsn> ethernet_program) {
  XdpFilterMaps maps;
  maps.xsks_map = bpf_map__fd(skel->maps.xsks_map);
  maps.counters = bpf_map__fd(skel->maps.xcap_counters);
  maps.args = bpf_map__fd(skel->maps.xcap_filter_args);
  if (maps.xsks_map < 0 || maps.counters < 0 || maps.args < 0)
    return make_error(ErrorKind::System,
                      "the XDP program is not loaded: no maps to give the filter");
  XdpFilterLoadOptions lo;
  lo.expected_attach_type = bpf_program__expected_attach_type(skel->progs.xcap_xdp);
  lo.xdp_frags = xdp_frags(skel->progs.xcap_xdp);
  Result<Fd> prog = load_xdp_filter(ethernet_program, maps, lo);
  if (!prog) return prog.error();

  const uint32_t slot = 0;
  const int prog_fd = prog->get();
  if (bpf_map_update_elem(bpf_map__fd(skel->maps.xcap_filter_progs), &slot, &prog_fd, BPF_ANY))
    return errno_error(
        "xcap_filter_progs refused the filter program (program or attach type or multi-buffer "
        "support differs from the main program's?)");
  if (Result<void> r = set_filter_installed(skel, true); !r) {
    remove_xdp_filter(skel);
    return r.error();
  }
  return std::move(prog.value());
}

void remove_xdp_filter(::xcap_bpf* skel) {
  // The flag first: a frame that still sees it set finds the slot empty and falls through.
  // Either step failing is harmless: with the flag set and the slot empty, or the slot
  // filled and the flag off, no frame runs the filter. Said with -v only.
  if (auto r = set_filter_installed(skel, false); !r)
    log_debug("removing the XDP filter: %s", r.error().message.c_str());
  const uint32_t slot = 0;
  if (bpf_map_delete_elem(bpf_map__fd(skel->maps.xcap_filter_progs), &slot) != 0 && errno != ENOENT)
    log_debug("%s", errno_error("removing the XDP filter from its slot").message.c_str());
}

}  // namespace xcap::bpf_loader
