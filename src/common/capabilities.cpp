#include "common/capabilities.h"

#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

// Debian 12's headers have them; older ones may not.
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

namespace xcap {
namespace {

// The effective set, both 32-bit halves (capability version 3).
uint64_t effective_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &header, data) != 0) return 0;
  return uint64_t(data[0].effective) | uint64_t(data[1].effective) << 32;
}

bool has(uint64_t caps, int cap) {
  return caps >> cap & 1;
}

}  // namespace

std::vector<std::string> missing_capture_capabilities(uint64_t locked_bytes, bool af_xdp) {
  const uint64_t caps = effective_capabilities();
  const bool admin = has(caps, CAP_SYS_ADMIN);
  std::vector<std::string> missing;
  if (!has(caps, CAP_BPF) && !admin) missing.push_back("CAP_BPF");
  if (!has(caps, CAP_PERFMON) && !admin) missing.push_back("CAP_PERFMON");
  if (!has(caps, CAP_NET_ADMIN)) missing.push_back("CAP_NET_ADMIN");
  if (af_xdp && !has(caps, CAP_NET_RAW)) missing.push_back("CAP_NET_RAW");
  rlimit lim{};
  const bool memlock_enough = getrlimit(RLIMIT_MEMLOCK, &lim) == 0 &&
                              (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur >= locked_bytes);
  if (!has(caps, CAP_IPC_LOCK) && !memlock_enough) missing.push_back("CAP_IPC_LOCK");
  return missing;
}

Result<void> check_capture_capabilities(uint64_t locked_bytes, bool af_xdp) {
  const std::vector<std::string> missing = missing_capture_capabilities(locked_bytes, af_xdp);
  if (missing.empty()) return ok();
  std::string names;
  for (const std::string& m : missing) names += (names.empty() ? "" : ", ") + m;
  return make_error(
      ErrorKind::System,
      "missing " + names + ": a live capture needs CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, " +
          (af_xdp ? "CAP_NET_RAW " : "") + "and CAP_IPC_LOCK (or a LimitMEMLOCK of at least " +
          std::to_string((locked_bytes + (1 << 20) - 1) >> 20) +
          " MiB instead of CAP_IPC_LOCK), or root; deploy/systemd/ has a unit "
          "that grants them");
}

}  // namespace xcap
