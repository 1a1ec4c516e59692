// StreamServer: real TCP clients (curl) against a real Fanout behind the server. Each client
// gets what libpcap's filter selects as a pcapng (or pcap) stream libpcap and tshark read,
// ended with the reason in its last statistics block; a refused request is an HTTP status with
// a one-line reason and never reaches the capture; a slow client loses only its own packets.
#include "sink/fanout/stream_server.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <string>

#include "common/capture_readers.h"
#include "common/libpcap_reference.h"
#include "common/pcap_file.h"
#include "common/stream_server_kit.h"
#include "common/wait_until.h"
#include "filter/filter_program.h"
#include "sink/file/pcap_format.h"

namespace xcap::sink::fanout {
namespace {

using namespace std::chrono_literals;
using test::CurlStream;
using test::StreamRig;

bool contains(const Bytes& b, const std::string& text) {
  return std::search(b.begin(), b.end(), text.begin(), text.end()) != b.end();
}

// The frames libpcap's own interpreter selects with expr (the reference, not xcap's).
std::multiset<Bytes> selected(const std::vector<Bytes>& frames, const std::string& expr) {
  std::multiset<Bytes> out;
  if (expr.empty()) return {frames.begin(), frames.end()};
  auto p = FilterProgram::compile(expr, 1, defaults::kSnaplen);
  EXPECT_TRUE(p.ok()) << p.error().message;
  for (const Bytes& f : frames)
    if (libpcap_bpf_filter(p->instructions(), f.data(), uint32_t(f.size()), uint32_t(f.size())))
      out.insert(f);
  return out;
}

std::multiset<Bytes> records(const Bytes& body, int* link_type = nullptr) {
  auto got = test::read_pcap_bytes(body);
  EXPECT_EQ(got.error, "");
  if (link_type) *link_type = got.link_type;
  std::multiset<Bytes> out;
  for (const auto& r : got.records) out.insert(r.data);
  return out;
}

std::string encode(const std::string& s) {  // a query value, %-escaped
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '.' || c == '-' || c == '_') {
      out += char(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

TEST(StreamServer, EightClientsEachGetWhatTheirFilterSelects) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  const std::vector<std::string> filters = {"udp port 53",
                                            "tcp",
                                            "ip6",
                                            "icmp",
                                            "host 198.18.0.7",
                                            "greater 600",
                                            "tcp dst port 443 and ip",
                                            ""};
  std::vector<std::unique_ptr<CurlStream>> clients;
  for (size_t i = 0; i < filters.size(); i++)  // two per client address: the default limit
    clients.push_back(std::make_unique<CurlStream>(
        rig.url("/capture" + (filters[i].empty() ? "" : "?filter=" + encode(filters[i]))),
        std::vector<std::string>{"--interface", "127.0.0." + std::to_string(1 + i / 2)}));
  ASSERT_TRUE(rig.wait_subscriptions(filters.size()));
  ASSERT_EQ(rig.server->streams().size(), filters.size());

  const auto frames = test::mixed_frames(3000);
  rig.feed(frames);
  rig.server->stop("end: test over");
  for (size_t i = 0; i < filters.size(); i++) {
    SCOPED_TRACE("filter \"" + filters[i] + "\"");
    EXPECT_EQ(clients[i]->wait(30), 0) << clients[i]->err();
    const Bytes body = clients[i]->body();
    const auto want = selected(frames, filters[i]);
    EXPECT_GT(want.size(), 0u);
    EXPECT_TRUE(records(body) == want) << records(body).size() << " records, want " << want.size();
    EXPECT_TRUE(contains(body, "end: test over"));
  }
  EXPECT_EQ(rig.subscriptions(), 0u);
  for (const auto& [client, dropped] : rig.server->dropped_by_client()) EXPECT_EQ(dropped, 0u);
}

TEST(StreamServer, CountEndsTheStream) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  CurlStream ng(rig.url("/capture?count=10&filter=udp"));
  CurlStream pcap(rig.url("/capture?count=7&format=pcap&snaplen=64"));
  ASSERT_TRUE(rig.wait_subscriptions(2));
  rig.feed(test::mixed_frames(200));
  ASSERT_EQ(ng.wait(30), 0) << ng.err();
  ASSERT_EQ(pcap.wait(30), 0) << pcap.err();
  const Bytes body = ng.body();
  auto got = test::read_pcap_bytes(body);
  ASSERT_EQ(got.error, "");
  EXPECT_EQ(got.records.size(), 10u);
  EXPECT_TRUE(contains(body, "end: count reached"));
  // tshark reads the stream as curl wrote it, statistics and comment blocks included.
  std::string why;
  EXPECT_EQ(test::tshark_count(ng.path(), &why), std::optional<uint64_t>(10)) << why;
  EXPECT_EQ(test::tshark_count(pcap.path(), &why), std::optional<uint64_t>(7)) << why;
  auto got_pcap = test::read_pcap_bytes(pcap.body());
  ASSERT_EQ(got_pcap.error, "");
  EXPECT_EQ(got_pcap.link_type, 1);
  ASSERT_EQ(got_pcap.records.size(), 7u);
  for (const auto& r : got_pcap.records) EXPECT_LE(r.caplen, 64u);
  // Both are out of the host and of the server's list.
  EXPECT_TRUE(test::wait_until([&] { return rig.subscriptions() == 0; }, 10s));
  EXPECT_TRUE(rig.server->streams().empty());
}

TEST(StreamServer, DurationEndsTheStream) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  const auto t0 = std::chrono::steady_clock::now();
  CurlStream c(rig.url("/capture?duration=1.5&filter=icmp"));
  ASSERT_TRUE(rig.wait_subscriptions(1));
  rig.feed(test::mixed_frames(60));
  ASSERT_EQ(c.wait(30), 0) << c.err();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 1500ms);
  const Bytes body = c.body();
  EXPECT_TRUE(contains(body, "end: duration reached"));
  EXPECT_EQ(records(body), selected(test::mixed_frames(60), "icmp"));
  EXPECT_TRUE(test::wait_until([&] { return rig.subscriptions() == 0; }, 10s));
}

