// bench/clock_cost: what the XDP program's per-packet timestamp costs, and what the other ways
// of stamping a packet would cost (issue: per-packet costs in the kernel path).
//
//   clock_cost [--repeat N] [--rounds R]
//       BPF_PROG_TEST_RUN, N runs per round on a 64-byte UDP frame, R rounds, median ns per
//       run of: clock_none (grow the metadata, write a constant), clock_tai (xcap's
//       bpf_ktime_get_tai_ns), clock_mono (bpf_ktime_get_ns), clock_coarse
//       (bpf_ktime_get_coarse_ns, tick resolution), clock_every_16 (one TAI read per 16
//       packets per CPU).
//   clock_cost --rx-hw IFACE [--seconds S]
//       attaches clock_rx_hw, bound to IFACE, in native mode for S seconds (default 5) while
//       something sends to IFACE, and counts the driver's answers to
//       bpf_xdp_metadata_rx_timestamp: a hardware stamp, none (ENODATA), unsupported.
// Needs root (BPF).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "bench_clock.skel.h"
#include "common/frame_builder.h"

// Debian 12's kernel headers (6.1) predate device-bound programs (6.3).
#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif

namespace {

// Median ns per run of prog_fd over rounds of repeat runs each.
double ns_per_run(int prog_fd, const std::vector<uint8_t>& frame, unsigned repeat, int rounds) {
  std::vector<double> per;
  std::vector<uint8_t> out(frame.size() + 256);
  for (int i = 0; i < rounds; i++) {
    bpf_test_run_opts o{};
    o.sz = sizeof(o);
    o.data_in = frame.data();
    o.data_size_in = uint32_t(frame.size());
    o.data_out = out.data();
    o.data_size_out = uint32_t(out.size());
    o.repeat = repeat;
    if (int e = bpf_prog_test_run_opts(prog_fd, &o)) {
      fprintf(stderr, "clock_cost: test run: %s\n", strerror(-e));
      exit(1);
    }
    per.push_back(double(o.duration));  // the kernel's average per run, ns
  }
  std::sort(per.begin(), per.end());
  return per[per.size() / 2];
}

int rx_hw(const char* iface, int seconds) {
  const unsigned ifindex = if_nametoindex(iface);
  if (!ifindex) {
    fprintf(stderr, "clock_cost: no interface %s\n", iface);
    return 2;
  }
  bench_clock_bpf* s = bench_clock_bpf__open();
  if (!s) return perror("bench_clock_bpf__open"), 1;
  bpf_program__set_ifindex(s->progs.clock_rx_hw, ifindex);
  bpf_program__set_flags(s->progs.clock_rx_hw, BPF_F_XDP_DEV_BOUND_ONLY);
  if (int e = bench_clock_bpf__load(s)) {
    fprintf(stderr, "clock_cost: load (device-bound to %s): %s\n", iface, strerror(-e));
    return 1;
  }
  const int fd = bpf_program__fd(s->progs.clock_rx_hw);
  if (int e = bpf_xdp_attach(int(ifindex), fd, XDP_FLAGS_DRV_MODE, nullptr)) {
    fprintf(stderr, "clock_cost: attach to %s: %s\n", iface, strerror(-e));
    return 1;
  }
  sleep(unsigned(seconds));
  bpf_xdp_detach(int(ifindex), XDP_FLAGS_DRV_MODE, nullptr);
  const int ncpu = libbpf_num_possible_cpus();
  const char* names[3] = {"hardware stamp", "no stamp (ENODATA)", "unsupported"};
  for (uint32_t k = 0; k < 3; k++) {
    std::vector<uint64_t> v(size_t(ncpu), 0);
    bpf_map_lookup_elem(bpf_map__fd(s->maps.hw_answers), &k, v.data());
    uint64_t sum = 0;
    for (uint64_t x : v) sum += x;
    printf("rx_timestamp on %s: %-20s %llu packets\n", iface, names[k], (unsigned long long)sum);
  }
  bench_clock_bpf__destroy(s);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  unsigned repeat = 1'000'000;
  int rounds = 7, seconds = 5;
  const char* hw_iface = nullptr;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (a == "--repeat" && i + 1 < argc)
      repeat = unsigned(atoi(argv[++i]));
    else if (a == "--rounds" && i + 1 < argc)
      rounds = atoi(argv[++i]);
    else if (a == "--rx-hw" && i + 1 < argc)
      hw_iface = argv[++i];
    else if (a == "--seconds" && i + 1 < argc)
      seconds = atoi(argv[++i]);
    else {
      fprintf(stderr,
              "usage: clock_cost [--repeat N] [--rounds R] | --rx-hw IFACE [--seconds S]\n");
      return 2;
    }
  }
  if (repeat == 0 || rounds <= 0 || seconds <= 0) return 2;
  if (hw_iface) return rx_hw(hw_iface, seconds);

  const std::vector<uint8_t> frame = xcap::FrameBuilder()
                                         .eth()
                                         .ipv4("198.18.97.1", "198.18.97.2")
                                         .udp(1024, 2000)
                                         .payload(18, 0)
                                         .build();
  bench_clock_bpf* s = bench_clock_bpf__open();
  if (!s) return perror("bench_clock_bpf__open"), 1;
  bpf_program__set_autoload(s->progs.clock_rx_hw, false);  // it needs a device (--rx-hw)
  if (int e = bench_clock_bpf__load(s)) {
    fprintf(stderr, "clock_cost: load: %s\n", strerror(-e));
    return 1;
  }
  struct Row {
    const char* name;
    bpf_program* prog;
  } rows[] = {{"clock_none", s->progs.clock_none},
              {"clock_tai", s->progs.clock_tai},
              {"clock_mono", s->progs.clock_mono},
              {"clock_coarse", s->progs.clock_coarse},
              {"clock_every_16", s->progs.clock_every_16}};
  // Interleaved rounds: the machine's noise falls on every program alike.
  std::vector<std::vector<double>> samples(std::size(rows));
  for (int r = 0; r < rounds; r++)
    for (size_t i = 0; i < std::size(rows); i++)
      samples[i].push_back(ns_per_run(bpf_program__fd(rows[i].prog), frame, repeat, 1));
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  const double none = median(samples[0]);
  printf("%-16s %10s %14s\n", "program", "ns/packet", "clock ns/pkt");
  for (size_t i = 0; i < std::size(rows); i++) {
    const double m = median(samples[i]);
    printf("%-16s %10.1f %14.1f\n", rows[i].name, m, m - none);
  }
  printf("(BPF_PROG_TEST_RUN, %u runs x %d rounds, median; clock = program - clock_none)\n", repeat,
         rounds);
  bench_clock_bpf__destroy(s);
  return 0;
}
