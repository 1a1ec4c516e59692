// deploy/systemd: the units pass `systemd-analyze verify`; their hardening score is the one the
// README states; the capabilities they grant are enough for a real capture as an unprivileged
// user, and each one is needed (one fewer fails, naming it); every system call a capture
// makes passes their SystemCallFilter (strace of a real capture, streaming and metrics on).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

const std::string kUnits = XCAP_SOURCE_DIR "/deploy/systemd/";
const std::string kXcap = XCAP_BIN_DIR "/xcap";
constexpr uid_t kNobody = 65534;  // Debian's nobody: any uid without privileges would do

// The values of every "Key=" line of a unit, in order.
std::vector<std::string> values(const std::string& unit, const std::string& key) {
  std::vector<std::string> out;
  std::istringstream in(read_file(kUnits + unit));
  for (std::string l; std::getline(in, l);)
    if (l.rfind(key + "=", 0) == 0) out.push_back(l.substr(key.size() + 1));
  return out;
}

std::vector<std::string> words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

// The unit as shipped, except that ExecStart runs the binary just built instead of
// /usr/bin/xcap, which `verify` requires to exist.
std::string unit_for_this_build(const TempDir& dir, const std::string& unit) {
  std::string text = read_file(kUnits + unit);
  text = std::regex_replace(text, std::regex("/usr/bin/xcap "), kXcap + " ");
  std::ofstream(dir / unit) << text;
  return dir / unit;
}

TEST(SystemdUnits, VerifyPassesAndTheReadmeStatesTheirExposure) {
  TempDir dir;
  const std::string readme = read_file(XCAP_SOURCE_DIR "/README.md");
  for (const char* unit : {"xcap-capture@.service", "xcap-serve.service"}) {
    const std::string path = unit_for_this_build(dir, unit);
    auto v = run({"/usr/bin/systemd-analyze", "verify", path});
    EXPECT_EQ(v.status, 0) << unit << ": " << v.output;
    EXPECT_EQ(v.output, "") << unit << " has warnings: " << v.output;
    auto s = run({"/usr/bin/systemd-analyze", "security", "--offline=yes", path});
    std::smatch m;
    ASSERT_TRUE(
        std::regex_search(s.output, m, std::regex(R"(Overall exposure level for \S+: ([0-9.]+))")))
        << s.output;
    const std::string claim = std::string("`") + unit + "`: exposure " + m[1].str();
    EXPECT_NE(readme.find(claim), std::string::npos)
        << "README should say \"" << claim << "\" (systemd-analyze security --offline=yes)";
  }
}

// `xcap capture` as uid nobody holding exactly caps (ambient, inherited and bounding).
std::unique_ptr<Subprocess> capture_as_nobody(const Lab& lab, const std::vector<std::string>& caps,
                                              const TempDir& dir, const std::string& out) {
  std::string set = "-all";
  for (const auto& c : caps) set += ",+" + std::regex_replace(c, std::regex("^CAP_"), "");
  std::transform(set.begin(), set.end(), set.begin(), ::tolower);
  return std::make_unique<Subprocess>(std::vector<std::string>{
      "/usr/bin/env",
      "RUNTIME_DIRECTORY=" + dir.path(),
      "/usr/bin/setpriv",
      "--reuid=" + std::to_string(kNobody),
      "--regid=" + std::to_string(kNobody),
      "--clear-groups",
      "--inh-caps=" + set,
      "--ambient-caps=" + set,
      "--bounding-set=" + set,
      kXcap,
      "capture",
      "-i",
      lab.cap_if(),
      "--mode",
      "span",
      "-w",
      out,
      "--duration",
      "10",
      "-f",
      "udp dst port 5678",  // xcap-gen's frames, not the lab's IPv6 chatter
      "--stats-json"});
}