TEST(StreamServer, ResponseHeadSaysChunkedPcapng) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  auto a = test::http(rig.url("/capture?duration=0.1"));
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.headers.find("Transfer-Encoding: chunked"), std::string::npos) << a.headers;
  EXPECT_NE(a.headers.find("Content-Type: application/x-pcapng"), std::string::npos);
  a = test::http(rig.url("/capture?duration=0.1&format=pcap"));
  EXPECT_NE(a.headers.find("Content-Type: application/vnd.tcpdump.pcap"), std::string::npos);
  // HTTP/1.0 has no chunks: the body ends with the connection.
  a = test::http(rig.url("/capture?duration=0.1"), {"--http1.0"});
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.headers.find("Transfer-Encoding"), std::string::npos) << a.headers;
  EXPECT_EQ(test::read_pcap_bytes(Bytes(a.body.begin(), a.body.end())).error, "");
}

// Each refused request: its status, a one-line text/plain reason, Connection: close, and no
// subscribe call.
void expect_refused(StreamRig& rig, const test::HttpAnswer& a, int status,
                    const std::string& reason_part) {
  SCOPED_TRACE("want " + std::to_string(status) + " " + reason_part);
  EXPECT_EQ(a.status, status) << a.body;
  EXPECT_NE(a.body.find(reason_part), std::string::npos) << a.body;
  ASSERT_FALSE(a.body.empty());
  EXPECT_EQ(a.body.back(), '\n');
  EXPECT_EQ(std::count(a.body.begin(), a.body.end(), '\n'), 1) << a.body;
  EXPECT_NE(a.headers.find("Content-Type: text/plain"), std::string::npos) << a.headers;
  EXPECT_NE(a.headers.find("Connection: close"), std::string::npos) << a.headers;
  (void)rig;
}

