#include "veth_stats.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace xcap::gen {
namespace {

bool ethtool(int fd, const std::string& iface, void* cmd) {
  ifreq ifr{};
  strncpy(ifr.ifr_name, iface.c_str(), IFNAMSIZ - 1);
  ifr.ifr_data = static_cast<char*>(cmd);
  return ioctl(fd, SIOCETHTOOL, &ifr) == 0;
}

bool ends_with(const char* s, const char* suffix) {
  size_t n = strnlen(s, ETH_GSTRING_LEN), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

}  // namespace

std::optional<PeerCounters> read_peer_counters(const std::string& iface) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  std::optional<PeerCounters> out;
  do {
    ethtool_drvinfo info{};
    info.cmd = ETHTOOL_GDRVINFO;
    if (!ethtool(fd, iface, &info) || strcmp(info.driver, "veth") != 0) break;
    uint32_t n = info.n_stats;
    std::vector<uint8_t> names(sizeof(ethtool_gstrings) + size_t(n) * ETH_GSTRING_LEN);
    auto* gs = reinterpret_cast<ethtool_gstrings*>(names.data());
    gs->cmd = ETHTOOL_GSTRINGS;
    gs->string_set = ETH_SS_STATS;
    gs->len = n;
    std::vector<uint8_t> values(sizeof(ethtool_stats) + size_t(n) * sizeof(uint64_t));
    auto* st = reinterpret_cast<ethtool_stats*>(values.data());
    st->cmd = ETHTOOL_GSTATS;
    st->n_stats = n;
    if (!ethtool(fd, iface, gs) || !ethtool(fd, iface, st)) break;
    PeerCounters c;
    for (uint32_t i = 0; i < n && i < gs->len && i < st->n_stats; i++) {
      const char* name = reinterpret_cast<const char*>(gs->data + size_t(i) * ETH_GSTRING_LEN);
      if (strncmp(name, "tx_queue_", 9) != 0) continue;
      if (ends_with(name, "_xdp_xmit")) c.queued += st->data[i];
      if (ends_with(name, "_xdp_xmit_errors")) c.refused += st->data[i];
    }
    out = c;
  } while (false);
  close(fd);
  return out;
}

}  // namespace xcap::gen
