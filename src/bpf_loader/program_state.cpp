// Includes the skeleton (and with it <linux/bpf.h>): never <pcap/pcap.h> here.
#include "bpf_loader/program_state.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "xcap_abi.h"  // before the skeleton, which names struct xcap_config

#include "xcap.skel.h"

namespace xcap::bpf_loader {
namespace {

// Read, change one field, write back: the main thread is the only writer.
template <typename Change>
Result<void> update_bss(::xcap_bpf* skel, Change change) {
  const int fd = bpf_map__fd(skel->maps.bss);
  const uint32_t key = 0;
  xcap_bpf::xcap_bpf__bss bss{};
  if (bpf_map_lookup_elem(fd, &key, &bss) != 0)
    return errno_error("reading the XDP program's .bss");
  change(bss);
  if (bpf_map_update_elem(fd, &key, &bss, BPF_ANY) != 0)
    return errno_error("writing the XDP program's .bss");
  return ok();
}

}  // namespace

Result<void> set_filter_installed(::xcap_bpf* skel, bool on) {
  return update_bss(skel, [on](auto& bss) { bss.xcap_filter_installed = on; });
}

Result<void> set_capturing(::xcap_bpf* skel, bool on) {
  return update_bss(skel, [on](auto& bss) { bss.xcap_capturing = on; });
}

Result<void> set_max_frame(::xcap_bpf* skel, uint32_t bytes, bool linear_only) {
  return update_bss(skel, [&](auto& bss) {
    bss.xcap_max_frame = bytes;
    bss.xcap_linear_only = linear_only;
  });
}

}  // namespace xcap::bpf_loader

namespace xcap::bpf_loader {

Result<void> set_self_endpoint(::xcap_bpf* skel, const std::string& address, uint16_t port) {
  auto e = self_endpoint(address, port);
  if (!e) return e.error();
  return update_bss(skel, [&](auto& bss) { std::memcpy(&bss.xcap_self, &*e, sizeof *e); });
}

Result<xcap_self_endpoint> self_endpoint(const std::string& address, uint16_t port) {
  xcap_self_endpoint e{};
  std::string a = address;
  if (a.size() > 1 && a.front() == '[' && a.back() == ']') a = a.substr(1, a.size() - 2);
  if (inet_pton(AF_INET, a.c_str(), e.addr) == 1) {
    e.ipv6 = 0;
  } else if (inet_pton(AF_INET6, a.c_str(), e.addr) == 1) {
    e.ipv6 = 1;
  } else {
    return invalid_input("streaming server address \"" + address + "\" is not an IP address");
  }
  e.any_addr = std::all_of(std::begin(e.addr), std::end(e.addr), [](uint8_t b) { return !b; });
  e.port = htons(port);
  return e;
}

}  // namespace xcap::bpf_loader