TEST(StreamServer, BadRequestsAre400NamingTheParameterAndNeverSubscribe) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  const std::string long_filter = "udp port 53" + std::string(8200, ' ');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"?filter=" + encode("tcp port bogus"), "filter"},
      {"?filter=" + encode("udp and ("), "syntax error"},
      {"?filter=" + encode(long_filter), "over the limit of 8192"},
      {"?count=ten", "count"},
      {"?count=-1", "count"},
      {"?snaplen=999999999", "snaplen: 999999999 is out of range"},
      {"?snaplen=1e3", "snaplen"},
      {"?duration=0", "duration"},
      {"?duration=soon", "duration"},
      {"?format=xml", "format"},
      {"?bogus=1", "unknown parameter \"bogus\""},
      {"?count=1&count=2", "given twice"},
      {"?filter=%zz", "bad %-escape"},
  };
  for (const auto& [query, reason] : cases) {
    SCOPED_TRACE(query.substr(0, 80));
    expect_refused(rig, test::http(rig.url("/capture" + query)), 400, reason);
  }
  // libpcap's own message reaches the client.
  auto a = test::http(rig.url("/capture?filter=" + encode("tcp port bogus")));
  EXPECT_NE(a.body.find("unknown port"), std::string::npos) << a.body;
  expect_refused(rig, test::http(rig.url("/nothing-here")), 404, "not found");
  expect_refused(rig, test::http(rig.url("/capture"), {"-X", "POST"}), 405, "only GET");
  expect_refused(rig, test::http(rig.url("/captures"), {"-X", "DELETE"}), 405, "only GET");
  EXPECT_EQ(rig.host->subscribe_calls(), 0u);
  EXPECT_EQ(rig.subscriptions(), 0u);
}

TEST(StreamServer, TokenIsRequiredOnEveryPathButHealthz) {
  StreamServerConfig cfg;
  cfg.token = "s3cret-token";
  StreamRig rig(cfg);
  ASSERT_TRUE(rig.ok());
  auto a = test::http(rig.url("/capture?count=1"));
  expect_refused(rig, a, 401, "token");
  EXPECT_NE(a.headers.find("WWW-Authenticate: Bearer"), std::string::npos) << a.headers;
  expect_refused(rig, test::http(rig.url("/capture"), {"-H", "Authorization: Bearer wrong"}), 401,
                 "not valid");
  expect_refused(rig,
                 test::http(rig.url("/capture"), {"-H", "Authorization: Bearer s3cret-token-"}),
                 401, "not valid");
  expect_refused(rig, test::http(rig.url("/captures")), 401, "token");
  expect_refused(rig, test::http(rig.url("/nothing")), 401, "token");
  EXPECT_EQ(test::http(rig.url("/healthz")).status, 200);
  EXPECT_EQ(rig.host->subscribe_calls(), 0u);

  const std::vector<std::string> auth = {"-H", "Authorization: Bearer s3cret-token"};
  EXPECT_EQ(test::http(rig.url("/captures"), auth).status, 200);
  CurlStream c(rig.url("/capture?count=3"), auth);
  ASSERT_TRUE(rig.wait_subscriptions(1));
  rig.feed(test::mixed_frames(10));
  ASSERT_EQ(c.wait(30), 0) << c.err();
  auto got = test::read_pcap_bytes(c.body());
  ASSERT_EQ(got.error, "");
  EXPECT_EQ(got.records.size(), 3u);
}

