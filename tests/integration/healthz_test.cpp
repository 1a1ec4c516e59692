// GET /healthz on the metrics listener, as a load balancer probes it, with curl: 200 while the
// capture runs whole, 503 with the reason when XDP was detached behind xcap's back or the
// writer is stalled.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/lab.h"
#include "common/temp_dir.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

struct Answer {
  int status = 0;
  std::string body;
};

// curl, as a probe would: the status code on the last line, after the body.
Answer healthz(int port) {
  auto r = run({"/usr/bin/curl", "-s", "-m", "5", "-w", "\n%{http_code}",
                "http://127.0.0.1:" + std::to_string(port) + "/healthz"});
  Answer a;
  const size_t nl = r.output.rfind('\n');
  if (nl == std::string::npos) return a;
  a.status = std::atoi(r.output.c_str() + nl + 1);
  a.body = r.output.substr(0, nl);
  return a;
}

TEST(Healthz, OkWhileCapturingAnd503OnceXdpIsDetached) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xchealth", "198.18.80");
  TempDir dir;
  const int port = free_port();
  std::string why;
  auto cap = start_capture(lab.cap_if(),
                           {"--mode", "span", "-w", dir / "h.pcap", "--metrics",
                            "127.0.0.1:" + std::to_string(port)},
                           &why);
  ASSERT_TRUE(cap) << why;
  Answer a;
  ASSERT_TRUE(wait_until([&] { return (a = healthz(port)).status != 0; },
                         std::chrono::seconds(10), std::chrono::milliseconds(50)));
  EXPECT_EQ(a.status, 200) << a.body;
  EXPECT_EQ(a.body, "ok\n");
  const std::string ifc = "{iface=\"" + lab.cap_if() + "\"}";
  Scrape m = scrape_metrics(port);
  EXPECT_EQ(metric(m, "xcap_healthy" + ifc), 1u);
  EXPECT_EQ(metric(m, "xcap_xdp_attached" + ifc), 1u);

  // Another tool takes the interface's XDP away: nothing is captured any more.
  ASSERT_EQ(sh_quiet("ip link set dev " + lab.cap_if() + " xdp off"), 0);
  a = healthz(port);
  EXPECT_EQ(a.status, 503) << a.body;
  EXPECT_NE(a.body.find("XDP program is no longer attached to " + lab.cap_if()),
            std::string::npos)
      << a.body;
  m = scrape_metrics(port);
  EXPECT_EQ(metric(m, "xcap_healthy" + ifc), 0u);
  EXPECT_EQ(metric(m, "xcap_xdp_attached" + ifc), 0u);
  cap->signal(SIGINT);
  EXPECT_EQ(cap->wait(30), 0) << cap->err();
}

TEST(Healthz, A503NamesAWriterStalledOnAReaderThatStoppedReading) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xchealthw", "198.18.81");
  TempDir dir;
  const std::string fifo = dir / "out.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  // The reader opens first (so xcap's open for writing does not wait) and never reads: once
  // the pipe's 64 KiB are full, xcap's writer blocks in write().
  // O_CLOEXEC: xcap must not inherit a read end of its own, or it would never see EPIPE.
  const int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  const int port = free_port();
  std::string why;
  auto cap = start_capture(lab.cap_if(),
                           {"--mode", "span", "-w", "-", "--metrics",
                            "127.0.0.1:" + std::to_string(port)},
                           &why, fifo);
  if (!cap) close(reader);
  ASSERT_TRUE(cap) << why;
  EXPECT_EQ(healthz(port).status, 200);
  auto gen = lab.send({"--count", "20000", "--quiet"});  // 1.6 MB of records
  EXPECT_EQ(gen.status, 0) << gen.output;
  Answer a;
  EXPECT_TRUE(wait_until([&] { return (a = healthz(port)).status == 503; },
                         std::chrono::seconds(20), std::chrono::milliseconds(250)))
      << a.status << " " << a.body;
  EXPECT_NE(a.body.find("writer stalled: a write has not returned for"), std::string::npos)
      << a.body;
  // The reader goes away: the blocked write fails (EPIPE) and the capture ends on its own.
  close(reader);
  EXPECT_EQ(cap->wait(30), 0) << cap->err();
  EXPECT_NE(cap->err().find("output"), std::string::npos) << cap->err();
}

}  // namespace
}  // namespace xcap::test
