// Fanout: workers' batches reach every subscriber, filtered per subscriber, as a pcapng (or
// pcap) stream libpcap and tshark read; nothing is copied without a subscriber; a client that
// does not read loses only its own packets, and its stream says so with the count.
#include "sink/fanout/fanout.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

#include "common/frame_builder.h"
#include "common/pcap_file.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "common/wait_until.h"

namespace xcap::sink::fanout {
namespace {

using namespace std::chrono_literals;

Bytes frame(int i) {
  return FrameBuilder()
      .eth()
      .ipv4("198.19.5.1", "198.19.5.2")
      .udp(uint16_t(1000 + i % 2), uint16_t(i % 2 ? 53 : 443))
      .payload(size_t(60 + i % 500), uint8_t(i))
      .build();
}

std::vector<PacketView> views(const std::vector<Bytes>& frames, uint64_t ts0) {
  std::vector<PacketView> v(frames.size());
  for (size_t i = 0; i < frames.size(); i++) {
    v[i].data = frames[i].data();
    v[i].caplen = v[i].wire_len = uint32_t(frames[i].size());
    v[i].ts_ns = ts0 + i;
  }
  return v;
}

std::shared_ptr<const FilterSet> filter(const std::string& expr) {
  auto f = FilterSet::compile(expr, 262144);
  EXPECT_TRUE(f.ok()) << f.error().message;
  return std::make_shared<const FilterSet>(std::move(f.value()));
}

// Everything a subscription streamed until it is done.
Bytes drain(Subscription& s) {
  Bytes all;
  EXPECT_TRUE(test::wait_until(
      [&] {
        Bytes b = s.take(10ms);
        all.insert(all.end(), b.begin(), b.end());
        return s.done();
      },
      10s));
  return all;
}

bool contains(const Bytes& b, const std::string& text) {
  return std::search(b.begin(), b.end(), text.begin(), text.end()) != b.end();
}

TEST(Fanout, EachSubscriberGetsWhatItsFilterSelects) {
  FanoutConfig cfg;
  cfg.workers = 2;
  cfg.iface0 = "eth9";
  auto f = Fanout::open(cfg);
  ASSERT_TRUE(f.ok()) << f.error().message;
  Fanout& fan = **f;
  fan.start();
  std::vector<Bytes> frames;
  for (int i = 0; i < 3000; i++) frames.push_back(frame(i));
  const auto v = views(frames, 1'700'000'000'000'000'000ull);

  fan.producer(0).append(v);  // nobody subscribed: nothing is kept
  fan.producer(0).seal();
  SubscriptionConfig all, dns;
  dns.filter = filter("udp port 53");
  dns.pcapng = false;
  auto s_all = *fan.subscribe(all), s_dns = *fan.subscribe(dns);
  // Half from each worker, in batches of 64.
  for (size_t i = 0; i < v.size(); i += 64) {
    const size_t n = std::min<size_t>(64, v.size() - i);
    fan.producer((i / 64) % 2).append(std::span<const PacketView>(v.data() + i, n));
  }
  fan.producer(0).seal();
  fan.producer(1).seal();
  ASSERT_TRUE(test::wait_until([&] { return s_all->stats().offered == frames.size(); }, 10s));
  fan.stop("end: test over");

  auto got_all = test::read_pcap_bytes(drain(*s_all));
  ASSERT_EQ(got_all.error, "");
  ASSERT_EQ(got_all.records.size(), frames.size());
  std::multiset<Bytes> want(frames.begin(), frames.end()), got;
  for (const auto& r : got_all.records) got.insert(r.data);
  EXPECT_TRUE(got == want);
  auto got_dns = test::read_pcap_bytes(drain(*s_dns));
  ASSERT_EQ(got_dns.error, "");
  EXPECT_EQ(got_dns.link_type, 1);
  EXPECT_EQ(got_dns.records.size(), frames.size() / 2);
  for (const auto& r : got_dns.records) EXPECT_EQ(r.data[37], 53) << "not udp port 53";
  EXPECT_EQ(s_dns->stats().matched, frames.size() / 2);
  EXPECT_EQ(fan.handoff_drops(), 0u);
}

TEST(Fanout, ASlowClientLosesOnlyItsOwnAndItsStreamSaysHowMany) {
  FanoutConfig cfg;
  cfg.iface0 = "eth9";
  auto f = Fanout::open(cfg);
  ASSERT_TRUE(f.ok()) << f.error().message;
  Fanout& fan = **f;
  fan.start();
  SubscriptionConfig slow, fast;
  slow.buffer_bytes = 64 * 1024;
  auto s_slow = *fan.subscribe(slow), s_fast = *fan.subscribe(fast);
  std::vector<Bytes> frames;
  for (int i = 0; i < 2000; i++) frames.push_back(frame(i));
  const auto v = views(frames, 1'700'000'000'000'000'000ull);
  Bytes fast_bytes;
  for (size_t i = 0; i < v.size(); i += 64) {
    const size_t n = std::min<size_t>(64, v.size() - i);
    fan.producer(0).append(std::span<const PacketView>(v.data() + i, n));
    fan.producer(0).seal();
    // One block at a time: the producer has 16, and this test is about the client's buffer,
    // not about outrunning the fanout thread (that is a hand-off drop).
    ASSERT_TRUE(test::wait_until([&] { return s_slow->stats().offered == i + n; }, 10s));
    Bytes b = s_fast->take(0ms);  // the fast client keeps up; the slow one reads nothing
    fast_bytes.insert(fast_bytes.end(), b.begin(), b.end());
  }
  EXPECT_EQ(fan.handoff_drops(), 0u);
  const SubscriptionStats st = s_slow->stats();
  EXPECT_TRUE(st.congested);
  EXPECT_GT(st.dropped, 0u);
  EXPECT_EQ(st.delivered + st.dropped, frames.size());
  // The slow client reads again: its stream clears and says how many it lost.
  Bytes slow_bytes = s_slow->take(0ms);
  ASSERT_TRUE(test::wait_until([&] { return !s_slow->stats().congested; }, 5s));
  fan.stop("end: server stopping");
  Bytes rest = drain(*s_slow);
  slow_bytes.insert(slow_bytes.end(), rest.begin(), rest.end());
  Bytes fast_rest = drain(*s_fast);
  fast_bytes.insert(fast_bytes.end(), fast_rest.begin(), fast_rest.end());

  EXPECT_TRUE(contains(slow_bytes, "congested: this client's buffer"));
  EXPECT_TRUE(contains(slow_bytes, "cleared: this client lost " + std::to_string(st.dropped) +
                                       " packets while congested"));
  EXPECT_TRUE(contains(slow_bytes, "end: server stopping"));
  auto slow_read = test::read_pcap_bytes(slow_bytes);
  ASSERT_EQ(slow_read.error, "");
  EXPECT_EQ(slow_read.records.size(), st.delivered);
  auto fast_read = test::read_pcap_bytes(fast_bytes);
  ASSERT_EQ(fast_read.error, "");
  EXPECT_EQ(fast_read.records.size(), frames.size()) << "the fast client lost packets";
  EXPECT_EQ(s_fast->stats().dropped, 0u);

  // tshark reads the whole stream, statistics blocks and comments included.
  test::TempDir dir;
  const std::string path = dir / "slow.pcapng";
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(slow_bytes.data()), std::streamsize(slow_bytes.size()));
  auto r = test::run({"/usr/bin/tshark", "-r", path, "-q"}, 60);
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Fanout, CountEndsTheStream) {
  auto f = Fanout::open(FanoutConfig{});
  ASSERT_TRUE(f.ok());
  Fanout& fan = **f;
  fan.start();
  SubscriptionConfig c;
  c.count = 10;
  auto s = *fan.subscribe(c);
  std::vector<Bytes> frames;
  for (int i = 0; i < 100; i++) frames.push_back(frame(i));
  fan.producer(0).append(views(frames, 1));
  fan.producer(0).seal();
  const Bytes all = drain(*s);
  auto got = test::read_pcap_bytes(all);
  ASSERT_EQ(got.error, "");
  EXPECT_EQ(got.records.size(), 10u);
  EXPECT_TRUE(contains(all, "end: count reached"));
}

// The first packet of an interface may not fit a congested client's buffer: the interface's
// description must still reach the stream, or every later packet and statistics block of that
// interface refers to one the reader never saw (libpcap: "interface ID out of range").
TEST(Fanout, AnInterfaceFirstSeenWhileCongestedIsStillDescribed) {
  auto f = Fanout::open(FanoutConfig{});
  ASSERT_TRUE(f.ok());
  Fanout& fan = **f;
  fan.start();
  SubscriptionConfig c;
  // The section header fits, a 1,000-byte frame does not; the two small frames fit even
  // beside the statistics blocks a once-a-second tick may add before they come.
  c.buffer_bytes = 640;
  auto s = *fan.subscribe(c);
  std::vector<Bytes> big = {
      FrameBuilder().eth().ipv4("198.18.0.1", "198.18.0.2").udp(1, 2).payload(1000).build()};
  fan.producer(0).append(views(big, 1));
  fan.producer(0).seal();
  ASSERT_TRUE(test::wait_until([&] { return s->stats().dropped == 1; }, 10s));
  Bytes all = s->take(0ms);
  std::vector<Bytes> small = {frame(0), frame(1)};
  fan.producer(0).append(views(small, 2));
  fan.producer(0).seal();
  ASSERT_TRUE(test::wait_until([&] { return s->stats().offered == 3; }, 10s));
  fan.stop("end: test over");
  const Bytes rest = drain(*s);
  all.insert(all.end(), rest.begin(), rest.end());
  auto got = test::read_pcap_bytes(all);
  ASSERT_EQ(got.error, "");
  EXPECT_EQ(got.records.size(), s->stats().delivered);
  EXPECT_GE(got.records.size(), 1u);
}

// A subscription made after the fanout stopped would never end: its client would wait
// forever. It is refused instead, with a reason for the client.
TEST(Fanout, SubscribingAfterStopIsRefused) {
  auto f = Fanout::open(FanoutConfig{});
  ASSERT_TRUE(f.ok());
  (*f)->start();
  (*f)->stop("end: capture over");
  auto s = (*f)->subscribe(SubscriptionConfig{});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("stopp"), std::string::npos) << s.error().message;
}

}  // namespace
}  // namespace xcap::sink::fanout