TEST(StreamServer, LimitsAre429PerClientAnd503ForTheServer) {
  StreamServerConfig cfg;
  cfg.max_streams = 3;
  cfg.max_streams_per_client = 2;
  StreamRig rig(cfg);
  ASSERT_TRUE(rig.ok());
  CurlStream a(rig.url("/capture")), b(rig.url("/capture"));
  ASSERT_TRUE(rig.wait_subscriptions(2));
  expect_refused(rig, test::http(rig.url("/capture")), 429, "the limit per client");
  // Another address is another client (the whole of 127.0.0.0/8 is loopback).
  CurlStream c(rig.url("/capture"), {"--interface", "127.0.0.2"});
  ASSERT_TRUE(rig.wait_subscriptions(3));
  expect_refused(rig, test::http(rig.url("/capture"), {"--interface", "127.0.0.3"}), 503,
                 "too many streams");
  EXPECT_EQ(rig.host->subscribe_calls(), 3u);
  EXPECT_EQ(rig.subscriptions(), 3u);
  const auto streams = rig.server->streams();
  ASSERT_EQ(streams.size(), 3u);
  EXPECT_EQ(streams[2].client.rfind("127.0.0.2:", 0), 0u) << streams[2].client;
}

TEST(StreamServer, ACaptureThatCannotStartIs503WithItsReason) {
  StreamRig rig({}, "cannot attach the XDP program to eth9: test");
  ASSERT_TRUE(rig.ok());
  expect_refused(rig, test::http(rig.url("/capture")), 503,
                 "cannot attach the XDP program to eth9: test");
  EXPECT_TRUE(rig.server->streams().empty());
  EXPECT_EQ(rig.subscriptions(), 0u);
}

TEST(StreamServer, AfterTheCaptureStoppedARequestIs503) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  rig.fan->stop("end: capture over");
  expect_refused(rig, test::http(rig.url("/capture")), 503, "the capture is stopping");
  EXPECT_TRUE(rig.server->streams().empty());
}

TEST(StreamServer, HealthzSaysOkOrTheHooksReason) {
  std::atomic<bool> healthy{true};
  StreamServerConfig cfg;
  cfg.health = [&]() -> std::optional<std::string> {
    if (healthy) return std::nullopt;
    return "interface eth9 has disappeared";
  };
  StreamRig rig(cfg);
  ASSERT_TRUE(rig.ok());
  auto a = test::http(rig.url("/healthz"));
  EXPECT_EQ(a.status, 200);
  EXPECT_EQ(a.body, "ok\n");
  healthy = false;
  expect_refused(rig, test::http(rig.url("/healthz")), 503, "interface eth9 has disappeared");
}

TEST(StreamServer, CapturesListsTheActiveStreams) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  EXPECT_EQ(test::http(rig.url("/captures")).body, "[]\n");
  CurlStream c(rig.url("/capture?filter=" + encode("udp and host \"x") + "&snaplen=128"));
  ASSERT_EQ(c.wait(30), 0);  // a bad filter: 400
  CurlStream d(rig.url("/capture?filter=" + encode("udp port 53") + "&snaplen=128&format=pcap"));
  ASSERT_TRUE(rig.wait_subscriptions(1));
  rig.feed(test::mixed_frames(120));
  auto a = test::http(rig.url("/captures"));
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.headers.find("Content-Type: application/json"), std::string::npos);
  const std::string& j = a.body;
  EXPECT_NE(j.find("\"client\":\"127.0.0.1:"), std::string::npos) << j;
  EXPECT_NE(j.find("\"filter\":\"udp port 53\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"format\":\"pcap\""), std::string::npos) << j;
  EXPECT_NE(j.find("\"snaplen\":128"), std::string::npos) << j;
  EXPECT_NE(j.find("\"start\":\"20"), std::string::npos) << j;
  EXPECT_NE(j.find("Z\""), std::string::npos) << j;
  const auto want = selected(test::mixed_frames(120), "udp port 53").size();
  EXPECT_NE(j.find("\"packets_sent\":" + std::to_string(want)), std::string::npos) << j;
  EXPECT_NE(j.find("\"packets_dropped\":0"), std::string::npos) << j;
  EXPECT_NE(j.find("\"congested\":false"), std::string::npos) << j;
}

TEST(StreamServer, AClientThatGoesAwayIsUnsubscribed) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  {
    CurlStream c(rig.url("/capture"));
    ASSERT_TRUE(rig.wait_subscriptions(1));
    rig.feed(test::mixed_frames(10));
  }  // curl is killed
  EXPECT_TRUE(test::wait_until([&] { return rig.subscriptions() == 0; }, 10s));
  EXPECT_TRUE(test::wait_until([&] { return rig.server->streams().empty(); }, 10s));
}

