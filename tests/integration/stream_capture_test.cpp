// Remote capture end to end with the real binary: `xcap capture --listen` streaming to curl
// clients while it writes a file, and `xcap serve`, which captures only while a client is
// subscribed. Traffic comes from xcap-gen through a veth lab.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "common/fd.h"
#include "common/filter_corpus.h"
#include "common/frame_format.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"
#include "stream/pcapng_stream_reader.h"

namespace xcap::test {
namespace {

using namespace std::chrono_literals;

// curl following one stream into a file: `curl -N -G --data-urlencode filter=...`.
class CurlClient {
 public:
  CurlClient(const TempDir& dir, const std::string& name, const std::string& url,
             const std::vector<std::string>& query, const std::vector<std::string>& extra = {},
             const std::vector<std::string>& wrap = {})
      : path_(dir / (name + ".pcapng")), proc_(argv(url, query, extra, wrap)) {}
  int wait(double timeout_s) { return proc_.wait(timeout_s); }
  const std::string& path() const { return path_; }
  std::string err() const { return proc_.err(); }
  std::vector<PcapRecord> records() const { return read_pcap_records(path_); }

 private:
  std::vector<std::string> argv(const std::string& url, const std::vector<std::string>& query,
                                const std::vector<std::string>& extra,
                                const std::vector<std::string>& wrap) const {
    std::vector<std::string> a = wrap;
    a.insert(a.end(), {"/usr/bin/curl", "-sS", "-N", "--fail-with-body", "-o", path_, "-G"});
    for (const std::string& q : query) a.insert(a.end(), {"--data-urlencode", q});
    a.insert(a.end(), extra.begin(), extra.end());
    a.push_back(url);
    return a;
  }
  std::string path_;
  Subprocess proc_;
};

// The streams GET /captures lists now.
size_t active_streams(const std::string& host, int port, const std::string& token = "") {
  std::vector<std::string> a{"/usr/bin/curl", "-sS",
                             "http://" + host + ":" + std::to_string(port) + "/captures"};
  if (!token.empty()) a.insert(a.end(), {"-H", "Authorization: Bearer " + token});
  const std::string body = run(a, 10).output;
  size_t n = 0;
  for (size_t at = body.find("\"client\""); at != std::string::npos;
       at = body.find("\"client\"", at + 1))
    n++;
  return n;
}

std::multiset<PcapRecord> as_set(const std::vector<PcapRecord>& r) {
  return {r.begin(), r.end()};
}

// TCP from or to port, over IPv4 or IPv6 (untagged).
bool tcp_port(const PcapRecord& r, uint16_t port) {
  const auto& d = r.data;
  size_t l4 = 0;
  if (d.size() >= 34 && d[12] == 0x08 && d[13] == 0x00 && d[23] == 6)
    l4 = 14 + size_t(d[14] & 0x0f) * 4;
  else if (d.size() >= 54 && d[12] == 0x86 && d[13] == 0xdd && d[20] == 6)
    l4 = 54;
  if (!l4 || d.size() < l4 + 4) return false;
  const uint16_t sport = uint16_t(d[l4] << 8 | d[l4 + 1]),
                 dport = uint16_t(d[l4 + 2] << 8 | d[l4 + 3]);
  return sport == port || dport == port;
}

// A pcapng stream or file read block by block: what a test checks beyond the packets.
struct PcapngBlocks {
  std::vector<std::string> names;  // each interface's if_name, by id
  struct Packet {
    uint32_t iface;
    uint64_t ts_ns;
    std::vector<uint8_t> data;
  };
  std::vector<Packet> packets;
  std::vector<stream::StatisticsBlock> stats;
  std::string error;
};

PcapngBlocks read_pcapng_blocks(const std::string& path) {
  PcapngBlocks out;
  const std::string bytes = read_file(path);
  stream::PcapngStreamReader reader;
  reader.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  while (auto b = reader.next()) {
    if (!*b) {
      out.error = b->error().message;
      break;
    }
    if (auto* i = std::get_if<stream::InterfaceBlock>(&**b)) out.names.push_back(i->name);
    if (auto* p = std::get_if<stream::PacketBlock>(&**b))
      out.packets.push_back({p->iface, p->ts_ns, {p->data, p->data + p->caplen}});
    if (auto* st = std::get_if<stream::StatisticsBlock>(&**b)) out.stats.push_back(*st);
  }
  if (out.error.empty() && reader.pending()) out.error = "a partial block at the end";
  return out;
}

// xcap-gen --seq: the frame's sequence number, in its last 4 bytes.
uint32_t seq_of(const std::vector<uint8_t>& d) {
  const size_t n = d.size();
  return n < 4 ? 0
               : uint32_t(d[n - 4]) << 24 | uint32_t(d[n - 3]) << 16 | uint32_t(d[n - 2]) << 8 |
                     d[n - 1];
}

// Eight clients, each with its own filter, on a capture that also writes every frame to a
// file: each stream holds exactly what tcpdump selects from that file with the same filter.
TEST(StreamCapture, EightClientsEachGetWhatTcpdumpSelects) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcstr", "198.18.49");
  TempDir dir;
  const std::vector<std::vector<uint8_t>> frames = make_xdp_corpus(1049, 3000);
  const std::string replay = dir / "replay.pcap", file = dir / "all.pcap";
  write_pcap(replay, frames);
  const std::vector<std::string> filters = {"tcp",
                                            "udp",
                                            "ip6",
                                            "icmp or icmp6",
                                            "vlan",
                                            "tcp[tcpflags] & tcp-syn != 0",
                                            "net 198.18.0.0/16 and (udp or tcp)",
                                            "not ip and not ip6"};
  const int port = free_port(), metrics = free_port();
  std::string why;
  auto cap = start_capture(
      lab.cap_if(),
      {"--mode", "span", "-w", file, "--listen", "127.0.0.1:" + std::to_string(port),
       "--max-streams-per-client", "8", "--metrics", "127.0.0.1:" + std::to_string(metrics)},
      &why);
  ASSERT_TRUE(cap) << why;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/capture";
  std::vector<std::unique_ptr<CurlClient>> clients;
  for (size_t i = 0; i < filters.size(); i++)
    clients.push_back(std::make_unique<CurlClient>(
        dir, "c" + std::to_string(i), url, std::vector<std::string>{"filter=" + filters[i]}));
  ASSERT_TRUE(wait_until([&] { return active_streams("127.0.0.1", port) == filters.size(); }, 10s))
      << cap->err();

