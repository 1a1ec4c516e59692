// `xcap stream`, the real binary, against TestHttpServers on loopback that serve canned pcapng
// streams as xcap's server does: merging, output tools, status lines, exit codes, failures of
// single targets, Ctrl-C, and the ways to name targets (file, command, BOSH Director).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <stdexcept>

#include "common/canned_stream.h"
#include "common/capture_readers.h"
#include "common/pcap_file.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "common/test_http_server.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"
#include "stream/pcapng_stream_reader.h"

namespace xcap::test {
namespace {

constexpr uint64_t kBase = 1'700'000'000'000'000'000ull;
constexpr uint64_t kMs = 1'000'000;

std::string xcap_bin() {
  return std::string(XCAP_BIN_DIR) + "/xcap";
}

std::vector<std::string> stream_argv(const std::vector<std::string>& args) {
  std::vector<std::string> argv{xcap_bin(), "stream"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

// One fake streaming xcap serving a canned target.
struct FakeTarget {
  CannedTarget canned;
  std::unique_ptr<TestHttpServer> server;
  explicit FakeTarget(CannedTarget c, const std::string& host = "127.0.0.1", int port = 0)
      : canned(std::move(c)) {
    server = std::make_unique<TestHttpServer>(
        [this](TestHttpExchange& ex) { serve_canned(ex, canned); }, host, port);
  }
  FakeTarget(const FakeTarget&) = delete;  // the server's handler holds this
  FakeTarget& operator=(const FakeTarget&) = delete;
  std::string address() const { return server->address(); }
};

std::vector<PcapRecord> expected_records(const std::vector<FakeTarget*>& targets) {
  std::vector<PcapRecord> out;
  for (const FakeTarget* t : targets)
    for (const CannedPacket& p : t->canned.packets)
      out.push_back({p.ts_ns, uint32_t(p.frame.size()), uint32_t(p.frame.size()), p.frame});
  std::sort(out.begin(), out.end());
  return out;
}

bool non_decreasing(const std::vector<PcapRecord>& r) {
  for (size_t i = 1; i < r.size(); i++)
    if (r[i].ts_ns < r[i - 1].ts_ns) return false;
  return true;
}

std::set<std::string> interface_names(const std::string& path) {
  std::set<std::string> names;
  for (const std::string& l : tshark({"-r", path, "-T", "fields", "-e", "frame.interface_name"}))
    if (!l.empty() && l.find("root") == std::string::npos) names.insert(l);
  return names;
}

// Target t's 40 packets: its i-th at i*3 ms + t ms, so that targets interleave.
CannedTarget canned_for(int t, CannedTarget c) {
  c.packets = canned_packets(t, 40, kBase, 3 * kMs, kMs);
  return c;
}

// Three targets whose packets interleave in time: target t's i-th packet at i*3 ms + t ms.
struct ThreeTargets {
  FakeTarget a, b, c;
  ThreeTargets()
      : a(canned_for(0, {})), b(canned_for(1, {.congestion = true})), c(canned_for(2, {})) {
    // c: a second mirror source shows up halfway (its IDB comes later in the stream).
    for (size_t i = c.canned.packets.size() / 2; i < c.canned.packets.size(); i += 2)
      c.canned.packets[i].iface = 1;
    c.canned.interfaces = {"eth0", "vxlan-198.18.9.9"};
  }
  std::vector<FakeTarget*> all() { return {&a, &b, &c}; }
};

TEST(StreamCommand, MergesThreeTargetsInTimestampOrder) {
  ThreeTargets three;
  TempDir dir;
  const std::string out = dir / "merged.pcapng";
  auto r = run(stream_argv({three.a.address(), three.b.address(), three.c.address(), "-c", "40",
                            "-f", "udp port 2000", "-w", out}),
               60);
  ASSERT_EQ(r.status, 0) << r.output;
  for (FakeTarget* t : three.all()) {
    EXPECT_NE(r.output.find(t->address() + ": connected\n"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(t->address() + ": finished (end: count reached)\n"), std::string::npos)
        << r.output;
    const auto reqs = t->server->requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].path(), "/capture");
    EXPECT_EQ(reqs[0].query("count"), "40");
    EXPECT_EQ(reqs[0].query("filter"), "udp port 2000");
    EXPECT_EQ(reqs[0].query("format"), "pcapng");
    EXPECT_EQ(reqs[0].header("authorization"), "");
  }
  EXPECT_NE(r.output.find(three.b.address() + ": congested (3 lost)\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(three.b.address() + ": cleared (3 lost)\n"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(three.a.address() +
                          ": 40 packets received, 0 dropped by the server for this client, 0 "
                          "late; finished (end: count reached)"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(three.b.address() + ": 40 packets received, 3 dropped by the server"),
            std::string::npos)
      << r.output;

  const std::vector<PcapRecord> got = read_pcap_records(out);
  EXPECT_TRUE(non_decreasing(got));
  std::vector<PcapRecord> sorted = got;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, expected_records(three.all()));  // every packet exactly once
  EXPECT_EQ(interface_names(out),
            (std::set<std::string>{three.a.address() + "/eth0", three.b.address() + "/eth0",
                                   three.c.address() + "/eth0",
                                   three.c.address() + "/vxlan-198.18.9.9"}));
  std::string why;
  EXPECT_EQ(capinfos_count(out, &why), 120u) << why;
  EXPECT_EQ(tshark_count(out, &why), 120u) << why;
  // The servers' statistics are passed through, on the output interface of their target.
  stream::PcapngStreamReader reader;
  const std::string bytes = read_file(out);
  reader.feed(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
  std::vector<std::string> idb_names;
  std::map<std::string, std::vector<std::string>> comments;  // interface -> ISB comments
  while (auto b = reader.next()) {
    ASSERT_TRUE(*b) << b->error().message;
    if (auto* i = std::get_if<stream::InterfaceBlock>(&**b)) idb_names.push_back(i->name);
    if (auto* st = std::get_if<stream::StatisticsBlock>(&**b))
      comments[idb_names.at(st->iface)].push_back(st->comment);
  }
  EXPECT_EQ(reader.pending(), 0u);
  const auto& b_comments = comments[three.b.address() + "/eth0"];
  EXPECT_EQ(std::count_if(b_comments.begin(), b_comments.end(),
                          [](auto& c) { return c.rfind("congested", 0) == 0; }),
            1);
  EXPECT_EQ(b_comments.back(), "end: count reached");
  EXPECT_EQ(comments[three.a.address() + "/eth0"].size(), 5u);  // every 10 packets, and the end
}

TEST(StreamCommand, StdoutFeedsTcpdump) {
  FakeTarget a(canned_for(0, {})), b(canned_for(1, {}));
  auto r = run({"/bin/bash", "-c",
                xcap_bin() + " stream " + a.address() + " " + b.address() +
                    " -w - | tcpdump -nn -r - 2>/dev/null | grep -c 198.18.1.1.2000; exit "
                    "${PIPESTATUS[0]}"},
               60);
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("80\n"), std::string::npos) << r.output;
}

TEST(StreamCommand, OneFailingTargetDoesNotStopTheOthers) {
  FakeTarget good(canned_for(0, {}));
  FakeTarget needs_token(canned_for(1, {.token = "s3cret"}));
  TestHttpServer busy(
      [](TestHttpExchange& ex) { ex.respond(429, "text/plain", "too many streams (limit 4)\n"); });
  TestHttpServer garbage([](TestHttpExchange& ex) {
    ex.start_chunked();
    ex.send_chunk(std::vector<uint8_t>(64, 0x5a));
    ex.end_chunked();
  });
  const std::string refused = "127.0.0.1:" + std::to_string(free_port());
  TempDir dir;
  const std::string out = dir / "m.pcapng";
  auto r = run(stream_argv({good.address(), needs_token.address(), busy.address(),
                            garbage.address(), refused, "-w", out}),
               60);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(good.address() + ": finished (end: count reached)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(needs_token.address() +
                          ": failed (HTTP 401: a valid bearer token is required)\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(busy.address() + ": failed (HTTP 429: too many streams (limit 4))\n"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(garbage.address() + ": failed (malformed pcapng at byte 0: not a pcapng"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find(refused + ": failed (connection refused)\n"), std::string::npos)
      << r.output;
  EXPECT_EQ(read_pcap_records(out), expected_records({&good}));
}

TEST(StreamCommand, SendsTheBearerTokenFromTheTokenFile) {
  FakeTarget t(canned_for(0, {.token = "s3cret"}));
  TempDir dir;
  { std::ofstream(dir / "token") << "s3cret\n"; }
  auto r = run(stream_argv({t.address(), "--token-file", dir / "token", "-w", dir / "o.pcapng"}));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_pcap_records(dir / "o.pcapng").size(), 40u);
}

TEST(StreamCommand, SigintEndsEveryStreamAndCompletesTheFile) {
  CannedTarget live_a{.end = ""}, live_b{.end = ""};
  live_a.packets = canned_packets(0, 30, kBase, 3 * kMs, kMs);
  live_b.packets = canned_packets(1, 30, kBase, 3 * kMs, kMs);
  std::atomic<int> all_sent{0};
  live_a.on_all_sent = live_b.on_all_sent = [&] { all_sent++; };
  FakeTarget a(live_a), b(live_b);
  TestHttpServer stalled([](TestHttpExchange& ex) {  // ignores the half-close
    ex.start_chunked();
    ex.wait_until_stopping();
  });
  TestHttpServer closing([](TestHttpExchange& ex) {  // closes at the half-close, saying nothing
    ex.start_chunked();
    serve_stall(ex);
  });
  TempDir dir;
  const std::string out = dir / "live.pcapng";
  Subprocess x(stream_argv({a.address(), b.address(), stalled.address(), closing.address(),
                            "--stop-wait", "1", "-w", out}));
  ASSERT_TRUE(x.wait_for_stderr(b.address() + ": connected", 20)) << x.err();
  ASSERT_TRUE(x.wait_for_stderr(a.address() + ": connected", 20)) << x.err();
  ASSERT_TRUE(x.wait_for_stderr(stalled.address() + ": connected", 20)) << x.err();
  ASSERT_TRUE(x.wait_for_stderr(closing.address() + ": connected", 20)) << x.err();
  ASSERT_TRUE(wait_until([&] { return all_sent == 2; }, std::chrono::seconds(20)));
  x.signal(SIGINT);
  EXPECT_EQ(x.wait(20), 0) << x.err();
  const std::string err = x.err();
  EXPECT_NE(err.find(a.address() + ": finished (end: client closed)"), std::string::npos) << err;
  EXPECT_NE(err.find(b.address() + ": finished (end: client closed)"), std::string::npos) << err;
  EXPECT_NE(err.find(stalled.address() + ": stopped (no final statistics within 1 s of the stop)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(closing.address() +
                     ": stopped (the server closed the connection without final statistics)"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find(a.address() + ": 30 packets received"), std::string::npos) << err;
  EXPECT_NE(err.find(stalled.address() + ": 0 packets received"), std::string::npos) << err;
  const PcapContents got = read_pcap(out);
  EXPECT_EQ(got.error, "");
  std::vector<PcapRecord> sorted = got.records;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, expected_records({&a, &b}));
  EXPECT_TRUE(non_decreasing(got.records));
}

TEST(StreamCommand, IdleTimeoutFailsASilentTarget) {
  FakeTarget good(canned_for(0, {}));
  TestHttpServer silent([](TestHttpExchange& ex) { serve_stall(ex); });
  TempDir dir;
  auto r = run(stream_argv(
      {good.address(), silent.address(), "--idle-timeout", "0.5", "-w", dir / "o.pcapng"}));
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find(silent.address() + ": failed (timed out)"), std::string::npos)
      << r.output;
  EXPECT_EQ(read_pcap_records(dir / "o.pcapng").size(), 40u);
}

TEST(StreamCommand, TargetsFromAFileAndACommand) {
  FakeTarget a(canned_for(0, {})), b(canned_for(1, {}));
  TempDir dir;
  {
    std::ofstream f(dir / "targets");
    f << "# the web tier\n\n  " << a.address() << "  # first\n";
  }
  auto r = run(stream_argv({"--targets", dir / "targets", "--targets-cmd",
                            "echo '# generated'; echo http://" + b.address() + "/capture", "-w",
                            dir / "o.pcapng"}));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_EQ(read_pcap_records(dir / "o.pcapng").size(), 80u);

  auto failing = run(stream_argv({"--targets-cmd", "echo x; exit 3", "-w", dir / "p.pcapng"}));
  EXPECT_EQ(failing.status, 1) << failing.output;
  EXPECT_NE(failing.output.find("--targets-cmd 'echo x; exit 3' exited with status 3"),
            std::string::npos)
      << failing.output;
  auto missing = run(stream_argv({"--targets", dir / "nope", "-w", dir / "p.pcapng"}));
  EXPECT_EQ(missing.status, 2) << missing.output;
  EXPECT_NE(missing.output.find("--targets '" + (dir / "nope") + "': cannot read"),
            std::string::npos)
      << missing.output;
  auto bad = run(stream_argv({"--targets-cmd", "echo 'host:99999'", "-w", dir / "p.pcapng"}));
  EXPECT_EQ(bad.status, 2) << bad.output;
  EXPECT_NE(bad.output.find("99999"), std::string::npos) << bad.output;
}

TEST(StreamCommand, PcapOutputNeedsOneLinkType) {
  FakeTarget eth(canned_for(0, {}));
  CannedTarget raw_c{.link_type = 101};
  raw_c.packets = canned_packets(1, 5, kBase, kMs, 0);
  FakeTarget raw(raw_c);
  TempDir dir;
  auto same = run(stream_argv({eth.address(), "--format", "pcap", "-w", dir / "a.pcap"}));
  EXPECT_EQ(same.status, 0) << same.output;
  const PcapContents a = read_pcap(dir / "a.pcap");
  EXPECT_EQ(a.link_type, 1);
  EXPECT_EQ(a.records, expected_records({&eth}));

  auto mixed =
      run(stream_argv({eth.address(), raw.address(), "--format", "pcap", "-w", dir / "b.pcap"}));
  EXPECT_EQ(mixed.status, 1) << mixed.output;
  EXPECT_NE(mixed.output.find("a pcap file holds one link type (use pcapng)"), std::string::npos)
      << mixed.output;
}

// A BOSH Director (with its UAA at /uaa on the same server) and three instances of a
// deployment on 127.0.0.1-3, the same port.
TEST(StreamCommand, BoshDeploymentInstancesAreTheTargets) {
  FakeTarget r0(canned_for(0, {}), "127.0.0.1");
  const int port = r0.server->port();
  FakeTarget r1(canned_for(1, {}), "127.0.0.2", port);
  FakeTarget other(canned_for(2, {}), "127.0.0.3", port);
  int director_port = 0;
  TestHttpServer director([&](TestHttpExchange& ex) {
    const TestHttpRequest& q = ex.request();
    if (q.path() == "/info") {
      ex.respond(200, "application/json",
                 R"({"name":"test","uuid":"u","version":"280.0.0","user":null,"cpi":"warden_cpi",)"
                 R"("user_authentication":{"type":"uaa","options":{"url":"http://127.0.0.1:)" +
                     std::to_string(director_port) + R"(/uaa","urls":[]}}})");
    } else if (q.path() == "/uaa/oauth/token" && q.method == "POST") {
      // base64("xcap-ci:s3cret")
      if (q.header("authorization") != "Basic eGNhcC1jaTpzM2NyZXQ=" ||
          q.body != "grant_type=client_credentials")
        return ex.respond(401, "application/json", R"({"error":"unauthorized"})");
      ex.respond(200, "application/json",
                 R"({"access_token":"tok-123","token_type":"bearer","expires_in":599})");
    } else if (q.path() == "/deployments/cf/vms") {
      if (q.header("authorization") != "Bearer tok-123") return ex.respond(401, "text/plain", "no");
      ex.respond(
          200, "application/json",
          R"([{"agent_id":"a0","cid":"c0","job":"router","index":0,"id":"r-0","ips":["127.0.0.1"]},)"
          R"({"agent_id":"a1","cid":"c1","job":"router","index":1,"id":"r-1","ips":["127.0.0.2"]},)"
          R"({"agent_id":"a2","cid":"c2","job":"nats","index":0,"id":"n-0","ips":["127.0.0.3"]}])");
    } else {
      ex.respond(404, "text/plain", "not found");
    }
  });
  director_port = director.port();
  setenv("BOSH_ENVIRONMENT", ("http://" + director.address()).c_str(), 1);
  setenv("BOSH_CLIENT", "xcap-ci", 1);
  setenv("BOSH_CLIENT_SECRET", "s3cret", 1);
  unsetenv("BOSH_CA_CERT");
  TempDir dir;
  auto r = run(
      stream_argv({"--bosh", "cf/router", "--port", std::to_string(port), "-w", dir / "o.pcapng"}));
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("router/r-0: finished (end: count reached)"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("router/r-1: finished (end: count reached)"), std::string::npos)
      << r.output;
  EXPECT_EQ(r.output.find("nats"), std::string::npos) << r.output;
  EXPECT_EQ(interface_names(dir / "o.pcapng"),
            (std::set<std::string>{"router/r-0/eth0", "router/r-1/eth0"}));
  EXPECT_TRUE(other.server->requests().empty());

