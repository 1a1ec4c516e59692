// Jumbo frames end to end (issue 8, section 5): a lab at MTU 9000, as cloud VPCs run (AWS
// 9001, OCI 9000). Frames go in through a packet socket in the sender's namespace (xcap-gen's
// XDP live frames stop at a page) and must come out of the capture file bit-identical:
// multi-buffer XDP (xdp.frags) lets the program attach in native mode at that MTU, AF_XDP
// multi-buffer (XDP_USE_SG) hands the socket a chain of descriptors, and the worker assembles
// it. Without multi-buffer, frames a UMEM frame cannot hold are counted as too_big; a fall
// back to skb mode is logged with its cause.
#include <gtest/gtest.h>
#include <sys/socket.h>

#include <functional>
#include <map>
#include <set>
#include <sstream>

#include "common/frame_builder.h"
#include "common/frame_format.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

constexpr const char* kNet = "198.18.19";
constexpr int kMtu = 9000;

Lab jumbo_lab() {
  return Lab("xcjumbo", kNet, 1, kMtu);
}

// A frame of exactly len bytes: the headers of f, then a payload in which every byte depends on
// its position and on seed, so a fragment lost, repeated or put in the wrong place shows.
Bytes sized(FrameBuilder f, size_t len, uint32_t seed) {
  Bytes pay(len - f.size());
  for (size_t k = 0; k < pay.size(); k++) pay[k] = uint8_t(k * 7 + k / 251 + seed * 13);
  return f.bytes(pay).build();
}

// A VXLAN-mirrored frame of len bytes as a mirror source sends it to the sink.
Bytes vxlan_frame(const Lab& lab, size_t len, uint32_t seed) {
  const std::string net = kNet;
  return sized(FrameBuilder()
                   .eth(lab.cap_mac_bytes(), {0x02, 0, 0, 0, 0, 0x11})
                   .ipv4(net + ".10", net + ".2")
                   .udp(uint16_t(49152 + seed % 1000), 4789)
                   .vxlan(100)
                   .eth()
                   .ipv4(net + ".100", net + ".101")
                   .tcp(40000, 443, 0x18, seed),
               len, seed);
}

// Sum of the samples of a metric family whose labels contain `labels`.
uint64_t metric_sum(const std::string& body, const std::string& name,
                    const std::string& labels = "") {
  std::istringstream in(body);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0 || line.find(labels) == std::string::npos) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return uint64_t(sum);
}

// Sends frames through the packet socket in chunks, and after each waits until progress()
// (read from the capture's metrics) has moved on by the frames of the chunk that count for it:
// the RX ring never holds more than one chunk, so no frame is lost to a slow worker on this
// shared machine, and the test needs no sleep.
void send_paced(const Lab& lab, const std::vector<Bytes>& frames,
                const std::function<bool(const Bytes&)>& counts,
                const std::function<uint64_t()>& progress) {
  Fd sock = lab.raw_socket();
  const uint64_t start = progress();
  uint64_t expected = 0;
  constexpr size_t kChunk = 64;
  for (size_t i = 0; i < frames.size(); i += kChunk) {
    for (size_t k = i; k < std::min(frames.size(), i + kChunk); k++) {
      const Bytes& f = frames[k];
      ASSERT_EQ(send(sock.get(), f.data(), f.size(), 0), ssize_t(f.size()))
          << "packet socket send of " << f.size() << " bytes: " << strerror(errno);
      if (counts(f)) expected++;
    }
    ASSERT_TRUE(
        wait_until([&] { return progress() >= start + expected; }, std::chrono::seconds(20)))
        << "the capture took " << progress() - start << " of " << expected << " frames";
  }
}

std::multiset<Bytes> multiset(const std::vector<Bytes>& frames) {
  return std::multiset<Bytes>(frames.begin(), frames.end());
}

