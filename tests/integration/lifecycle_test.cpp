// How a capture ends and starts: SIGTERM in the middle of a burst, -c, --duration, a second
// capture on the same interface, and a capture killed with SIGKILL.
#include <gtest/gtest.h>

#include <thread>

#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

TEST(Lifecycle, SigtermMidBurstLosesNothingTheKernelDelivered) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xclife", "198.18.12");
  TempDir dir;
  std::string out = dir / "burst.pcap";
  std::string why;
  const int port = free_port();
  auto cap = start_capture(
      lab.cap_if(), {"--mode", "span", "-w", out, "--metrics", "127.0.0.1:" + std::to_string(port)},
      &why);
  ASSERT_TRUE(cap) << why;
  Subprocess gen(lab.gen_argv({"--count", "0", "--rate", "200000", "--quiet"}));
  // Well into the burst: more than 100,000 frames taken from the socket.
  const std::string rx = "xcap_rx_packets_total{iface=\"" + lab.cap_if() + "\",queue=\"0\"}";
  EXPECT_TRUE(wait_until([&] { return metric(scrape_metrics(port), rx).value_or(0) > 100'000u; },
                         std::chrono::seconds(20), std::chrono::milliseconds(20)));
  cap->signal(SIGTERM);  // the burst is still going
  ASSERT_EQ(cap->wait(60), 0) << cap->err();
  gen.signal(SIGINT);
  gen.wait(10);

  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  auto file = read_pcap(out);
  ASSERT_TRUE(file.error.empty()) << file.error;
  EXPECT_GT(stats->captured, 100'000u) << cap->err();
  EXPECT_EQ(stats->captured, file.records.size());
  // Every frame the kernel handed to a socket is in the file or counted.
  EXPECT_EQ(stats->delivered, stats->captured + stats->writer) << cap->err();
  EXPECT_EQ(stats->steered(), stats->captured + stats->dropped) << cap->err();
}

TEST(Lifecycle, CountStopsAfterExactlyN) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xclife", "198.18.12");
  TempDir dir;
  std::string out = dir / "count.pcap";
  std::string why;
  auto cap = start_capture(lab.cap_if(), {"--mode", "span", "-w", out, "-c", "5000"}, &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--count", "20000", "--rate", "100000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  ASSERT_EQ(cap->wait(30), 0) << cap->err();  // exits by itself
  auto file = read_pcap(out);
  EXPECT_EQ(file.records.size(), 5000u);
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->captured, 5000u);
  // The human stats line is a contract too: its exact format, and the JSON line's numbers.
  auto line = parse_stats_line(cap->err());
  ASSERT_TRUE(line) << "no stats line in its exact format:\n" << cap->err();
  EXPECT_EQ(line->captured, stats->captured);
  EXPECT_EQ(line->dropped, stats->dropped);
  EXPECT_EQ(line->kernel, stats->kernel);
  EXPECT_EQ(line->ring, stats->ring);
  EXPECT_EQ(line->filter, stats->filter_excluded);
  EXPECT_EQ(line->writer, stats->writer);
  EXPECT_EQ(line->decap, stats->decap_error);
  EXPECT_EQ(line->too_big, stats->too_big);
}

TEST(Lifecycle, DurationStopsAndDetaches) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xclife", "198.18.12");
  using clock = std::chrono::steady_clock;
  const auto t0 = clock::now();
  std::string why;
  auto cap = start_capture(lab.cap_if(), {"--duration", "1"}, &why);
  ASSERT_TRUE(cap) << why;
  const auto capturing = clock::now();  // xcap starts its clock just before saying so
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  const auto end = clock::now();
  auto seconds = [](clock::duration d) { return std::chrono::duration<double>(d).count(); };
  // At least the second asked for: it began after t0.
  EXPECT_GE(seconds(end - t0), 1.0);
  // And not much more: the clock checks every 20 ms, the stop (detach, drain, no files) is
  // quick; 1 s of slack for a loaded machine.
  EXPECT_LT(seconds(end - capturing), 2.0);
  EXPECT_TRUE(parse_stats_json(cap->err())) << cap->err();
  auto link = run({"/usr/bin/ip", "link", "show", "dev", lab.cap_if()});
  EXPECT_EQ(link.output.find("xdp"), std::string::npos) << "XDP left attached:\n" << link.output;
}

TEST(Lifecycle, SecondCaptureOnSameInterfaceIsRefused) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xclife", "198.18.12");
  std::string why;
  auto first = start_capture(lab.cap_if(), {}, &why);
  ASSERT_TRUE(first) << why;
  auto second = run({bin("xcap"), "capture", "-i", lab.cap_if(), "--duration", "1"}, 30);
  EXPECT_EQ(second.status, 1) << second.output;
  EXPECT_NE(second.output.find("already in use"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find(std::to_string(first->pid())), std::string::npos) << second.output;
  // The refused one did not disturb the first.
  EXPECT_TRUE(first->running());
  first->signal(SIGINT);
  EXPECT_EQ(first->wait(30), 0) << first->err();
}

TEST(Lifecycle, AfterSigkillTheNextCaptureStarts) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xclife", "198.18.12");
  std::string why;
  auto victim = start_capture(lab.cap_if(), {"--mode", "span"}, &why);
  ASSERT_TRUE(victim) << why;
  victim->signal(SIGKILL);
  victim->wait(10);
  auto link = run({"/usr/bin/ip", "link", "show", "dev", lab.cap_if()});
  EXPECT_NE(link.output.find("xdp"), std::string::npos)
      << "expected the killed capture's program to be left behind:\n"
      << link.output;

  TempDir dir;
  std::string out = dir / "after.pcap";
  auto next = start_capture(lab.cap_if(), {"--mode", "span", "-w", out}, &why);
  ASSERT_TRUE(next) << why;
  EXPECT_NE(next->err().find("removed 1 xcap XDP program"), std::string::npos) << next->err();
  auto gen = lab.send({"--count", "1000", "--rate", "100000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  next->signal(SIGINT);
  ASSERT_EQ(next->wait(30), 0) << next->err();
  auto file = read_pcap(out);
  EXPECT_GE(file.records.size(), 1000u);
}

TEST(Lifecycle, WritesPcapToStdout) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xclife", "198.18.12");
  TempDir dir;
  std::string out = dir / "stdout.pcap";
  std::string why;
  auto cap = start_capture(lab.cap_if(), {"--mode", "span", "-w", "-", "-v"}, &why, out);
  ASSERT_TRUE(cap) << why;
  // Paced: unpaced, the sender can outrun the veth's 256-frame peer queue whenever the
  // receive softirq is deferred to ksoftirqd, and veth drops frames before any XDP program
  // sees them (xcap-gen warns). That is the lab losing them, not xcap.
  auto gen = lab.send({"--count", "3000", "--rate", "100000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  ASSERT_EQ(gen.output.find("warning"), std::string::npos) << "the lab lost frames:\n"
                                                           << gen.output;
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  auto file = read_pcap(out);
  ASSERT_TRUE(file.error.empty()) << file.error;
  EXPECT_GE(file.records.size(), 3000u);
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->captured, file.records.size());
  EXPECT_EQ(stats->dropped, 0u) << cap->err();
  EXPECT_EQ(stats->xdp_redirected, stats->captured) << cap->err();
}

}  // namespace
}  // namespace xcap::test
