#include "common/xsk_test_socket.h"

#include <linux/if_link.h>
#include <net/if.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>

#include "common/subprocess.h"

namespace xcap::test {

XskTestSocket::XskTestSocket(std::string ns_prefix, std::string link_prefix) {
  const std::string id = std::to_string(getpid());
  ns_ = ns_prefix + id;
  host_ = link_prefix + id + "a";
  peer_ = link_prefix + id + "b";
}

XskTestSocket::~XskTestSocket() {
  if (xsk_) xsk_socket__delete(xsk_);
  if (umem_) xsk_umem__delete(umem_);
  if (area_) munmap(area_, kAreaSize);
  if (link_made_) sh_quiet("ip link del " + host_);
  if (ns_made_) sh_quiet("ip netns del " + ns_);
}

std::string XskTestSocket::make_veth() {
  sh_quiet("ip link del " + host_);  // leftovers of a crashed run with a recycled pid
  sh_quiet("ip netns del " + ns_);
  if (sh_quiet("ip netns add " + ns_) != 0) return "ip netns add " + ns_;
  ns_made_ = true;
  if (sh_quiet("ip link add " + host_ + " type veth peer name " + peer_ + " netns " + ns_) != 0)
    return "ip link add " + host_ + " type veth";
  link_made_ = true;
  if (sh_quiet("ip addr add 198.18.0.1/30 dev " + host_) != 0 ||
      sh_quiet("ip link set " + host_ + " up"))
    return "configuring " + host_;
  if (sh_quiet("ip -n " + ns_ + " addr add 198.18.0.2/30 dev " + peer_) != 0 ||
      sh_quiet("ip -n " + ns_ + " link set " + peer_ + " up") != 0)
    return "configuring " + peer_ + " in " + ns_;
  ifindex_ = if_nametoindex(host_.c_str());
  if (!ifindex_) return "if_nametoindex " + host_;
  return "";
}

std::string XskTestSocket::bind_socket() {
  area_ = mmap(nullptr, kAreaSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (area_ == MAP_FAILED) {
    area_ = nullptr;
    return "mmap umem";
  }
  xsk_umem_config ucfg{};
  ucfg.fill_size = kRing;
  ucfg.comp_size = kRing;
  ucfg.frame_size = kFrame;
  ucfg.frame_headroom = 0;
  if (int e = xsk_umem__create(&umem_, area_, kAreaSize, &fill_, &comp_, &ucfg))
    return std::string("xsk_umem__create: ") + strerror(-e);
  xsk_socket_config scfg{};
  scfg.rx_size = kRing;
  scfg.tx_size = kRing;
  scfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;
  scfg.xdp_flags = XDP_FLAGS_SKB_MODE;
  scfg.bind_flags = XDP_COPY;
  if (int e = xsk_socket__create(&xsk_, host_.c_str(), 0, umem_, &rx_, &tx_, &scfg))
    return std::string("xsk_socket__create on ") + host_ + " queue 0: " + strerror(-e);
  return "";
}

std::string XskTestSocket::setup() {
  std::string e = make_veth();
  return e.empty() ? bind_socket() : e;
}

}  // namespace xcap::test
