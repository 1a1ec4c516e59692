// Lab: the veth lab of tools/lab for one test suite: a namespace <name>-gen holding the
// sender end <name>g (198.18.X.1) and the capture end <name>c (198.18.X.2) in the root
// namespace. Built in the constructor (after removing any leftover of a crashed run) and torn
// down in the destructor, XDP attachments with it.
#pragma once

#include <string>
#include <vector>

#include "common/fd.h"
#include "common/frame_builder.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"  // TempDir, for the tests that use a Lab

namespace xcap::test {

class Lab {
 public:
  // mtu: both ends' MTU (XCAP_LAB_MTU); 0 keeps tools/lab's default (1600).
  explicit Lab(const std::string& name, const std::string& net = "198.18.0", int queues = 1,
               int mtu = 0);
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  const std::string& ns() const { return ns_; }
  const std::string& gen_if() const { return gen_; }
  const std::string& cap_if() const { return cap_; }
  std::string gen_ip() const { return net_ + ".1"; }
  std::string cap_ip() const { return net_ + ".2"; }
  // argv that runs argv inside the gen namespace.
  std::vector<std::string> in_ns(std::vector<std::string> argv) const;
  // argv of xcap-gen in the gen namespace, pinned to the last core. On veth the receive path
  // (XDP, the AF_XDP copy) runs on the sender's core, and xcap pins queue 0's worker to core
  // 0: sharing one core would measure the scheduler, not the capture.
  std::vector<std::string> gen_argv(const std::vector<std::string>& gen_args) const;
  // Sends with xcap-gen from the gen namespace; returns its exit status and output.
  RunResult send(const std::vector<std::string>& gen_args, double timeout_s = 120) const;
  // A packet socket (AF_PACKET, SOCK_RAW) on the sender end, made in the gen namespace:
  // send() on it puts whole Ethernet frames of any size up to the MTU on the wire, where
  // xcap-gen's XDP live frames stop at a page. Throws on failure.
  Fd raw_socket() const;
  // The capture end's MAC address ("aa:bb:..") so replayed frames can be addressed to it.
  std::string cap_mac() const;
  MacAddr cap_mac_bytes() const;

 private:
  std::string env() const;  // the tools/lab environment for this lab
  std::string name_, net_, ns_, gen_, cap_;
  int queues_;
  int mtu_;
};

std::string bin(const std::string& name);  // path of a built binary (xcap, xcap-gen)
std::string source_path(const std::string& rel);

}  // namespace xcap::test
