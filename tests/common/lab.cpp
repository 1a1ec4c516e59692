#include "common/lab.h"

#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <thread>

namespace xcap::test {

std::string bin(const std::string& name) {
  return std::string(XCAP_BIN_DIR) + "/" + name;
}
std::string source_path(const std::string& rel) {
  return std::string(XCAP_SOURCE_DIR) + "/" + rel;
}

Lab::Lab(const std::string& name, const std::string& net, int queues, int mtu)
    : name_(name),
      net_(net),
      ns_(name + "-gen"),
      gen_(name + "g"),
      cap_(name + "c"),
      queues_(queues),
      mtu_(mtu) {
  // A crashed earlier run may have left this lab behind: start clean.
  sh(env() + source_path("tools/lab") + " down " + name_ + " >/dev/null 2>&1");
  if (sh(env() + source_path("tools/lab") + " up " + name_ + " >/dev/null") != 0)
    throw std::runtime_error("tools/lab up " + name_ + " failed");
}

std::string Lab::env() const {
  return "XCAP_LAB_NET=" + net_ + " XCAP_LAB_QUEUES=" + std::to_string(queues_) +
         (mtu_ ? " XCAP_LAB_MTU=" + std::to_string(mtu_) : std::string()) + " ";
}

Lab::~Lab() {
  // Whatever a test left attached goes with the link.
  sh("ip link set dev " + cap_ + " xdp off >/dev/null 2>&1");
  sh(env() + source_path("tools/lab") + " down " + name_ + " >/dev/null 2>&1");
}

std::vector<std::string> Lab::in_ns(std::vector<std::string> argv) const {
  std::vector<std::string> out{"/usr/bin/ip", "netns", "exec", ns_};
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

std::vector<std::string> Lab::gen_argv(const std::vector<std::string>& gen_args) const {
  unsigned ncpu = std::max(1u, std::thread::hardware_concurrency());
  std::vector<std::string> argv{"/usr/bin/taskset", "-c", std::to_string(ncpu - 1),
                                bin("xcap-gen"),    "-i", gen_};
  argv.insert(argv.end(), gen_args.begin(), gen_args.end());
  return in_ns(argv);
}

RunResult Lab::send(const std::vector<std::string>& gen_args, double timeout_s) const {
  return run(gen_argv(gen_args), timeout_s);
}

Fd Lab::raw_socket() const {
  // setns changes the namespace of the calling thread only: a thread of its own goes in, makes
  // the socket (which stays in the namespace it was made in) and ends.
  Fd sock;
  std::string err;
  std::thread t([&] {
    Fd ns(open(("/var/run/netns/" + ns_).c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns.valid() || setns(ns.get(), CLONE_NEWNET) != 0) {
      err = "entering " + ns_ + ": " + strerror(errno);
      return;
    }
    Fd s(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0));  // protocol 0: sends, receives nothing
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_ifindex = int(if_nametoindex(gen_.c_str()));
    if (!s.valid() || a.sll_ifindex == 0 ||
        bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      err = "packet socket on " + gen_ + ": " + strerror(errno);
      return;
    }
    sock = std::move(s);
  });
  t.join();
  if (!sock.valid()) throw std::runtime_error(err);
  return sock;
}

std::string Lab::cap_mac() const {
  std::string mac = read_file("/sys/class/net/" + cap_ + "/address");
  while (!mac.empty() && (mac.back() == '\n' || mac.back() == ' ')) mac.pop_back();
  return mac;
}

MacAddr Lab::cap_mac_bytes() const {
  MacAddr m{};
  unsigned v[6] = {};
  sscanf(cap_mac().c_str(), "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]);
  for (int i = 0; i < 6; i++) m[size_t(i)] = uint8_t(v[i]);
  return m;
}

}  // namespace xcap::test
