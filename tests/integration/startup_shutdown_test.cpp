// Start-up, shutdown and the environment: a capture started into running traffic counts no
// drop for sockets still being bound; an interface deleted under a capture ends it with an
// error and sealed files; the interface lock is per network namespace; --metrics listens on
// IPv6 and says plainly when its port is taken.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/fd.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

TEST(Startup, CaptureStartedIntoRunningTrafficCountsNoDrop) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcstart", "198.18.31");
  // Traffic first: 2 s of frames already arriving while xcap attaches, binds and arms. Until
  // xcap attaches, veth drops them unseen (no NAPI on the capture end): xcap-gen's warning.
  Subprocess gen(lab.gen_argv({"--count", "200000", "--rate", "100000", "--quiet"}));
  std::string why;
  auto cap = start_capture(lab.cap_if(), {"--mode", "span", "-v"}, &why);
  ASSERT_TRUE(cap) << why;
  ASSERT_EQ(gen.wait(60), 0) << gen.err();
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  // Ring overflows, should the worker lose its core for a while, are counted as ring drops;
  // what must not appear is a frame that found no socket because it was still being bound.
  EXPECT_EQ(stats->xdp_no_socket, 0u) << cap->err();
  EXPECT_EQ(stats->kernel, 0u) << cap->err();
  // The window between attaching and arming was really crossed by traffic.
  EXPECT_GT(stats->not_ready, 0u) << cap->err();
  EXPECT_GT(stats->captured, 50'000u) << cap->err();
  EXPECT_EQ(stats->steered(), stats->captured + stats->dropped) << cap->err();
}

// The UMEM (64 MiB with the default ring) sits on transparent huge pages where the kernel has
// them: the worker's reads of every frame would otherwise miss the TLB (README: Benchmarks).
TEST(Startup, UmemIsOnHugePagesWhereTheKernelHasThem) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcthp", "198.18.90");
  std::string why;
  auto cap = start_capture(lab.cap_if(), {"--mode", "span", "-w", "/dev/null"}, &why);
  ASSERT_TRUE(cap) << why;
  std::ifstream smaps("/proc/" + std::to_string(cap->pid()) + "/smaps_rollup");
  uint64_t huge_kib = 0;
  for (std::string line; std::getline(smaps, line);)
    if (line.starts_with("AnonHugePages:")) huge_kib = std::stoull(line.substr(14));
  cap->signal(SIGINT);
  EXPECT_EQ(cap->wait(30), 0) << cap->err();
  std::ifstream enabled("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string modes((std::istreambuf_iterator<char>(enabled)), {});
  if (modes.find("[never]") != std::string::npos || modes.empty()) {
    EXPECT_EQ(huge_kib, 0u) << "THP is off here: " << modes;
  } else {
    EXPECT_GE(huge_kib, 64u * 1024) << "THP: " << modes;
  }
}

TEST(Startup, VanishedInterfaceEndsWithAnErrorAndSealedFiles) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcstart", "198.18.31");
  TempDir dir;
  const std::string out = dir / "gone.pcap";
  const int port = free_port();
  std::string why;
  auto cap = start_capture(lab.cap_if(),
                           {"--mode", "span", "-w", out, "--duration", "120", "--metrics",
                            "127.0.0.1:" + std::to_string(port)},
                           &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--count", "2000", "--rate", "100000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  // Once the frames are captured, take the interface away.
  const std::string captured = "xcap_captured_packets_total{iface=\"" + lab.cap_if() + "\"} ";
  ASSERT_TRUE(wait_until(
      [&] {
        const std::string body = http_get(port, "/metrics");
        const auto at = body.find(captured);
        return at != std::string::npos && std::stoull(body.substr(at + captured.size())) >= 2000;
      },
      std::chrono::seconds(20)));
  ASSERT_EQ(sh("ip link del dev " + lab.cap_if()), 0);
  const int status = cap->wait(20);
  EXPECT_EQ(status, 1) << "expected exit 1 well before --duration 120:\n" << cap->err();
  EXPECT_NE(cap->err().find("has disappeared"), std::string::npos) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_FALSE(std::filesystem::exists(out + ".part")) << "left as .part";
  auto file = read_pcap(out);
  ASSERT_TRUE(file.error.empty()) << file.error;
  EXPECT_GE(file.records.size(), 2000u);
  EXPECT_EQ(file.records.size(), stats->captured);
}