// Mirror mode, native XDP at MTU 9000: VXLAN-mirrored frames of every size up to the MTU,
// 8,000 bytes above all, come out whole and bit-identical; non-tunnel jumbo frames and jumbo
// pings still reach the host.
TEST(JumboCapture, MirrorCapturesJumboVxlanFramesWholeInNativeMode) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab = jumbo_lab();
  TempDir dir;
  const std::string out = dir / "jumbo.pcap";
  const int port = free_port();
  std::string why;
  // --decap none: the frames as they arrived. -f: the filter is tail-called from a
  // multi-buffer program, and must have been loaded as one to run at XDP at all.
  auto cap = start_capture(lab.cap_if(),
                           {"--xdp-mode", "native", "--decap", "none", "-f", "udp port 4789", "-w",
                            out, "-v", "--metrics", "127.0.0.1:" + std::to_string(port)},
                           &why);
  ASSERT_TRUE(cap) << why;
  EXPECT_NE(cap->err().find("in native mode"), std::string::npos) << cap->err();
  EXPECT_NE(cap->err().find("runs in XDP"), std::string::npos) << cap->err();

  std::vector<Bytes> frames, vxlan;
  const size_t sizes[] = {8000, 8000, 8000, 120,  1500, 3500, 3840, 3841,
                          3840, 4096, 7000, 8000, 8000, 9014, 8000, 8000};
  for (uint32_t i = 0; i < 800; i++) {
    Bytes f = vxlan_frame(lab, sizes[i % std::size(sizes)], i);
    vxlan.push_back(f);
    frames.push_back(std::move(f));
    if (i % 8 == 0)  // host traffic of the same size: passed, never captured
      frames.push_back(sized(FrameBuilder()
                                 .eth(lab.cap_mac_bytes(), {0x02, 0, 0, 0, 0, 0x11})
                                 .ipv4(std::string(kNet) + ".10", std::string(kNet) + ".2")
                                 .udp(5000, 5001),
                             8000, i));
  }
  auto rx = [&] { return metric_sum(http_get(port, "/metrics"), "xcap_rx_packets_total"); };
  ASSERT_NO_FATAL_FAILURE(send_paced(
      lab, frames, [&](const Bytes& f) { return f[36] == 0x12 && f[37] == 0xb5; }, rx));
  // The host keeps its own jumbo traffic: 8,028-byte pings, unfragmented, answered.
  auto ping = run(lab.in_ns({"/usr/bin/ping", "-c", "3", "-i", "0.2", "-W", "2", "-M", "do", "-s",
                             "8000", lab.cap_ip()}),
                  30);
  EXPECT_EQ(ping.status, 0) << ping.output;

  const std::string body = http_get(port, "/metrics");
  cap->signal(SIGTERM);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->dropped, 0u) << cap->err();
  EXPECT_EQ(stats->too_big, 0u) << cap->err();
  EXPECT_EQ(metric_sum(body, "xcap_dropped_packets_total", "reason=\"too_big\""), 0u);
  EXPECT_EQ(stats->steered(), stats->captured + stats->dropped) << cap->err();

  auto file = read_pcap(out);
  ASSERT_TRUE(file.error.empty()) << file.error;
  std::vector<Bytes> got;
  for (const auto& r : file.records) {
    EXPECT_EQ(r.caplen, r.len);
    EXPECT_EQ(r.data.size(), r.len);
    got.push_back(r.data);
  }
  EXPECT_EQ(got.size(), vxlan.size());
  EXPECT_FRAMES_EQ(multiset(got), multiset(vxlan))
      << "the capture is not exactly the VXLAN frames sent, byte for byte";
}