TEST(StreamServer, StopEndsEveryStreamWithTheReason) {
  StreamRig rig;
  ASSERT_TRUE(rig.ok());
  CurlStream a(rig.url("/capture")), b(rig.url("/capture?format=pcap"));
  ASSERT_TRUE(rig.wait_subscriptions(2));
  rig.feed(test::mixed_frames(100));
  rig.server->stop("end: server stopping");
  ASSERT_EQ(a.wait(30), 0) << a.err();
  ASSERT_EQ(b.wait(30), 0) << b.err();
  EXPECT_TRUE(contains(a.body(), "end: server stopping"));
  EXPECT_EQ(test::read_pcap_bytes(a.body()).records.size(), 100u);
  EXPECT_EQ(test::read_pcap_bytes(b.body()).records.size(), 100u);
  EXPECT_EQ(rig.subscriptions(), 0u);
  // Nobody is listening any more.
  EXPECT_EQ(test::http(rig.url("/healthz")).status, 0);
}

TEST(StreamServer, WithoutATokenOnlyLoopback) {
  auto f = Fanout::open(FanoutConfig{});
  ASSERT_TRUE(f.ok());
  for (const std::string listen :
       {"198.18.0.1:0", "0.0.0.0:0", ":0", "[::]:0", "[2001:db8::1]:0"}) {
    StreamServerConfig cfg;
    cfg.listen = listen;
    auto s = StreamServer::start(cfg, **f);
    ASSERT_FALSE(s.ok()) << listen;
    EXPECT_EQ(s.error().kind, ErrorKind::InvalidInput) << s.error().message;
    EXPECT_NE(s.error().message.find("token"), std::string::npos) << s.error().message;
  }
  StreamServerConfig cfg;
  cfg.listen = "127.0.0.5:0";
  auto s = StreamServer::start(cfg, **f);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ((*s)->endpoints().size(), 1u);
  EXPECT_EQ((*s)->endpoints()[0].address, "127.0.0.5");
  EXPECT_EQ((*s)->endpoints()[0].port, (*s)->port());
  EXPECT_NE((*s)->port(), 0);
  // With a token, every address.
  cfg.listen = "0.0.0.0:0";
  cfg.token = "t";
  auto w = StreamServer::start(cfg, **f);
  EXPECT_TRUE(w.ok()) << w.error().message;
}

TEST(StreamServer, ABusyPortIsBusy) {
  auto f = Fanout::open(FanoutConfig{});
  ASSERT_TRUE(f.ok());
  auto first = StreamServer::start(StreamServerConfig{}, **f);
  ASSERT_TRUE(first.ok());
  StreamServerConfig cfg;
  cfg.listen = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = StreamServer::start(cfg, **f);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().kind, ErrorKind::Busy);
  EXPECT_EQ(second.error().message.rfind(cfg.listen, 0), 0u) << second.error().message;
  EXPECT_NE(second.error().message.find("already in use"), std::string::npos);
}

// The amounts in the "cleared: this client lost N packets while congested" comments.
uint64_t lost_in_comments(const Bytes& b) {
  const std::string key = "cleared: this client lost ";
  uint64_t sum = 0;
  for (auto it = b.begin(); (it = std::search(it, b.end(), key.begin(), key.end())) != b.end();) {
    it += ptrdiff_t(key.size());
    uint64_t n = 0;
    for (; it != b.end() && std::isdigit(*it); ++it) n = n * 10 + uint64_t(*it - '0');
    sum += n;
  }
  return sum;
}

std::string subs_info(StreamRig& rig) {
  std::string out;
  for (const auto& s : rig.fan->subscriptions()) {
    const auto st = s->stats();
    out += s->config().client + ": offered " + std::to_string(st.offered) + " delivered " +
           std::to_string(st.delivered) + " dropped " + std::to_string(st.dropped) + "; ";
  }
  return out;
}

