// XskTestSocket: a veth pair (one end in a namespace made here, one in the root namespace) and
// an AF_XDP socket bound in copy mode to queue 0 of the root-namespace end, for the BPF tests:
// a socket in xsks_map makes the capture path of bpf/xcap.bpf.c redirect. Everything made is
// torn down in the destructor (socket, umem, link, namespace).
//
// The names carry the pid, so test processes that ctest runs in parallel never share a queue
// (binding to lo would also work, but every test process would then compete for lo's queue 0
// and get EBUSY). Uses <xdp/xsk.h>, never <pcap/pcap.h>.
#pragma once

#include <xdp/xsk.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace xcap::test {

class XskTestSocket {
 public:
  // The namespace is <ns_prefix><pid>, the veth ends <link_prefix><pid>a (root namespace,
  // 198.18.0.1/30) and <link_prefix><pid>b (198.18.0.2/30); link_prefix is short enough for
  // IFNAMSIZ with any pid.
  XskTestSocket(std::string ns_prefix, std::string link_prefix);
  ~XskTestSocket();
  XskTestSocket(const XskTestSocket&) = delete;
  XskTestSocket& operator=(const XskTestSocket&) = delete;

  // The veth pair, after removing the leftovers of a crashed run with a recycled pid. Returns
  // "" or what failed.
  std::string make_veth();
  // The AF_XDP socket on queue 0 of host() (no XDP program loaded with it). Returns "" or what
  // failed.
  std::string bind_socket();
  // Both.
  std::string setup();

  int fd() const { return xsk_socket__fd(xsk_); }  // for xsks_map
  uint32_t ifindex() const { return ifindex_; }
  const std::string& host() const { return host_; }
  const std::string& ns() const { return ns_; }
  const std::string& peer() const { return peer_; }

 private:
  static constexpr uint32_t kRing = 64, kFrame = 4096;
  static constexpr size_t kAreaSize = size_t(2) * kRing * kFrame;
  std::string ns_, host_, peer_;
  bool ns_made_ = false, link_made_ = false;
  uint32_t ifindex_ = 0;
  void* area_ = nullptr;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  xsk_ring_prod fill_{}, tx_{};
  xsk_ring_cons comp_{}, rx_{};
};

}  // namespace xcap::test
