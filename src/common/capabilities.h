// The capabilities a live capture needs, checked before anything is attached, so a service
// started with one too few says which instead of "Operation not permitted" from deep inside
// libbpf. deploy/systemd grants exactly these; tests/integration/capabilities_test.cpp proves
// the set is enough and that each one is needed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace xcap {

// CAP_BPF and CAP_PERFMON load and verify the XDP program (CAP_SYS_ADMIN stands in for both,
// as the kernel allows); CAP_NET_ADMIN attaches it; CAP_NET_RAW opens AF_XDP sockets;
// CAP_IPC_LOCK pins the UMEM, unless RLIMIT_MEMLOCK already allows locked_bytes.
// Local mode (af_xdp false) opens no AF_XDP socket: CAP_NET_RAW is not needed.
std::vector<std::string> missing_capture_capabilities(uint64_t locked_bytes, bool af_xdp = true);

// An error naming what is missing, or ok.
Result<void> check_capture_capabilities(uint64_t locked_bytes, bool af_xdp = true);

}  // namespace xcap
