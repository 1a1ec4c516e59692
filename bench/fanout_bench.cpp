// fanout_bench: what streaming costs, per packet.
//   BM_ProducerAppend   a worker's FanoutProducer::append of a batch of 64 frames (64 or 1500
//                       bytes) while one client is subscribed: the copy into hand-off blocks,
//                       the only streaming cost on the worker's path. With no client it is a
//                       single load (the idle variant). The clock stops while the fanout
//                       thread catches up, so no record is dropped (drop% says so).
//   BM_OfferPerClient   the fanout thread offering one hand-off block (1,000 records) to N
//                       subscriptions, each with its own filter ("udp port 53": a quarter of
//                       the frames) or none, encoding pcapng into its buffer; a reader thread
//                       takes the bytes out as a fast client would. per_pkt_client is the
//                       time per record and per client: the fanout thread's budget is one
//                       core, so 1 / per_pkt_client is the packet rate it serves per client.
//
//   build/bench/fanout_bench --benchmark_min_time=0.2
//
// Nothing here asserts a speed. bench/stream_clients measures the same end to end: clients
// served with no loss at the lab's top rate, and a slow client beside fast ones.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "common/frame_builder.h"
#include "common/packet_view.h"
#include "filter/filter_set.h"
#include "sink/fanout/fanout.h"
#include "sink/fanout/raw_record.h"
#include "sink/fanout/subscription.h"

namespace {

using xcap::Bytes;
using xcap::FrameBuilder;
using xcap::PacketView;
namespace fo = xcap::sink::fanout;

// n frames of `size` bytes; every fourth is UDP to port 53, the rest TCP to 443.
std::vector<Bytes> frames(size_t n, size_t size) {
  std::vector<Bytes> out;
  for (size_t i = 0; i < n; i++) {
    FrameBuilder b;
    b.eth().ipv4("198.18.0.1", "198.18.0.2");
    if (i % 4 == 0)
      b.udp(uint16_t(40000 + i % 100), 53);
    else
      b.tcp(uint16_t(40000 + i % 100), 443);
    const size_t hdr = b.size();
    out.push_back(b.payload(size > hdr ? size - hdr : 0, uint8_t(i)).build());
  }
  return out;
}

std::vector<PacketView> views(const std::vector<Bytes>& f) {
  std::vector<PacketView> v(f.size());
  for (size_t i = 0; i < f.size(); i++) {
    v[i].data = f[i].data();
    v[i].caplen = v[i].wire_len = uint32_t(f[i].size());
    v[i].ts_ns = 1'700'000'000'000'000'000ull + i;
  }
  return v;
}

// A client that reads as fast as it can, on its own thread.
class Reader {
 public:
  explicit Reader(std::shared_ptr<fo::Subscription> s)
      : s_(std::move(s)), t_([this] {
          while (!stop_.load(std::memory_order_relaxed)) s_->take(std::chrono::milliseconds(1));
        }) {}
  ~Reader() {
    stop_ = true;
    t_.join();
  }

 private:
  std::shared_ptr<fo::Subscription> s_;
  std::atomic<bool> stop_{false};
  std::thread t_;
};

void BM_ProducerAppend(benchmark::State& state, bool subscribed) {
  const auto f = frames(64, size_t(state.range(0)));
  const auto batch = views(f);
  fo::FanoutConfig cfg;
  cfg.workers = 1;
  auto fan = fo::Fanout::open(cfg);
  if (!fan) {
    state.SkipWithError(fan.error().message.c_str());
    return;
  }
  (*fan)->start();
  std::shared_ptr<fo::Subscription> s;
  std::unique_ptr<Reader> reader;
  if (subscribed) {
    s = *(*fan)->subscribe(fo::SubscriptionConfig{});
    reader = std::make_unique<Reader>(s);
  }
  fo::FanoutProducer& p = (*fan)->producer(0);
  // Every half of the blocks' room the clock stops until the fanout thread has taken every
  // block, so the producer never runs out: a drop costs less than a copy and would flatter it.
  const uint64_t kChunk =
      std::max<uint64_t>(1, cfg.block_bytes * cfg.blocks_per_worker / 2 /
                                (batch.size() * fo::raw_record_bytes(batch[0].caplen)));
  uint64_t batches = 0;
  for (auto _ : state) {
    p.append(batch);
    if (subscribed && ++batches % kChunk == 0) {
      state.PauseTiming();
      p.seal();
      const uint64_t want = batches * batch.size() - p.handoff_drops();
      while (s->stats().offered < want) std::this_thread::yield();
      state.ResumeTiming();
    }
  }
  p.seal();
  state.counters["per_pkt"] =
      benchmark::Counter(double(state.iterations() * batch.size()),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["drop%"] =
      100.0 * double(p.handoff_drops()) / double(state.iterations() * batch.size());
  (*fan)->stop("end: benchmark done");
}
BENCHMARK_CAPTURE(BM_ProducerAppend, subscribed, true)->Arg(64)->Arg(1500);
BENCHMARK_CAPTURE(BM_ProducerAppend, idle, false)->Arg(64);

// A hand-off block of raw records, as a producer fills it.
std::vector<uint8_t> block_of(const std::vector<PacketView>& v) {
  std::vector<uint8_t> b;
  for (const PacketView& p : v) {
    const size_t at = b.size();
    b.resize(at + fo::raw_record_bytes(p.caplen));
    fo::encode_raw_record(b.data() + at, p, p.caplen);
  }
  return b;
}

void BM_OfferPerClient(benchmark::State& state, bool filtered) {
  const unsigned clients = unsigned(state.range(0));
  const auto f = frames(1000, 64);
  const auto block = block_of(views(f));
  std::shared_ptr<const xcap::FilterSet> filter;
  if (filtered)
    filter = std::make_shared<const xcap::FilterSet>(*xcap::FilterSet::compile("udp port 53", 0));
  std::vector<std::shared_ptr<fo::Subscription>> subs;
  std::vector<std::unique_ptr<Reader>> readers;
  for (unsigned i = 0; i < clients; i++) {
    fo::SubscriptionConfig c;
    c.filter = filter;
    subs.push_back(std::make_shared<fo::Subscription>(c, nullptr, "bench0"));
    readers.push_back(std::make_unique<Reader>(subs.back()));
  }
  uint64_t now = 1;
  for (auto _ : state)
    for (const auto& s : subs) s->offer(block.data(), block.size(), now++);
  uint64_t dropped = 0, delivered = 0;
  for (const auto& s : subs) dropped += s->stats().dropped, delivered += s->stats().delivered;
  readers.clear();
  state.counters["per_pkt_client"] =
      benchmark::Counter(double(state.iterations() * f.size() * clients),
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["drop%"] =
      delivered + dropped ? 100.0 * double(dropped) / double(delivered + dropped) : 0;
}
BENCHMARK_CAPTURE(BM_OfferPerClient, no_filter, false)
    ->Arg(1)
    ->Arg(2)
    ->Arg(4)
    ->Arg(8)
    ->UseRealTime();
BENCHMARK_CAPTURE(BM_OfferPerClient, filter, true)->Arg(1)->Arg(8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