// Span mode with 2 KiB UMEM frames: a 9,000-byte frame is a chain of 6 descriptors. Every frame
// comes out whole, and the XDP byte counter counts the fragments too.
TEST(JumboCapture, SpanCapturesNineKilobyteFramesWholeIn2KFrames) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab = jumbo_lab();
  TempDir dir;
  const std::string out = dir / "span.pcap";
  const int port = free_port();
  std::string why;
  auto cap = start_capture(lab.cap_if(),
                           {"--mode", "span", "--xdp-mode", "native", "--frame-size", "2048", "-w",
                            out, "-v", "--metrics", "127.0.0.1:" + std::to_string(port)},
                           &why);
  ASSERT_TRUE(cap) << why;

  std::vector<Bytes> frames;
  for (uint32_t i = 0; i < 600; i++) {
    const size_t len = i % 5 == 4 ? 9014 : i % 7 == 3 ? 200 : 9000;
    FrameBuilder f = i % 2 ? FrameBuilder()
                                 .eth({0x02, 0, 0, 0, 0, 2}, {0x02, 0, 0, 0, 0, 1})
                                 .ipv6("2001:db8::1", "2001:db8::2")
                                 .udp(1234, 5678)
                           : FrameBuilder()
                                 .eth({0x02, 0, 0, 0, 0, 2}, {0x02, 0, 0, 0, 0, 1})
                                 .ipv4(std::string(kNet) + ".10", std::string(kNet) + ".20")
                                 .udp(1234, 5678);
    frames.push_back(sized(f, len, i));
  }
  auto rx = [&] { return metric_sum(http_get(port, "/metrics"), "xcap_rx_packets_total"); };
  ASSERT_NO_FATAL_FAILURE(send_paced(
      lab, frames, [](const Bytes&) { return true; }, rx));

  const std::string body = http_get(port, "/metrics");
  cap->signal(SIGTERM);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->dropped, 0u) << cap->err();
  auto file = read_pcap(out);
  ASSERT_TRUE(file.error.empty()) << file.error;

  // Span takes everything: frames the sender's stack sent by itself (IPv6 neighbour
  // discovery) may come along. Each sent frame is there exactly once, whole.
  std::multiset<Bytes> got;
  uint64_t captured_bytes = 0, sent_bytes = 0;
  for (const auto& r : file.records) {
    EXPECT_EQ(r.caplen, r.len);
    got.insert(r.data);
    captured_bytes += r.len;
  }
  const std::multiset<Bytes> sent = multiset(frames);
  size_t wrong = 0;
  for (auto f = sent.begin(); f != sent.end(); f = sent.upper_bound(*f)) {
    const size_t n = sent.count(*f);
    sent_bytes += f->size() * n;
    if (got.count(*f) != n && wrong++ < 3)
      ADD_FAILURE() << got.count(*f) << " of " << n << " sent copies captured of "
                    << describe_frame(*f);
  }
  EXPECT_EQ(wrong, 0u) << "sent frames missing or not bit-identical (the first 3 shown)";
  // XDP counts frames at their full length, fragments included (scraped before the stop, so
  // a stray frame may still have come after it). A stray frame that came before the capture
  // was armed was counted and passed, not captured: it is chatter (neighbour discovery), at
  // most an untagged Ethernet frame long.
  const uint64_t xdp_bytes = metric_sum(body, "xcap_xdp_bytes_total");
  const uint64_t not_ready = metric_sum(body, "xcap_xdp_not_ready_packets_total");
  EXPECT_GE(xdp_bytes, sent_bytes);
  EXPECT_LE(xdp_bytes, captured_bytes + not_ready * 1514);
}

// -s cuts a frame assembled from a chain like any other: caplen is the snap length, len the
// whole frame.
TEST(JumboCapture, SnaplenCutsAssembledFrames) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab = jumbo_lab();
  TempDir dir;
  const std::string out = dir / "snap.pcap";
  const int port = free_port();
  std::string why;
  auto cap = start_capture(
      lab.cap_if(),
      {"--decap", "none", "-s", "200", "-w", out, "--metrics", "127.0.0.1:" + std::to_string(port)},
      &why);
  ASSERT_TRUE(cap) << why;
  std::vector<Bytes> frames;
  for (uint32_t i = 0; i < 40; i++) frames.push_back(vxlan_frame(lab, 8000, i));
  auto rx = [&] { return metric_sum(http_get(port, "/metrics"), "xcap_rx_packets_total"); };
  ASSERT_NO_FATAL_FAILURE(send_paced(
      lab, frames, [](const Bytes&) { return true; }, rx));
  cap->signal(SIGTERM);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();
  auto file = read_pcap(out);
  ASSERT_TRUE(file.error.empty()) << file.error;
  ASSERT_EQ(file.records.size(), frames.size());
  std::multiset<Bytes> want, got;
  for (const auto& f : frames) want.insert(Bytes(f.begin(), f.begin() + 200));
  for (const auto& r : file.records) {
    EXPECT_EQ(r.caplen, 200u);
    EXPECT_EQ(r.len, 8000u);
    got.insert(r.data);
  }
  EXPECT_FRAMES_EQ(got, want);
}