  auto one = run(stream_argv(
      {"--bosh", "cf/router/1", "--port", std::to_string(port), "-w", dir / "p.pcapng"}));
  EXPECT_EQ(one.status, 0) << one.output;
  EXPECT_NE(one.output.find("router/r-1: 40 packets received"), std::string::npos) << one.output;
  EXPECT_EQ(one.output.find("router/r-0"), std::string::npos) << one.output;

  setenv("BOSH_CLIENT_SECRET", "wrong", 1);
  auto denied =
      run(stream_argv({"--bosh", "cf", "--port", std::to_string(port), "-w", dir / "q.pcapng"}));
  EXPECT_EQ(denied.status, 1) << denied.output;
  EXPECT_NE(denied.output.find("xcap stream: --bosh BOSH UAA: POST " + director.address() +
                               "/uaa/oauth/token: HTTP 401: {\"error\":\"unauthorized\"}"),
            std::string::npos)
      << denied.output;
  unsetenv("BOSH_ENVIRONMENT");
}

// A CA, a server certificate for 127.0.0.1 signed by it, and a client certificate, made with
// the openssl command.
struct TestPki {
  TempDir dir;
  TestPki() {
    const std::string d = dir.path();
    const std::string cmd =
        "cd " + d +
        " && openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 "
        "-subj /CN=xcap-test-ca"
        " && openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr "
        "-subj /CN=127.0.0.1"
        " && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext"
        " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out server.pem -days 2 -extfile san.ext"
        " && openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr "
        "-subj /CN=xcap-client"
        " && openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial "
        "-out client.pem -days 2";
    if (sh_quiet("(" + cmd + ") >/dev/null 2>&1") != 0)
      throw std::runtime_error("openssl could not make the test PKI");
  }
  std::string operator/(const std::string& f) const { return dir / f; }
};

