// Worker on its own thread, as a capture runs it: a replayed file (PcapFileSource) goes through
// the worker into a FileRing and a Fanout at once, while another thread subscribes and
// unsubscribes streaming clients and this one reads the counters the way a metrics scrape does
// (Pipeline::snapshot). Under ThreadSanitizer (build-tsan) this is the test of the threads a
// capture crosses: worker, file writer, fanout, clients, scrape.
//
// Deterministic: both sinks get blocks enough for the whole file and each client's buffer
// holds its whole stream, so no thread's pace can cost a frame; the assertions hold for any
// interleaving.
#include "worker/worker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/frame_builder.h"
#include "common/pcap_file.h"
#include "common/temp_dir.h"
#include "common/wait_until.h"
#include "sink/fanout/fanout.h"
#include "sink/file/file_ring.h"
#include "source/pcap_file_source.h"

namespace xcap::worker {
namespace {

using namespace std::chrono_literals;
using sink::fanout::Fanout;
using sink::fanout::Subscription;
using sink::fanout::SubscriptionConfig;
using sink::fanout::SubscriptionStats;
using test::PcapRecord;

constexpr size_t kFrames = 10'000;
// One frame in three is DNS: what the filtered clients keep.
constexpr const char* kDnsFilter = "udp port 53";
bool is_dns(size_t i) {
  return i % 3 == 0;
}

// The file's records: each frame unique (its index in the payload, its own timestamp), 60 to
// about 700 bytes, every seventh cut before capture (len > caplen).
std::vector<PcapRecord> file_records() {
  std::vector<PcapRecord> records;
  for (size_t i = 0; i < kFrames; i++) {
    const Bytes f = FrameBuilder()
                        .eth()
                        .ipv4("198.18.7.1", "198.18.7.2")
                        .udp(uint16_t(40000 + i % 1000), is_dns(i) ? 53 : 443)
                        .bytes({uint8_t(i >> 16), uint8_t(i >> 8), uint8_t(i)})
                        .payload(i * 37 % 640, uint8_t(i))
                        .build();
    const uint32_t len = uint32_t(f.size()) + (i % 7 == 0 ? 100 : 0);
    records.push_back({1'700'000'000'000'000'000ull + i * 1'001, uint32_t(f.size()), len, f});
  }
  return records;
}

// Both sinks' blocks. A block is handed on full, or by flush_if_idle or seal, which hand one on
// only if something was appended since the last: at most once per batch. So the batches plus
// the full blocks bound the blocks in flight, even if the writer or the fanout thread took
// none back before the end.
constexpr size_t kBlockBytes = 64 << 10;
constexpr size_t kMaxRecordBytes = 1024;  // a frame and its record header, in either format
constexpr unsigned kBlocks = 512;
static_assert(kFrames / defaults::kBatchSize + 1 +
                  kFrames * kMaxRecordBytes / (kBlockBytes - kMaxRecordBytes) <
              kBlocks);

// The file, a batch each time the test allows one: the replay is spread over the scrapes, so
// they and the clients' comings and goings fall between the worker's batches, not after the
// last one. The count is a relaxed atomic: pacing must not order the worker's writes before
// the scrape's reads (a lock would), or ThreadSanitizer could not see a race between them.
class PacedSource final : public source::Source {
 public:
  explicit PacedSource(source::Source& file) : file_(file) {}
  void allow_batch() { allowed_.fetch_add(1, std::memory_order_relaxed); }

  unsigned receive(PacketView* out, unsigned max, int timeout_ms) override {
    if (taken_ == allowed_.load(std::memory_order_relaxed)) return 0;
    const unsigned n = file_.receive(out, max, timeout_ms);
    taken_ += n ? 1 : 0;
    return n;
  }
  void release() override { file_.release(); }
  bool exhausted() const override { return file_.exhausted(); }
  uint32_t queue() const override { return file_.queue(); }

 private:
  source::Source& file_;
  std::atomic<uint64_t> allowed_{0};
  uint64_t taken_ = 0;  // the worker's thread only
};

std::shared_ptr<const FilterSet> dns_filter() {
  auto f = FilterSet::compile(kDnsFilter, 262144);
  EXPECT_TRUE(f.ok()) << f.error().message;
  return std::make_shared<const FilterSet>(std::move(f.value()));
}

// Reads a subscription's stream, as the client's connection does, until it is complete.
Bytes read_to_end(Subscription& s) {
  Bytes all;
  EXPECT_TRUE(test::wait_until(
      [&] {
        const Bytes b = s.take(10ms);
        all.insert(all.end(), b.begin(), b.end());
        return s.done();
      },
      120s));
  return all;
}

bool contains(const Bytes& b, const std::string& text) {
  return std::search(b.begin(), b.end(), text.begin(), text.end()) != b.end();
}

// Whether got is a run of consecutive records of want (an empty one is).
bool is_run_of(const std::vector<PcapRecord>& got, const std::vector<PcapRecord>& want) {
  if (got.empty()) return true;
  const auto first = std::find(want.begin(), want.end(), got.front());
  return size_t(want.end() - first) >= got.size() && std::equal(got.begin(), got.end(), first);
}

// A client that came and went while the capture ran.
struct PassingClient {
  bool filtered = false;
  Bytes stream;
  SubscriptionStats stats;
};

// Subscribes clients one after another, every other one filtered, each until it was offered
// something or the capture is over, reading its stream meanwhile, until the capture is over.
std::vector<PassingClient> come_and_go(Fanout& fanout, const std::atomic<bool>& over) {
  std::vector<PassingClient> clients;
  const std::shared_ptr<const FilterSet> dns = dns_filter();
  do {
    PassingClient c;
    c.filtered = clients.size() % 2 == 1;
    SubscriptionConfig cfg;
    cfg.client = "passing-" + std::to_string(clients.size());
    if (c.filtered) cfg.filter = dns;
    auto s = fanout.subscribe(cfg);
    if (!s) {
      ADD_FAILURE() << s.error().message;
      break;
    }
    EXPECT_TRUE(test::wait_until(
        [&] {
          const Bytes b = (*s)->take(1ms);
          c.stream.insert(c.stream.end(), b.begin(), b.end());
          return (*s)->stats().offered > 0 || over.load();
        },
        120s));
    fanout.unsubscribe(*s, "end: client left");
    const Bytes rest = read_to_end(**s);
    c.stream.insert(c.stream.end(), rest.begin(), rest.end());
    c.stats = (*s)->stats();
    clients.push_back(std::move(c));
  } while (!over.load());
  return clients;
}

// What a scrape reads, each counter on its own, as Pipeline::snapshot reads them.
struct Scrape {
  static constexpr std::array<const char*, 9> kNames = {"rx_packets",
                                                        "rx_bytes",
                                                        "batches",
                                                        "delivered",
                                                        "file written",
                                                        "file backpressure",
                                                        "producer backpressure",
                                                        "handoff drops",
                                                        "whole-run offered"};
  std::array<uint64_t, kNames.size()> v{};
};

Scrape scrape(const Worker& w, sink::FileRing& file, const Fanout& fanout,
              const Subscription& whole_run) {
  const WorkerCounters& c = w.counters();
  const sink::FileRingStats fs = file.stats();
  // GET /captures: every subscription's counters, each set read at one moment.
  for (const auto& s : fanout.subscriptions()) {
    const SubscriptionStats st = s->stats();
    EXPECT_EQ(st.matched, st.delivered + st.dropped) << s->config().client;
    EXPECT_GE(st.offered, st.matched) << s->config().client;
  }
  Scrape now;
  now.v = {c.rx_packets.get(),
           c.rx_bytes.get(),
           c.batches.get(),
           c.delivered.get(),
           fs.written_packets,
           fs.backpressure_drops,
           file.producer(0).backpressure_drops(),
           fanout.handoff_drops(),
           whole_run.stats().offered};
  return now;
}

TEST(WorkerThread, ReplaysAFileIntoTheFileRingAndTheFanoutWhileClientsComeAndGo) {
  test::TempDir dir;
  const std::vector<PcapRecord> records = file_records();
  test::write_pcap_records(dir / "in.pcap", records);
  std::vector<PcapRecord> dns_records;
  for (size_t i = 0; i < records.size(); i++)
    if (is_dns(i)) dns_records.push_back(records[i]);

  auto src = source::PcapFileSource::open(dir / "in.pcap");
  ASSERT_TRUE(src.ok()) << src.error().message;
  sink::FileRingConfig fc;
  fc.path = dir / "out.pcap";
  fc.block_bytes = kBlockBytes;
  fc.blocks_per_worker = kBlocks;
  auto file = sink::FileRing::open(fc, 1);
  ASSERT_TRUE(file.ok()) << file.error().message;
  sink::fanout::FanoutConfig oc;
  oc.block_bytes = kBlockBytes;
  oc.blocks_per_worker = kBlocks;
  oc.iface0 = "in.pcap";
  auto fan = Fanout::open(oc);
  ASSERT_TRUE(fan.ok()) << fan.error().message;
  Fanout& fanout = **fan;
  fanout.start();

  // The client that stays from before the first frame to the end of the stream.
  SubscriptionConfig whole_cfg;
  whole_cfg.client = "whole-run";
  auto whole_run = fanout.subscribe(whole_cfg);
  ASSERT_TRUE(whole_run.ok());
  Bytes whole_stream;
  std::thread whole_client([&] { whole_stream = read_to_end(**whole_run); });

  CaptureLimit no_limit;
  PacedSource paced(**src);
  Worker worker(WorkerConfig{}, paced, WorkerStages{}, {&(*file)->producer(0), &fanout.producer(0)},
                no_limit);
  std::vector<PassingClient> passing;
  std::atomic<bool> over{false};
  std::thread churn([&] { passing = come_and_go(fanout, over); });
  // The first passing client is in before the worker starts, so it overlaps the run.
  EXPECT_TRUE(test::wait_until([&] { return fanout.subscriptions().size() == 2; }, 120s));
  worker.start();

  // Scrape until the worker is done, letting the file through a batch per scrape: no counter
  // ever goes back.
  Scrape last;
  size_t scrapes = 0;
  EXPECT_TRUE(test::wait_until(
      [&] {
        const Scrape now = scrape(worker, **file, fanout, **whole_run);
        for (size_t k = 0; k < now.v.size(); k++)
          EXPECT_GE(now.v[k], last.v[k]) << Scrape::kNames[k] << " went back";
        last = now;
        scrapes++;
        paced.allow_batch();
        return worker.finished();
      },
      120s));
  worker.drain();  // ends it also if it did not finish (the failure above)
  worker.join();
  over = true;
  churn.join();
  fanout.stop("end: capture over");
  whole_client.join();
  ASSERT_TRUE((*file)->close().ok());

  // The file: every frame of the input, in order, timestamps and lengths included.
  const std::vector<std::string> files = (*file)->completed_files();
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(test::read_pcap_records(files[0]) == records) << "the written file differs";

  // The client that stayed: every frame, in order; its stream ends with the capture.
  const test::PcapContents whole = test::read_pcap_bytes(whole_stream);
  ASSERT_EQ(whole.error, "");
  EXPECT_EQ(whole.records.size(), records.size());
  EXPECT_TRUE(whole.records == records) << "the whole-run client's stream differs";
  EXPECT_TRUE(contains(whole_stream, "end: capture over"));
  const SubscriptionStats ws = (*whole_run)->stats();
  EXPECT_EQ(ws.offered, kFrames);
  EXPECT_EQ(ws.delivered, kFrames);
  EXPECT_EQ(ws.dropped, 0u);

  // The passing clients: each a complete stream of consecutive frames (its filter's, if
  // filtered), as many as its counters say, ended as it left.
  ASSERT_FALSE(passing.empty());
  size_t passing_frames = 0;
  for (size_t k = 0; k < passing.size(); k++) {
    const PassingClient& c = passing[k];
    SCOPED_TRACE("passing client " + std::to_string(k));
    const test::PcapContents got = test::read_pcap_bytes(c.stream);
    ASSERT_EQ(got.error, "");
    EXPECT_TRUE(is_run_of(got.records, c.filtered ? dns_records : records));
    EXPECT_EQ(c.stats.delivered, got.records.size());
    EXPECT_EQ(c.stats.matched, got.records.size());
    EXPECT_EQ(c.stats.dropped, 0u);
    if (!c.filtered) {
      EXPECT_EQ(c.stats.offered, got.records.size());
    }
    EXPECT_TRUE(contains(c.stream, "end: client left"));
    passing_frames += got.records.size();
  }

  // The counters add up: every frame read, delivered to both sinks, none lost anywhere.
  const WorkerCounters& c = worker.counters();
  uint64_t wire_bytes = 0;
  for (const PcapRecord& r : records) wire_bytes += r.len;
  EXPECT_EQ(c.rx_packets.get(), kFrames);
  EXPECT_EQ(c.rx_bytes.get(), wire_bytes);
  EXPECT_EQ(c.delivered.get(), kFrames);
  EXPECT_EQ(c.filter_excluded.get(), 0u);
  EXPECT_EQ(c.over_limit.get(), 0u);
  // PcapFileSource fills every batch but the last.
  EXPECT_EQ(c.batches.get(), (kFrames + defaults::kBatchSize - 1) / defaults::kBatchSize);
  const sink::FileRingStats fs = (*file)->stats();
  EXPECT_EQ(fs.written_packets, kFrames);
  EXPECT_EQ(fs.backpressure_drops, 0u);
  EXPECT_EQ(fs.write_error_drops, 0u);
  EXPECT_EQ(fs.files_completed, 1u);
  EXPECT_EQ(fanout.handoff_drops(), 0u);
  EXPECT_EQ((*src)->records(), kFrames);
  EXPECT_EQ((*src)->read_error(), "");
  // What the scrapes saw is what there was then: never more than the end.
  const Scrape end = scrape(worker, **file, fanout, **whole_run);
  for (size_t k = 0; k < end.v.size(); k++)
    EXPECT_LE(last.v[k], end.v[k]) << Scrape::kNames[k] << " was ahead of the end";
  RecordProperty("scrapes", int(scrapes));
  RecordProperty("passing_clients", int(passing.size()));
  RecordProperty("passing_frames", int(passing_frames));
}

}  // namespace
}  // namespace xcap::worker