TEST(StreamServer, ASlowClientLosesOnlyItsOwnAndItsStreamSaysHowMany) {
  StreamServerConfig cfg;
  cfg.stream_buffer_bytes = 64 * 1024;
  cfg.stop_timeout = 60s;
  StreamRig rig(cfg);
  ASSERT_TRUE(rig.ok());
  CurlStream fast(rig.url("/capture"));
  ASSERT_TRUE(rig.wait_subscriptions(1));
  // The slow client stops reading while the frames come, then reads everything: it can hold
  // at most its buffers (the subscription's, the server's write, the kernel's: a few MB).
  test::RawClient slow(rig.server->port(), "127.0.0.2", 4096);
  ASSERT_GE(slow.fd(), 0);
  ASSERT_TRUE(slow.send("GET /capture HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(rig.wait_subscriptions(2));
  std::vector<Bytes> frames;
  for (int i = 0; i < 8000; i++)
    frames.push_back(FrameBuilder()
                         .eth()
                         .ipv4("198.18.3.1", "198.18.3.2")
                         .udp(uint16_t(1000 + i % 50), 9)
                         .payload(1000, uint8_t(i))
                         .build());
  // After each batch the fast client has every record so far: its buffer never holds more
  // than one batch (32 KB), so it cannot lose one.
  size_t fast_record_bytes = 0, counted = 0;
  rig.feed(frames, 32, [&](size_t fed) {
    for (; counted < fed; counted++)
      fast_record_bytes += pcapng_record_bytes(uint32_t(frames[counted].size()));
    ASSERT_TRUE(test::wait_until([&] { return fast.body_size() >= fast_record_bytes; }, 20s))
        << "fed " << fed << ": the fast client has " << fast.body_size() << " bytes, want "
        << fast_record_bytes << "; " << subs_info(rig);
  });
  const auto subs = rig.fan->subscriptions();
  ASSERT_EQ(subs.size(), 2u);
  ASSERT_EQ(subs[1]->config().client.rfind("127.0.0.2:", 0), 0u);
  EXPECT_GT(subs[1]->stats().dropped, 0u);
  EXPECT_TRUE(subs[1]->stats().congested);
  // The slow client reads again: its congestion clears and its stream says what it lost.
  ASSERT_TRUE(test::wait_until(
      [&] {
        slow.poll_closed();
        return !subs[1]->stats().congested;
      },
      60s));
  rig.server->stop("end: test over");
  ASSERT_EQ(fast.wait(60), 0) << fast.err();
  ASSERT_TRUE(test::wait_until([&] { return slow.poll_closed(); }, 60s));

  const auto dropped = rig.server->dropped_by_client();
  ASSERT_EQ(dropped.count("127.0.0.2"), 1u);
  ASSERT_EQ(dropped.count("127.0.0.1"), 1u);
  EXPECT_EQ(dropped.at("127.0.0.1"), 0u);
  EXPECT_EQ(dropped.at("127.0.0.2"), subs[1]->stats().dropped);
  const auto response = test::parse_chunked_response(slow.received());
  EXPECT_EQ(response.head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response.head;
  EXPECT_TRUE(response.complete);
  const Bytes& slow_body = response.body;
  EXPECT_TRUE(contains(slow_body, "congested: this client's buffer"));
  EXPECT_EQ(lost_in_comments(slow_body), dropped.at("127.0.0.2"));
  EXPECT_TRUE(contains(slow_body, "end: test over"));
  auto slow_read = test::read_pcap_bytes(slow_body);
  ASSERT_EQ(slow_read.error, "");
  EXPECT_EQ(slow_read.records.size() + dropped.at("127.0.0.2"), frames.size());
  auto fast_read = test::read_pcap_bytes(fast.body());
  ASSERT_EQ(fast_read.error, "");
  EXPECT_EQ(fast_read.records.size(), frames.size()) << "the fast client lost packets";
}

}  // namespace
}  // namespace xcap::sink::fanout