// One network namespace with a veth pair whose ends are NAME and NAMEp, in it.
class NamespaceWithLink {
 public:
  NamespaceWithLink(std::string ns, std::string link) : ns_(std::move(ns)), link_(std::move(link)) {
    sh_quiet("ip netns del " + ns_);
    if (sh("ip netns add " + ns_) != 0 ||
        sh("ip -n " + ns_ + " link add " + link_ + " type veth peer name " + link_ + "p") != 0 ||
        sh("ip -n " + ns_ + " link set " + link_ + " up") != 0 ||
        sh("ip -n " + ns_ + " link set " + link_ + "p up") != 0)
      throw std::runtime_error("cannot build namespace " + ns_);
  }
  ~NamespaceWithLink() { sh_quiet("ip netns del " + ns_); }
  std::vector<std::string> xcap(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"/usr/bin/ip", "netns",   "exec", ns_,
                                  bin("xcap"),   "capture", "-i",   link_};
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
  }

 private:
  std::string ns_, link_;
};

TEST(Startup, SameInterfaceNameInTwoNamespacesCapturesInBoth) {
  XCAP_REQUIRE_PRIVILEGED();
  NamespaceWithLink a("xclock-a", "xclk0"), b("xclock-b", "xclk0");
  Subprocess first(a.xcap({"--mode", "span", "--duration", "60"}));
  ASSERT_TRUE(first.wait_for_stderr("capturing on", 30)) << first.err();
  Subprocess second(b.xcap({"--mode", "span", "--duration", "60"}));
  ASSERT_TRUE(second.wait_for_stderr("capturing on", 30)) << second.err();
  // In one namespace the lock still holds.
  auto third = run(a.xcap({"--duration", "1"}), 30);
  EXPECT_EQ(third.status, 1) << third.output;
  EXPECT_NE(third.output.find("already in use"), std::string::npos) << third.output;
  first.signal(SIGINT);
  second.signal(SIGINT);
  EXPECT_EQ(first.wait(30), 0) << first.err();
  EXPECT_EQ(second.wait(30), 0) << second.err();
}

TEST(Startup, MetricsListenOnIpv6) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcstart", "198.18.31");
  // A documentation address on the lab's own link; nodad: usable at once.
  ASSERT_EQ(sh("ip addr add 2001:db8:31::2/64 dev " + lab.cap_if() + " nodad"), 0);
  for (const std::string host : {"::1", "2001:db8:31::2"}) {
    SCOPED_TRACE(host);
    const int port = free_port();
    std::string why;
    auto cap =
        start_capture(lab.cap_if(), {"--metrics", "[" + host + "]:" + std::to_string(port)}, &why);
    ASSERT_TRUE(cap) << why;
    const std::string body = http_get(host, port, "/metrics");
    EXPECT_NE(body.find("xcap_captured_packets_total"), std::string::npos) << body;
    cap->signal(SIGINT);
    EXPECT_EQ(cap->wait(30), 0) << cap->err();
  }
}

TEST(Startup, MetricsPortInUseSaysSo) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcstart", "198.18.31");
  Fd busy(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(busy.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(listen(busy.get(), 1), 0);
  socklen_t len = sizeof a;
  getsockname(busy.get(), reinterpret_cast<sockaddr*>(&a), &len);
  const std::string addr = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  auto r =
      run({bin("xcap"), "capture", "-i", lab.cap_if(), "--metrics", addr, "--duration", "5"}, 30);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("--metrics " + addr + ": cannot listen: port " +
                          std::to_string(ntohs(a.sin_port)) + " on 127.0.0.1 is already in use"),
            std::string::npos)
      << r.output;
  // Nothing stays attached after the failed start.
  auto link = run({"/usr/bin/ip", "link", "show", "dev", lab.cap_if()});
  EXPECT_EQ(link.output.find("xdp"), std::string::npos) << link.output;
}

}  // namespace
}  // namespace xcap::test