// Without multi-buffer (XCAP_MULTI_BUFFER=off stands in for a kernel or driver without it):
// start-up names the largest frame captured; longer frames are dropped at XDP and counted as
// too_big, not lost among the kernel's fill-ring drops; smaller ones are still captured whole.
TEST(JumboCapture, WithoutMultiBufferJumboFramesAreCountedAsTooBig) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab = jumbo_lab();
  TempDir dir;
  const std::string out = dir / "single.pcap";
  const int port = free_port();
  Subprocess cap({"/usr/bin/env", "XCAP_MULTI_BUFFER=off", bin("xcap"), "capture", "-i",
                  lab.cap_if(), "--frame-size", "4096", "--decap", "none", "-w", out, "-v",
                  "--metrics", "127.0.0.1:" + std::to_string(port), "--stats-json"});
  ASSERT_TRUE(cap.wait_for_stderr("capturing on", 30)) << cap.err();
  // A 4 KiB UMEM frame holds 4,096 - 256 (the kernel's headroom, where the xcap metadata goes)
  // bytes of frame: measured, the kernel takes a 3,840-byte frame into one.
  const std::string said = "multi-buffer not available on " + lab.cap_if() + " (turned off";
  EXPECT_NE(cap.err().find(said), std::string::npos) << cap.err();
  EXPECT_NE(cap.err().find("frames over 3840 bytes are dropped and counted as too_big"),
            std::string::npos)
      << cap.err();

  std::vector<Bytes> frames, small;
  uint64_t big = 0;
  for (uint32_t i = 0; i < 200; i++) {
    const size_t len = i % 4 == 0 ? 9000 : i % 4 == 1 ? 1000 : i % 4 == 2 ? 3840 : 3841;
    frames.push_back(vxlan_frame(lab, len, i));
    if (len <= 3840)
      small.push_back(frames.back());
    else
      big++;
  }
  auto seen = [&] { return metric_sum(http_get(port, "/metrics"), "xcap_xdp_packets_total"); };
  ASSERT_NO_FATAL_FAILURE(send_paced(
      lab, frames, [](const Bytes&) { return true; }, seen));
  auto rx = [&] { return metric_sum(http_get(port, "/metrics"), "xcap_rx_packets_total"); };
  ASSERT_TRUE(wait_until([&] { return rx() >= small.size(); }, std::chrono::seconds(20)));

  const std::string body = http_get(port, "/metrics");
  EXPECT_EQ(metric_sum(body, "xcap_dropped_packets_total", "reason=\"too_big\""), big) << body;
  EXPECT_EQ(metric_sum(body, "xcap_dropped_packets_total", "reason=\"fill_ring_empty\""), 0u)
      << body;
  cap.signal(SIGTERM);
  ASSERT_EQ(cap.wait(60), 0) << cap.err();
  auto stats = parse_stats_json(cap.err());
  ASSERT_TRUE(stats) << cap.err();
  EXPECT_EQ(stats->too_big, big) << cap.err();
  EXPECT_EQ(stats->kernel, 0u) << cap.err();
  EXPECT_EQ(stats->dropped, big) << cap.err();
  EXPECT_EQ(stats->steered(), stats->captured + stats->dropped) << cap.err();

  auto file = read_pcap(out);
  ASSERT_TRUE(file.error.empty()) << file.error;
  std::vector<Bytes> got;
  for (const auto& r : file.records) got.push_back(r.data);
  EXPECT_FRAMES_EQ(multiset(got), multiset(small)) << "frames that fit must be captured whole";
}

// An interface without native XDP (a bridge; the dummy module is not on every host):
// --xdp-mode auto falls back to skb mode, and says so with the reason native failed.
TEST(JumboCapture, SkbFallbackIsLoggedWithItsCause) {
  XCAP_REQUIRE_PRIVILEGED();
  const std::string dev = "xcjumbod";
  struct Bridge {
    std::string name;
    explicit Bridge(std::string n) : name(std::move(n)) {
      sh_quiet("ip link del dev " + name);
      if (sh("ip link add dev " + name + " type bridge && ip link set dev " + name + " up") != 0)
        throw std::runtime_error("cannot make bridge " + name);
    }
    ~Bridge() { sh_quiet("ip link del dev " + name); }
  } bridge(dev);
  auto cap = run({bin("xcap"), "capture", "-i", dev, "--duration", "0.5"}, 60);
  EXPECT_EQ(cap.status, 0) << cap.output;
  EXPECT_NE(cap.output.find("native XDP refused on " + dev + " (native: "), std::string::npos)
      << cap.output;
  EXPECT_NE(cap.output.find("fell back to skb (generic) mode"), std::string::npos) << cap.output;
}

}  // namespace
}  // namespace xcap::test
