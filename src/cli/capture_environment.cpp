#include "cli/capture_environment.h"

#include <net/if.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "source/xsk_frame.h"
#include "xcap_abi.h"

namespace xcap::cli {
namespace {

Result<uint32_t> parse_queue_number(const std::string& spec, const std::string& s, uint32_t lo,
                                    uint32_t hi) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi)
    return invalid_input("--queues '" + spec + "': '" + s + "' is not a queue from " +
                         std::to_string(lo) + " to " + std::to_string(hi));
  return v;
}

bool interface_up(const std::string& ifname) {
  std::ifstream in("/sys/class/net/" + ifname + "/flags");
  unsigned long flags = 0;
  in >> std::hex >> flags;
  return flags & 0x1;  // IFF_UP
}

// Local mode: every interface resolved, each one worker (its "queue" i).
Result<void> resolve_local(pipeline::CaptureOptions& o) {
  auto names = expand_local_interfaces(o.local_ifaces.empty() ? std::vector<std::string>{o.iface}
                                                              : o.local_ifaces);
  if (!names) return names.error();
  o.local_ifaces = std::move(names.value());
  o.local_ifindexes.clear();
  o.queues.clear();
  for (const std::string& name : o.local_ifaces) {
    const int index = int(if_nametoindex(name.c_str()));
    if (index == 0) return invalid_input("-i: interface '" + name + "' not found");
    if (std::find(o.local_ifindexes.begin(), o.local_ifindexes.end(), index) !=
        o.local_ifindexes.end())
      return invalid_input("-i " + name + ": given twice");
    o.local_ifindexes.push_back(index);
    o.queues.push_back(uint32_t(o.queues.size()));
  }
  o.iface = o.local_ifaces.front();
  o.ifindex = o.local_ifindexes.front();
  o.mtu = interface_mtu(o.iface);
  if (o.frame_size == 0) o.frame_size = frame_size_for_mtu(o.mtu);
  return ok();
}

}  // namespace

Result<std::vector<std::string>> expand_local_interfaces(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const std::string& n : names) {
    if (n != "all") {
      out.push_back(n);
      continue;
    }
    std::vector<std::string> up;
    std::error_code ec;
    for (auto& e : std::filesystem::directory_iterator("/sys/class/net", ec)) {
      const std::string name = e.path().filename().string();
      if (name != "lo" && interface_up(name)) up.push_back(name);
    }
    std::sort(up.begin(), up.end());
    if (up.empty()) return invalid_input("-i all: no interface is up (loopback aside)");
    for (const std::string& u : up)
      if (std::find(out.begin(), out.end(), u) == out.end()) out.push_back(u);
  }
  return out;
}

uint32_t interface_rx_queues(const std::string& ifname) {
  namespace fs = std::filesystem;
  std::error_code ec;  // no such directory: the count stays 0 and 1 is assumed
  uint32_t n = 0;
  for (auto& e : fs::directory_iterator("/sys/class/net/" + ifname + "/queues", ec))
    if (e.path().filename().string().rfind("rx-", 0) == 0) n++;
  return n ? n : 1;
}

uint32_t interface_mtu(const std::string& ifname) {
  std::ifstream in("/sys/class/net/" + ifname + "/mtu");
  uint32_t mtu = 0;
  in >> mtu;
  return mtu;
}

uint32_t frame_size_for_mtu(uint32_t mtu) {
  if (mtu == 0) mtu = 1500;
  using namespace source;
  return mtu + kL2Overhead <= kMinUmemFrame - kXdpPacketHeadroom ? kMinUmemFrame
                                                                 : defaults::kFrameSize;
}

Result<std::vector<uint32_t>> parse_queue_list(const std::string& spec, uint32_t n_queues) {
  std::vector<uint32_t> out;
  if (spec == "all") {
    for (uint32_t q = 0; q < n_queues; q++) out.push_back(q);
    return out;
  }
  std::stringstream ss(spec);
  std::string item;
  const uint32_t max = std::min<uint32_t>(n_queues, XCAP_MAX_QUEUES) - 1;
  while (std::getline(ss, item, ',')) {
    const auto dash = item.find('-');
    auto lo = parse_queue_number(spec, item.substr(0, dash), 0, max);
    if (!lo) return lo.error();
    uint32_t hi = *lo;
    if (dash != std::string::npos) {
      auto h = parse_queue_number(spec, item.substr(dash + 1), *lo, max);
      if (!h) return h.error();
      hi = *h;
    }
    for (uint32_t q = *lo; q <= hi; q++)
      if (std::find(out.begin(), out.end(), q) == out.end()) out.push_back(q);
  }
  if (out.empty()) return invalid_input("--queues '" + spec + "': no queue given");
  return out;
}

Result<void> resolve_capture_environment(pipeline::CaptureOptions& o) {
  if (o.replay()) return ok();
  if (o.local()) return resolve_local(o);
  o.ifindex = int(if_nametoindex(o.iface.c_str()));
  if (o.ifindex == 0) return invalid_input("-i: interface '" + o.iface + "' not found");
  o.iface_rx_queues = interface_rx_queues(o.iface);
  auto queues = parse_queue_list(o.queues_spec, o.iface_rx_queues);
  if (!queues)
    return invalid_input(queues.error().message + " (" + o.iface + " has " +
                         std::to_string(o.iface_rx_queues) + " rx queues)");
  o.queues = std::move(queues.value());
  o.mtu = interface_mtu(o.iface);
  if (o.frame_size == 0) o.frame_size = frame_size_for_mtu(o.mtu);
  return ok();
}

}  // namespace xcap::cli