  auto gen = lab.send({"--pcap", replay, "--rate", "20000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  const std::string captured = "xcap_captured_packets_total{iface=\"" + lab.cap_if() + "\"}";
  EXPECT_TRUE(wait_until(
      [&] { return metric(scrape_metrics(metrics), captured).value_or(0) >= frames.size(); }, 10s));
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->dropped, 0u) << cap->err();

  size_t selected_somewhere = 0;
  for (size_t i = 0; i < filters.size(); i++) {
    SCOPED_TRACE("filter \"" + filters[i] + "\"");
    ASSERT_EQ(clients[i]->wait(30), 0) << clients[i]->err();
    const std::string want_path = dir / ("want" + std::to_string(i) + ".pcap");
    auto td = run({"/usr/bin/tcpdump", "--time-stamp-precision=nano", "-r", file, "-w", want_path,
                   filters[i]},
                  60);
    ASSERT_EQ(td.status, 0) << td.output;
    const auto want = read_pcap_records(want_path), got = clients[i]->records();
    EXPECT_EQ(got.size(), want.size());
    EXPECT_TRUE(as_set(got) == as_set(want)) << "the stream differs from tcpdump's selection";
    selected_somewhere += !want.empty();
    std::cout << "filter \"" << filters[i] << "\": " << got.size() << " of " << stats->captured
              << "\n";
  }
  EXPECT_EQ(selected_somewhere, filters.size()) << "each filter must select something";
}

// The server's own connection crosses the captured interface (span mode, which takes every
// frame): it keeps working, and none of its frames is in the stream or the file.
TEST(StreamCapture, TheStreamsOwnConnectionIsNeverCaptured) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcself", "198.18.50");
  TempDir dir;
  // Span mode takes ARP too: the two ends learn each other's address beforehand.
  ASSERT_EQ(sh_quiet("ip neigh replace " + lab.gen_ip() + " lladdr $(ip netns exec " + lab.ns() +
                     " cat /sys/class/net/" + lab.gen_if() + "/address) dev " + lab.cap_if()),
            0);
  ASSERT_EQ(sh_quiet("ip netns exec " + lab.ns() + " ip neigh replace " + lab.cap_ip() +
                     " lladdr " + lab.cap_mac() + " dev " + lab.gen_if()),
            0);
  const std::string token_file = dir / "token", file = dir / "all.pcap";
  std::ofstream(token_file) << "s3cret\n";
  const int port = free_port(), metrics = free_port();
  std::string why;
  auto cap = start_capture(
      lab.cap_if(),
      {"--mode", "span", "-w", file, "--listen", lab.cap_ip() + ":" + std::to_string(port),
       "--token-file", token_file, "--metrics", "127.0.0.1:" + std::to_string(metrics)},
      &why);
  ASSERT_TRUE(cap) << why;
  const std::string url = "http://" + lab.cap_ip() + ":" + std::to_string(port) + "/capture";
  CurlClient client(dir, "self", url, {}, {"-H", "Authorization: Bearer s3cret"}, lab.in_ns({}));
  const std::string ifc = "{iface=\"" + lab.cap_if() + "\"}";
  ASSERT_TRUE(wait_until(
      [&] { return metric(scrape_metrics(metrics), "xcap_streams" + ifc).value_or(0) == 1; }, 10s))
      << cap->err() << client.err();
  auto gen = lab.send({"--count", "300", "--rate", "3000", "--seq", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  // The stream's frames met the XDP program, which left them to the host.
  EXPECT_GT(metric(scrape_metrics(metrics), "xcap_xdp_stream_own_packets_total" + ifc).value_or(0),
            0u);
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();
  ASSERT_EQ(client.wait(30), 0) << client.err();

  const auto streamed = client.records(), written = read_pcap_records(file);
  auto udp = [](const std::vector<PcapRecord>& rs) {
    return size_t(std::count_if(rs.begin(), rs.end(), [](const PcapRecord& r) {
      return r.data.size() > 23 && r.data[12] == 0x08 && r.data[13] == 0 && r.data[23] == 17;
    }));
  };
  EXPECT_EQ(udp(streamed), 300u) << "the stream carries the traffic";
  EXPECT_EQ(udp(written), 300u);
  for (const auto* rs : {&streamed, &written})
    for (const PcapRecord& r : *rs)
      EXPECT_FALSE(tcp_port(r, uint16_t(port))) << "captured the stream's own frame:\n"
                                                << describe_frame(r.data);
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->captured, written.size());
}

// Whether an XDP program is attached to iface now (ip -d link shows "prog/xdp").
bool xdp_attached(const std::string& iface) {
  return run({"/usr/bin/ip", "-d", "link", "show", "dev", iface}, 10).output.find("prog/xdp") !=
         std::string::npos;
}

// xcap serve attaches its XDP program at the first subscription and detaches it after the
// last; in between the XDP filter is the union of the subscribers' filters.
TEST(StreamServe, AttachesOnlyWhileAClientIsSubscribed) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcsrv", "198.18.51");
  TempDir dir;
  const int port = free_port(), metrics = free_port();
  Subprocess serve({bin("xcap"), "serve", "-i", lab.cap_if(), "--mode", "span", "--listen",
                    "127.0.0.1:" + std::to_string(port), "--metrics",
                    "127.0.0.1:" + std::to_string(metrics)});
  ASSERT_TRUE(serve.wait_for_stderr("serving", 30)) << serve.err();
  EXPECT_FALSE(xdp_attached(lab.cap_if())) << "attached before any client";
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/capture";
  const std::string ifc = "{iface=\"" + lab.cap_if() + "\"";
  auto scrape = [&](const std::string& series) {
    return metric(scrape_metrics(metrics), series).value_or(0);
  };

  // A client that wants TCP only: the UDP the lab sends is dropped at XDP, by the union filter.
  CurlClient tcp_only(dir, "tcp", url, {"filter=tcp", "count=1"});
  ASSERT_TRUE(wait_until([&] { return xdp_attached(lab.cap_if()); }, 10s)) << serve.err();
  ASSERT_TRUE(wait_until([&] { return active_streams("127.0.0.1", port) == 1; }, 10s));
  ASSERT_EQ(lab.send({"--count", "100", "--rate", "5000", "--quiet"}).status, 0);
  // (The lab's own chatter, IPv6 neighbour discovery, is excluded too: at least 100.)
  EXPECT_TRUE(wait_until(
      [&] { return scrape("xcap_filter_excluded_packets_total" + ifc + ",where=\"xdp\"}") >= 100; },
      10s))
      << serve.err();
  EXPECT_EQ(scrape("xcap_xdp_verdicts_total" + ifc + ",verdict=\"redirect\"}"), 0u)
      << "no frame reaches user space: none is TCP";

  // A client without a filter: now every frame is for capture.
  CurlClient all(dir, "all", url, {"count=50"});
  ASSERT_TRUE(wait_until([&] { return active_streams("127.0.0.1", port) == 2; }, 10s));
  ASSERT_EQ(lab.send({"--count", "50", "--rate", "5000", "--quiet"}).status, 0);
  ASSERT_EQ(all.wait(30), 0) << all.err();
  EXPECT_EQ(all.records().size(), 50u);
  EXPECT_TRUE(xdp_attached(lab.cap_if())) << "the TCP client is still subscribed";

  // The last subscriber leaves (it hangs up): the program goes.
  tcp_only.wait(0.01);  // curl still waits for its one TCP packet: the timeout kills it
  EXPECT_TRUE(wait_until([&] { return !xdp_attached(lab.cap_if()); }, 10s)) << serve.err();
  EXPECT_EQ(active_streams("127.0.0.1", port), 0u);
  EXPECT_EQ(scrape("xcap_streams" + ifc + "}"), 0u);

  // And comes back for the next one.
  CurlClient again(dir, "again", url, {"count=10"});
  ASSERT_TRUE(wait_until([&] { return xdp_attached(lab.cap_if()); }, 10s)) << serve.err();
  ASSERT_TRUE(wait_until([&] { return active_streams("127.0.0.1", port) == 1; }, 10s));
  ASSERT_EQ(lab.send({"--count", "10", "--rate", "5000", "--quiet"}).status, 0);
  ASSERT_EQ(again.wait(30), 0) << again.err();
  EXPECT_EQ(again.records().size(), 10u);
  EXPECT_TRUE(wait_until([&] { return !xdp_attached(lab.cap_if()); }, 10s)) << serve.err();
  serve.signal(SIGINT);
  EXPECT_EQ(serve.wait(30), 0) << serve.err();
}

// Three capturing xcaps, each on its own lab, followed by one `xcap stream`: every packet
// sent appears exactly once in the merged file, on its target's interface, in timestamp order.
TEST(StreamFollow, ThreeServersMergeIntoOneFile) {
  XCAP_REQUIRE_PRIVILEGED();
  constexpr int kFrames = 3000;
  std::vector<std::unique_ptr<Lab>> labs;
  std::vector<std::unique_ptr<Subprocess>> caps;
  std::vector<std::string> targets;
  for (int i = 0; i < 3; i++) {
    labs.push_back(
        std::make_unique<Lab>("xcm" + std::to_string(i), "198.18." + std::to_string(52 + i)));
    const int port = free_port();
    std::string why;
    caps.push_back(
        start_capture(labs.back()->cap_if(),
                      {"--mode", "span", "--listen", "127.0.0.1:" + std::to_string(port)}, &why));
    ASSERT_TRUE(caps.back()) << why;
    targets.push_back("127.0.0.1:" + std::to_string(port));
  }
  TempDir dir;
  const std::string merged = dir / "merged.pcapng";
  std::vector<std::string> argv{bin("xcap"), "stream"};
  argv.insert(argv.end(), targets.begin(), targets.end());
  argv.insert(argv.end(), {"-c", std::to_string(kFrames), "-f", "udp", "-w", merged});
  Subprocess follow(argv);
  for (const std::string& t : targets)
    ASSERT_TRUE(follow.wait_for_stderr(t + ": connected", 10)) << follow.err();
  // The three senders run at once, so the streams' timestamps interleave.
  std::vector<std::unique_ptr<Subprocess>> senders;
  for (const auto& lab : labs)
    senders.push_back(std::make_unique<Subprocess>(lab->gen_argv(
        {"--count", std::to_string(kFrames), "--rate", "20000", "--seq", "--quiet"})));
  for (auto& s : senders) ASSERT_EQ(s->wait(60), 0) << s->err();
  ASSERT_EQ(follow.wait(60), 0) << follow.err();

  const PcapngBlocks m = read_pcapng_blocks(merged);
  ASSERT_TRUE(m.error.empty()) << m.error;
  std::vector<std::set<uint32_t>> seqs(m.names.size());
  uint64_t last_ts = 0, backwards = 0;
  for (const auto& p : m.packets) {
    ASSERT_LT(p.iface, m.names.size());
    EXPECT_TRUE(seqs[p.iface].insert(seq_of(p.data)).second) << "a packet twice";
    backwards += p.ts_ns < last_ts;
    last_ts = std::max(last_ts, p.ts_ns);
  }
  EXPECT_EQ(backwards, 0u) << "timestamps must never decrease";
  for (size_t i = 0; i < labs.size(); i++) {
    const std::string name = targets[i] + "/" + labs[i]->cap_if();
    const auto at = std::find(m.names.begin(), m.names.end(), name);
    ASSERT_NE(at, m.names.end()) << name << " is not among " << ::testing::PrintToString(m.names);
    EXPECT_EQ(seqs[size_t(at - m.names.begin())].size(), size_t(kFrames)) << name;
  }
  EXPECT_EQ(m.packets.size(), size_t(3 * kFrames));
  for (const std::string& t : targets)
    EXPECT_NE(follow.err().find(t + ": finished"), std::string::npos) << follow.err();
  for (auto& c : caps) c->signal(SIGINT);
  for (auto& c : caps) EXPECT_EQ(c->wait(60), 0) << c->err();
}

// Ctrl-C on xcap stream while traffic flows: the file is complete, and for each target it
// holds exactly the packets that server's final statistics say it delivered.
TEST(StreamFollow, CtrlCLeavesACompleteFileThatMatchesTheServersStatistics) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab a("xcstp0", "198.18.55"), b("xcstp1", "198.18.56");
  std::vector<std::unique_ptr<Subprocess>> caps;
  std::vector<std::string> targets;
  for (const Lab* lab : {&a, &b}) {
    const int port = free_port();
    std::string why;
    caps.push_back(start_capture(
        lab->cap_if(), {"--mode", "span", "--listen", "127.0.0.1:" + std::to_string(port)}, &why));
    ASSERT_TRUE(caps.back()) << why;
    targets.push_back("127.0.0.1:" + std::to_string(port));
  }
  TempDir dir;
  const std::string merged = dir / "merged.pcapng";
  Subprocess follow({bin("xcap"), "stream", targets[0], targets[1], "-w", merged});
  for (const std::string& t : targets)
    ASSERT_TRUE(follow.wait_for_stderr(t + ": connected", 10)) << follow.err();
  std::vector<std::unique_ptr<Subprocess>> senders;
  for (const Lab* lab : {&a, &b})
    senders.push_back(std::make_unique<Subprocess>(
        lab->gen_argv({"--count", "200000", "--rate", "20000", "--seq", "--quiet"})));
  // Mid-traffic: packets have arrived from both.
  ASSERT_TRUE(wait_until([&] { return read_file(merged).size() > 200'000; }, 20s));
  follow.signal(SIGINT);
  EXPECT_EQ(follow.wait(30), 0) << follow.err();
  for (auto& s : senders) s->signal(SIGINT);

  const PcapngBlocks m = read_pcapng_blocks(merged);
  ASSERT_TRUE(m.error.empty()) << m.error << "\n" << follow.err();
  for (size_t i = 0; i < targets.size(); i++) {
    SCOPED_TRACE(targets[i]);
    const std::string name = targets[i] + "/" + (i ? b : a).cap_if();
    const auto at = std::find(m.names.begin(), m.names.end(), name);
    ASSERT_NE(at, m.names.end()) << ::testing::PrintToString(m.names);
    const uint32_t id = uint32_t(at - m.names.begin());
    const size_t packets = size_t(std::count_if(m.packets.begin(), m.packets.end(),
                                                [&](const auto& p) { return p.iface == id; }));
    EXPECT_GT(packets, 0u);
    const stream::StatisticsBlock* last = nullptr;
    for (const auto& st : m.stats)
      if (st.iface == id) last = &st;
    ASSERT_TRUE(last) << "no statistics from " << targets[i];
    EXPECT_NE(last->comment.find("end:"), std::string::npos) << last->comment;
    ASSERT_TRUE(last->counters.usrdeliv);
    EXPECT_EQ(*last->counters.usrdeliv, packets) << "the server's final statistics";
    EXPECT_NE(follow.err().find(targets[i] + ": " + std::to_string(packets) + " packets received"),
              std::string::npos)
        << follow.err();
  }
  for (auto& c : caps) c->signal(SIGINT);
  for (auto& c : caps) EXPECT_EQ(c->wait(60), 0) << c->err();
}

// A client that reads its stream at 100 KB/s until told to hurry, then to the end: an HTTP/1.0
// request, so the body comes unchunked and ends when the server closes.
class SlowReader {
 public:
  SlowReader(int port, const std::string& from, const std::string& target, std::string path)
      : path_(std::move(path)) {
    fd_ = Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    inet_pton(AF_INET, from.c_str(), &a.sin_addr);
    bind(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
    a.sin_port = htons(uint16_t(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return;
    const std::string req = "GET " + target + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd_.get(), req.data(), req.size()) != ssize_t(req.size())) return;
    thread_ = std::thread([this] { read_all(); });
  }
  ~SlowReader() {
    hurry_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Reads the rest at full speed; true once the server closed and the body is in the file.
  bool finish(double timeout_s) {
    hurry_ = true;
    const bool done = wait_until([&] { return done_.load(); },
                                 std::chrono::milliseconds(int64_t(timeout_s * 1000)));
    if (done) {
      thread_.join();
      const auto body = response_.find("\r\n\r\n");
      std::ofstream(path_, std::ios::binary)
          << (body == std::string::npos ? "" : response_.substr(body + 4));
    }
    return done;
  }
  uint64_t slow_bytes() const { return slow_bytes_; }
  const std::string& path() const { return path_; }

 private:
  void read_all() {
    char buf[65536];
    for (;;) {
      const bool hurry = hurry_.load();
      const ssize_t n = read(fd_.get(), buf, hurry ? sizeof buf : 10'000);
      if (n <= 0) break;
      response_.append(buf, size_t(n));
      if (!hurry) {
        slow_bytes_ += uint64_t(n);
        std::this_thread::sleep_for(100ms);  // 10 KB per 100 ms
      }
    }
    done_ = true;
  }
  std::string path_, response_;
  Fd fd_;
  std::thread thread_;
  std::atomic<bool> hurry_{false}, done_{false};
  uint64_t slow_bytes_ = 0;
};

// A client reading at 100 KB/s beside a fast one, on a capture that also writes a file: the
// slow one is told, block by block, how many packets it lost, and the numbers add up to its
// final statistics and to the metric; the fast client and the file lose nothing.
TEST(StreamCapture, ASlowClientLosesOnlyItsOwnPackets) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcslow", "198.18.57");
  TempDir dir;
  const std::string file = dir / "all.pcap";
  const int port = free_port(), metrics = free_port();
  std::string why;
  auto cap =
      start_capture(lab.cap_if(),
                    {"--mode", "span", "-w", file, "--listen", "127.0.0.1:" + std::to_string(port),
                     "--stream-buffer", "1", "--metrics", "127.0.0.1:" + std::to_string(metrics)},
                    &why);
  ASSERT_TRUE(cap) << why;
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/capture";
  // Different source addresses: the metric is per client address.
  // The fast stream ends with the last frame sent, the slow one 8 s after it began (the
  // traffic lasts 4 s); then it still reads what its buffer holds.
  CurlClient fast(dir, "fast", url, {"filter=udp", "count=40000"}, {"--interface", "127.0.0.2"});
  SlowReader slow(port, "127.0.0.3", "/capture?filter=udp&duration=8", dir / "slow.pcapng");
  ASSERT_TRUE(wait_until([&] { return active_streams("127.0.0.1", port) == 2; }, 10s));
  // 40 MB in 4 s: forty times what the slow client reads.
  auto gen =
      lab.send({"--count", "40000", "--rate", "10000", "--size", "1000", "--seq", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  const std::string ifc = "iface=\"" + lab.cap_if() + "\"";
  Scrape m;
  EXPECT_TRUE(wait_until(
      [&] {
        m = scrape_metrics(metrics);
        return metric(m, "xcap_captured_packets_total{" + ifc + "}").value_or(0) >= 40000;
      },
      10s));
  const uint64_t metric_drops =
      metric(m, "xcap_stream_dropped_packets_total{" + ifc + ",client=\"127.0.0.3\"}").value_or(0);
  EXPECT_FALSE(
      metric(m, "xcap_stream_dropped_packets_total{" + ifc + ",client=\"127.0.0.2\"}").value_or(0))
      << "the fast client";
  ASSERT_EQ(fast.wait(30), 0) << fast.err();
  // The slow stream has ended (its duration): what the kernel and the server still hold for
  // it (megabytes on loopback) may now be read at full speed.
  ASSERT_TRUE(wait_until([&] { return active_streams("127.0.0.1", port) == 0; }, 30s))
      << cap->err();
  ASSERT_TRUE(slow.finish(60)) << cap->err();
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(60), 0) << cap->err();

  std::vector<PcapRecord> written = read_pcap_records(file);
  std::erase_if(written, [](const PcapRecord& r) {  // the lab's own chatter (IPv6 ND)
    return !(r.data.size() > 23 && r.data[12] == 0x08 && r.data[13] == 0 && r.data[23] == 17);
  });
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->dropped, 0u) << cap->err();
  EXPECT_EQ(written.size(), 40000u);
  EXPECT_TRUE(as_set(fast.records()) == as_set(written)) << "the fast client lost packets";

  const PcapngBlocks s = read_pcapng_blocks(slow.path());
  EXPECT_GT(slow.slow_bytes(), 0u);
  ASSERT_TRUE(s.error.empty()) << s.error;
  ASSERT_FALSE(s.stats.empty());
  const auto& last = s.stats.back();
  ASSERT_TRUE(last.counters.osdrop && last.counters.usrdeliv);
  EXPECT_EQ(*last.counters.usrdeliv, s.packets.size());
  EXPECT_GT(*last.counters.osdrop, 0u) << "a client reading at 100 KB/s must lose packets";
  EXPECT_EQ(*last.counters.usrdeliv + *last.counters.osdrop, written.size());
  // Each congestion ends with "cleared: this client lost N packets while congested (M in all)"
  // or, at the end, "congested until the end: ...": the Ns add up to what the client lost.
  uint64_t lost = 0, congestions = 0;
  const std::string count_at = "this client lost ";
  for (const auto& b : s.stats) {
    congestions += b.comment.rfind("congested: ", 0) == 0;
    if (const size_t at = b.comment.find(count_at); at != std::string::npos)
      lost += std::stoull(b.comment.substr(at + count_at.size()));
  }
  EXPECT_GT(congestions, 0u);
  EXPECT_EQ(lost, *last.counters.osdrop);
  // Scraped once the traffic was over; a stray frame (IPv6 neighbour discovery) may add one.
  EXPECT_GT(metric_drops, 0u);
  EXPECT_LE(metric_drops, *last.counters.osdrop);
}

// xcap serve on two interfaces: one stream, one pcapng interface each, named after it.
TEST(StreamServe, TwoInterfacesAreTwoInterfacesOfTheStream) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab a("xcsva", "198.18.58"), b("xcsvb", "198.18.59");
  TempDir dir;
  const int port = free_port();
  Subprocess serve({bin("xcap"), "serve", "-i", a.cap_if(), "-i", b.cap_if(), "--mode", "span",
                    "--listen", "127.0.0.1:" + std::to_string(port)});
  ASSERT_TRUE(serve.wait_for_stderr("serving", 30)) << serve.err();
  CurlClient client(dir, "two", "http://127.0.0.1:" + std::to_string(port) + "/capture",
                    {"filter=udp", "count=300"});
  ASSERT_TRUE(wait_until([&] { return xdp_attached(a.cap_if()) && xdp_attached(b.cap_if()); }, 10s))
      << serve.err();
  ASSERT_TRUE(wait_until([&] { return active_streams("127.0.0.1", port) == 1; }, 10s));
  ASSERT_EQ(a.send({"--count", "100", "--rate", "5000", "--seq", "--quiet"}).status, 0);
  ASSERT_EQ(b.send({"--count", "200", "--rate", "5000", "--seq", "--quiet"}).status, 0);
  ASSERT_EQ(client.wait(30), 0) << client.err() << serve.err();
  const PcapngBlocks m = read_pcapng_blocks(client.path());
  ASSERT_TRUE(m.error.empty()) << m.error;
  std::map<std::string, size_t> per_name;
  for (const auto& p : m.packets) per_name[m.names.at(p.iface)]++;
  EXPECT_EQ(per_name[a.cap_if()], 100u) << ::testing::PrintToString(per_name);
  EXPECT_EQ(per_name[b.cap_if()], 200u) << ::testing::PrintToString(per_name);
  EXPECT_TRUE(
      wait_until([&] { return !xdp_attached(a.cap_if()) && !xdp_attached(b.cap_if()); }, 10s));
  serve.signal(SIGINT);
  EXPECT_EQ(serve.wait(30), 0) << serve.err();
}

}  // namespace
}  // namespace xcap::test
