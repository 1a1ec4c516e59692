#include "common/xdp_test_run.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpf_loader/program_state.h"
#include "xcap.skel.h"

namespace xcap::test {

void XcapSkelDeleter::operator()(xcap_bpf* s) const {
  xcap_bpf__destroy(s);
}

XcapSkel load_xcap_skel(uint32_t mode, std::string* err, uint16_t decap, bool armed) {
  XcapSkel skel(xcap_bpf__open());
  if (!skel) {
    *err = std::string("xcap_bpf__open: ") + strerror(errno);
    return nullptr;
  }
  auto& cfg = skel->rodata->xcap_cfg;
  cfg.mode = mode;
  cfg.vxlan_ports[0] = XCAP_VXLAN_PORT;
  cfg.vxlan_ports[1] = kSecondVxlanPort;
  cfg.geneve_port = XCAP_GENEVE_PORT;
  cfg.decap = decap;
  if (int e = xcap_bpf__load(skel.get())) {
    *err = std::string("xcap_bpf__load: ") + strerror(-e);
    return nullptr;
  }
  if (auto r = bpf_loader::set_capturing(skel.get(), armed); !r) {
    *err = r.error().message;
    return nullptr;
  }
  return skel;
}

XdpTestRun xdp_test_run(int prog_fd, const std::vector<uint8_t>& in, uint32_t data,
                        uint32_t ifindex) {
  XdpTestRun r;
  xdp_md ctx_in{}, ctx_out{};
  ctx_in.data = data;
  ctx_in.data_end = uint32_t(in.size());
  ctx_in.ingress_ifindex = ifindex;
  ctx_in.rx_queue_index = 0;
  r.out.resize(in.size() + 256);
  bpf_test_run_opts opts{};
  opts.sz = sizeof(opts);
  opts.data_in = in.data();
  opts.data_size_in = uint32_t(in.size());
  opts.data_out = r.out.data();
  opts.data_size_out = uint32_t(r.out.size());
  opts.ctx_in = &ctx_in;
  opts.ctx_size_in = sizeof(ctx_in);
  opts.ctx_out = &ctx_out;
  opts.ctx_size_out = sizeof(ctx_out);
  opts.repeat = 1;
  r.err = bpf_prog_test_run_opts(prog_fd, &opts);
  r.retval = opts.retval;
  r.out.resize(r.err == 0 ? opts.data_size_out : 0);
  r.meta_len = ctx_out.data;
  return r;
}

std::array<uint64_t, XCAP_CNT_MAX> read_counters(int map_fd) {
  std::array<uint64_t, XCAP_CNT_MAX> c{};
  std::vector<uint64_t> per_cpu(std::max(1, libbpf_num_possible_cpus()));
  for (uint32_t i = 0; i < XCAP_CNT_MAX; i++) {
    if (bpf_map_lookup_elem(map_fd, &i, per_cpu.data()) != 0) continue;
    for (uint64_t x : per_cpu) c[i] += x;
  }
  return c;
}

}  // namespace xcap::test