TEST(StreamCommand, HttpsTargetsAreVerified) {
  TestPki pki;
  CannedTarget c = canned_for(0, {});
  TestHttpServer tls([&](TestHttpExchange& ex) { serve_canned(ex, c); }, pki / "server.pem",
                     pki / "server.key");
  TestHttpServer mtls([&](TestHttpExchange& ex) { serve_canned(ex, c); }, pki / "server.pem",
                      pki / "server.key", pki / "ca.pem");
  FakeTarget plain(canned_for(1, {}));
  TempDir dir;
  auto good = run(stream_argv(
      {"https://" + tls.address(), "--tls-ca", pki / "ca.pem", "-w", dir / "a.pcapng"}));
  EXPECT_EQ(good.status, 0) << good.output;
  EXPECT_EQ(read_pcap_records(dir / "a.pcapng").size(), 40u);
  // Bare targets use https with --tls-ca; the client certificate opens the mTLS server.
  auto client =
      run(stream_argv({mtls.address(), "--tls-ca", pki / "ca.pem", "--tls-cert", pki / "client.pem",
                       "--tls-key", pki / "client.key", "-w", dir / "b.pcapng"}));
  EXPECT_EQ(client.status, 0) << client.output;

  auto unverified = run(stream_argv({"https://" + tls.address(), "-w", dir / "c.pcapng"}));
  EXPECT_EQ(unverified.status, 1) << unverified.output;
  EXPECT_NE(unverified.output.find(tls.address() + ": failed (TLS: certificate verify failed)"),
            std::string::npos)
      << unverified.output;
  auto no_client_cert = run(stream_argv(
      {"https://" + mtls.address(), "--tls-ca", pki / "ca.pem", "-w", dir / "d.pcapng"}));
  EXPECT_EQ(no_client_cert.status, 1) << no_client_cert.output;
  EXPECT_NE(no_client_cert.output.find(mtls.address() + ": failed (TLS: "), std::string::npos)
      << no_client_cert.output;
  // A plain server waits for a request line that never comes: the handshake times out.
  auto tls_to_plain = run(stream_argv({"https://" + plain.address(), "--tls-ca", pki / "ca.pem",
                                       "--idle-timeout", "0.5", "-w", dir / "e.pcapng"}));
  EXPECT_EQ(tls_to_plain.status, 1) << tls_to_plain.output;
  EXPECT_NE(tls_to_plain.output.find(plain.address() + ": failed (timed out)"), std::string::npos)
      << tls_to_plain.output;
}

TEST(StreamCommand, UsageErrorsExitTwo) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{},
        {"127.0.0.1:1", "--format", "pcapx", "-w", "/dev/null"},
        {"127.0.0.1:99999", "-w", "/dev/null"},
        {"127.0.0.1:1", "-c", "x", "-w", "/dev/null"}}) {
    auto r = run(stream_argv(args));
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find("xcap stream --help"), std::string::npos) << r.output;
  }
  auto help = run(stream_argv({"--help"}));
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("--reorder-window"), std::string::npos);
}

}  // namespace
}  // namespace xcap::test
