// Helpers of the BPF tests around bpf/xcap.bpf.c (tests/bpf): its skeleton loaded as the tests
// configure it, one bpf_prog_test_run_opts run of an XDP program, its per-CPU counters. The
// tests include "xcap.skel.h" themselves to reach the skeleton's maps and programs.
// Uses <linux/bpf.h> (through libbpf), never <pcap/pcap.h>.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "xcap_abi.h"

struct xcap_bpf;

namespace xcap::test {

// The VXLAN port configured besides XCAP_VXLAN_PORT.
inline constexpr uint16_t kSecondVxlanPort = 8472;

struct XcapSkelDeleter {
  void operator()(xcap_bpf* s) const;
};
using XcapSkel = std::unique_ptr<xcap_bpf, XcapSkelDeleter>;

inline constexpr uint16_t kTunnelsStripped =
    XCAP_META_F_VXLAN | XCAP_META_F_GENEVE | XCAP_META_F_GRE;

// Opens the skeleton, configures it (mode; VXLAN on XCAP_VXLAN_PORT and kSecondVxlanPort,
// GENEVE on XCAP_GENEVE_PORT; decap: the tunnels unwrapped at XDP), loads it and, unless told
// otherwise, arms capture (xcap_capturing, as xcap does once its sockets are bound). nullptr
// and *err on failure.
XcapSkel load_xcap_skel(uint32_t mode, std::string* err, uint16_t decap = kTunnelsStripped,
                        bool armed = true);

struct XdpTestRun {
  int err = 0;               // bpf_prog_test_run_opts's return value (0 or -errno)
  uint32_t retval = 0;       // the XDP action
  std::vector<uint8_t> out;  // data_out: metadata (meta_len bytes) followed by the frame
  uint32_t meta_len = 0;     // where the frame starts in out (test_run reports the data offset
                             // relative to data_meta)
};

// Runs prog_fd once on in, whose frame starts at data (the bytes before it are metadata), as
// received on ifindex, queue 0.
XdpTestRun xdp_test_run(int prog_fd, const std::vector<uint8_t>& in, uint32_t data,
                        uint32_t ifindex = 0);

// Each counter of the per-CPU array map_fd (xcap_counters), summed over the CPUs.
std::array<uint64_t, XCAP_CNT_MAX> read_counters(int map_fd);

}  // namespace xcap::test