TEST(SystemdUnits, TheirCapabilitiesAreEnoughAndEachIsNeeded) {
  XCAP_REQUIRE_PRIVILEGED();
  const auto ambient = values("xcap-capture@.service", "AmbientCapabilities");
  ASSERT_EQ(ambient.size(), 1u);
  const std::vector<std::string> caps = words(ambient[0]);
  ASSERT_EQ(values("xcap-capture@.service", "CapabilityBoundingSet"), ambient);
  ASSERT_EQ(values("xcap-serve.service", "AmbientCapabilities"), ambient);
  Lab lab("xcunit", "198.18.83");
  TempDir dir;
  ASSERT_EQ(chown(dir.path().c_str(), kNobody, kNobody), 0);

  // With the unit's set: a real capture, as nobody, writes what was sent.
  const std::string out = dir / "all.pcap";
  auto cap = capture_as_nobody(lab, caps, dir, out);
  ASSERT_TRUE(cap->wait_for_stderr("capturing on", 30)) << cap->err();
  auto gen = lab.send({"--count", "1000", "--quiet"});
  EXPECT_EQ(gen.status, 0) << gen.output;
  cap->signal(SIGINT);  // setpriv became xcap: same process
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  auto file = read_pcap(out);
  EXPECT_TRUE(file.error.empty()) << file.error;
  EXPECT_EQ(file.records.size(), 1000u) << cap->err();
  EXPECT_EQ(sh_quiet("ip link show dev " + lab.cap_if() + " | grep -q xdp"), 1)
      << "XDP left attached after an unprivileged capture";

  // One fewer: refused before anything is attached, naming the missing one.
  for (const auto& drop : caps) {
    std::vector<std::string> fewer;
    for (const auto& c : caps)
      if (c != drop) fewer.push_back(c);
    auto f = capture_as_nobody(lab, fewer, dir, dir / ("no-" + drop + ".pcap"));
    EXPECT_NE(f->wait(30), 0) << "without " << drop << ": " << f->err();
    EXPECT_NE(f->err().find("missing " + drop + ":"), std::string::npos) << f->err();
  }
}

// Every system call in the filter's groups, as systemd expands them.
std::set<std::string> expand_filter(const std::string& name) {
  if (name[0] != '@') return {name};
  auto r = run({"/usr/bin/systemd-analyze", "syscall-filter", name});
  std::set<std::string> out;
  std::istringstream in(r.output);
  std::string l;
  std::getline(in, l);  // the group's own name
  for (; std::getline(in, l);) {
    auto w = words(l);
    if (w.empty() || w[0][0] == '#') continue;
    auto more = expand_filter(w[0]);
    out.insert(more.begin(), more.end());
  }
  return out;
}

TEST(SystemdUnits, EverySystemCallOfACapturePassesTheirFilter) {
  XCAP_REQUIRE_PRIVILEGED();
  std::set<std::string> allowed, denied;
  for (const auto& v : values("xcap-capture@.service", "SystemCallFilter"))
    for (const auto& w : words(v)) {
      auto& into = v[0] == '~' ? denied : allowed;
      auto names = expand_filter(w[0] == '~' ? w.substr(1) : w);
      into.insert(names.begin(), names.end());
    }
  ASSERT_TRUE(allowed.count("bpf"));
  Lab lab("xcunitsc", "198.18.84");
  TempDir dir;
  const int metrics = free_port(), listen = free_port();
  Subprocess cap({"/usr/bin/strace",
                  "-f",
                  "-qq",
                  "-o",
                  dir / "trace",
                  kXcap,
                  "capture",
                  "-i",
                  lab.cap_if(),
                  "--mode",
                  "span",
                  "-w",
                  dir / "t.pcapng",
                  "--format",
                  "pcapng",
                  "-C",
                  "1",
                  "--metrics",
                  "127.0.0.1:" + std::to_string(metrics),
                  "--listen",
                  "127.0.0.1:" + std::to_string(listen)});
  ASSERT_TRUE(cap.wait_for_stderr("capturing on", 30)) << cap.err();
  http_get(metrics, "/metrics");
  http_get(metrics, "/healthz");
  Subprocess client({"/usr/bin/curl", "-s", "-N", "-m", "3",
                     "http://127.0.0.1:" + std::to_string(listen) + "/capture"});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto gen = lab.send({"--count", "30000", "--size", "100", "--quiet"});  // 3 MB: a rotation
  EXPECT_EQ(gen.status, 0) << gen.output;
  client.wait(10);
  // The signal goes to xcap, strace's child (strace itself would only detach).
  const std::string children = read_file("/proc/" + std::to_string(cap.pid()) + "/task/" +
                                         std::to_string(cap.pid()) + "/children");
  ASSERT_FALSE(children.empty());
  ASSERT_EQ(kill(std::stoi(children), SIGTERM), 0);
  ASSERT_EQ(cap.wait(30), 0) << cap.err();
  std::set<std::string> used;
  std::istringstream in(read_file(dir / "trace"));
  const std::regex call(R"(^\d+\s+([a-z_0-9]+)\()");
  for (std::string l; std::getline(in, l);)
    if (std::smatch m; std::regex_search(l, m, call)) used.insert(m[1]);
  EXPECT_GT(used.size(), 30u) << "the trace looks empty";
  for (const auto& s : used) {
    EXPECT_TRUE(allowed.count(s)) << s << " is not in the units' SystemCallFilter";
    EXPECT_FALSE(denied.count(s)) << s << " is denied by the units' SystemCallFilter";
  }
}

}  // namespace
}  // namespace xcap::test
