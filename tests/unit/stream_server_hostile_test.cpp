// StreamServer against misbehaving clients: a thousand idle connections, garbage, a request
// head over the limit and a slowloris, all at once, while a real stream goes on and loses
// nothing and a health check is answered. Each bad client is answered or closed in bounded
// time; none holds the server's one thread.
#include <gtest/gtest.h>

#include <string>

#include "common/pcap_file.h"
#include "common/stream_server_kit.h"
#include "common/wait_until.h"
#include "sink/fanout/stream_server.h"

namespace xcap::sink::fanout {
namespace {

using namespace std::chrono_literals;
using test::CurlStream;
using test::RawClient;
using test::StreamRig;

TEST(StreamServerHostile, BadClientsAreClosedAndAStreamLosesNothing) {
  StreamServerConfig cfg;  // request_timeout: 5 s
  StreamRig rig(cfg);
  ASSERT_TRUE(rig.ok());
  const uint16_t port = rig.server->port();
  CurlStream stream(rig.url("/capture"));
  ASSERT_TRUE(rig.wait_subscriptions(1));

  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 1000; i++) {
    idle.push_back(std::make_unique<RawClient>(port));
    ASSERT_GE(idle.back()->fd(), 0) << "connection " << i;
  }
  const auto t0 = std::chrono::steady_clock::now();
  RawClient slowloris(port);
  const std::string slow_request = "GET /healthz HTTP/1.1\r\nHost: 198.18.0.1\r\n\r\n";
  size_t slow_sent = 0;
  auto next_byte = t0;
  // A byte a second: the request would take 40 s to arrive.
  const auto drip = [&] {
    if (std::chrono::steady_clock::now() >= next_byte && slow_sent < slow_request.size()) {
      slowloris.send(slow_request.substr(slow_sent++, 1));
      next_byte += 1s;
    }
  };
  drip();
  RawClient garbage(port);
  ASSERT_TRUE(garbage.send("\x16\x03\x01\x02\x00 this is no HTTP\r\n\r\n"));
  RawClient oversized(port);
  oversized.send("GET /capture HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(40000, 'a') +
                 "\r\n\r\n");

  // The real client, while all of them are there.
  const auto frames = test::mixed_frames(2000);
  rig.feed(frames, 64, [&](size_t) { drip(); });
  const auto health = test::http(rig.url("/healthz"));
  EXPECT_EQ(health.status, 200);
  drip();

  ASSERT_TRUE(test::wait_until([&] { return garbage.poll_closed(); }, 10s));
  EXPECT_EQ(garbage.received().rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << garbage.received();
  ASSERT_TRUE(test::wait_until([&] { return oversized.poll_closed(); }, 10s));
  EXPECT_EQ(oversized.received().rfind("HTTP/1.1 431 ", 0), 0u) << oversized.received();

  // The slowloris and the idle connections go after request_timeout, not before.
  ASSERT_TRUE(test::wait_until(
      [&] {
        drip();
        return slowloris.poll_closed();
      },
      20s));
  const auto slow_for = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(slow_for, 4500ms);
  EXPECT_LT(slow_for, 15s);
  EXPECT_GE(slow_sent, 4u);
  EXPECT_EQ(slowloris.received(), "") << "a request that never arrived got an answer";
  ASSERT_TRUE(test::wait_until(
      [&] {
        for (auto& c : idle)
          if (!c->poll_closed()) return false;
        return true;
      },
      20s));

  // The stream lost nothing and goes on.
  rig.feed(frames);
  rig.server->stop("end: test over");
  ASSERT_EQ(stream.wait(30), 0) << stream.err();
  auto got = test::read_pcap_bytes(stream.body());
  ASSERT_EQ(got.error, "");
  EXPECT_EQ(got.records.size(), 2 * frames.size());
  EXPECT_EQ(rig.host->subscribe_calls(), 1u);
}

// A stream whose client stopped reading for write_stall_timeout is closed; until then it only
// loses its own packets.
TEST(StreamServerHostile, AStreamThatTakesNothingIsClosedAfterTheStallTimeout) {
  StreamServerConfig cfg;
  cfg.stream_buffer_bytes = 64 * 1024;
  cfg.write_stall_timeout = 1500ms;
  StreamRig rig(cfg);
  ASSERT_TRUE(rig.ok());
  RawClient stalled(rig.server->port(), "127.0.0.1", 4096);
  ASSERT_TRUE(stalled.send("GET /capture HTTP/1.1\r\nHost: x\r\n\r\n"));
  ASSERT_TRUE(rig.wait_subscriptions(1));
  std::vector<Bytes> frames;
  for (int i = 0; i < 8000; i++)
    frames.push_back(FrameBuilder()
                         .eth()
                         .ipv4("198.18.3.1", "198.18.3.2")
                         .udp(9, 9)
                         .payload(1000, uint8_t(i))
                         .build());
  const auto sub = rig.fan->subscriptions().at(0);
  rig.feed(frames, 32);
  EXPECT_GT(sub->stats().dropped, 0u);
  // Nothing more is read: the server gives up on the client.
  ASSERT_TRUE(test::wait_until([&] { return rig.subscriptions() == 0; }, 30s));
  EXPECT_TRUE(rig.server->streams().empty());
  EXPECT_EQ(rig.server->dropped_by_client().at("127.0.0.1"), sub->stats().dropped);
}

}  // namespace
}  // namespace xcap::sink::fanout
