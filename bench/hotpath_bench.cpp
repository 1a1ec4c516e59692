// hotpath_bench: ns per packet of the worker's hot path after the kernel, stage by stage and
// whole:
//   BM_Append     FileRingProducer::append of one 64- or 1500-byte frame into a pcap FileRing
//                 (1 producer, default 16 x 1 MiB blocks) whose writer thread writes to
//                 /dev/null or to a tmpfs file under /dev/shm (rotated -C 64 -W 2, so the
//                 run stays within ~200 MB). Includes the amortized block hand-off.
//   BM_Handoff    one block hand-off: a record into a fresh block, then seal() (the next
//                 append pops the next block from the free ring). Timed in batches of
//                 kHandoffBatch blocks; between batches the clock stops until the writer has
//                 written every block back, so the free ring never runs dry.
//   BM_WorkerPath the worker's process_batch minus the kernel: a batch of 64 UMEM-like frames
//                 (4 KiB apart, 256 bytes of headroom) of VXLAN-wrapped frames, counted like
//                 the worker counts them, through worker::DecapStage, worker::apply_filter
//                 ("tcp port 443": every other inner frame is TCP to 443, the rest to 80) and
//                 FileRingProducer::append (pcap, writer to /dev/null). DESIGN's budget for
//                 this path is 50 ns per packet. The selected_* variants send every inner
//                 frame to 443: judged by the worker's filter, or already selected by the
//                 XDP filter (PacketView::xdp_selected), as frames reach the worker when the
//                 filter runs at XDP.
//
//   build/bench/hotpath_bench --benchmark_min_time=0.2
//
// per_pkt (per_block for BM_Handoff) is the time per packet in seconds ("23.1n" = 23.1 ns);
// drop% is the share of appends lost to writer backpressure (should be 0: a drop is cheaper
// than an append and would flatter the figure). Nothing here asserts a speed.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/frame_builder.h"
#include "common/packet_view.h"
#include "filter/filter_set.h"
#include "sink/file/file_ring.h"
#include "worker/decap_stage.h"
#include "worker/filter_stage.h"
#include "worker/worker_counters.h"

namespace {

using xcap::Bytes;
using xcap::FrameBuilder;
using xcap::PacketView;
using xcap::sink::FileRing;
using xcap::sink::FileRingConfig;
using xcap::sink::FileRingProducer;

constexpr size_t kSlots = 64, kSlotSize = 4096, kHeadroom = 256;
// Record bytes appended per timed chunk: half of the default 16 x 1 MiB blocks.
constexpr size_t kDrainBytes = 8 << 20;

// 64 frames in UMEM-like slots; frame i is make(i). xdp_selected: as the XDP filter marks the
// frames it selected.
class Umem {
 public:
  template <typename Make>
  explicit Umem(Make make, bool xdp_selected = false) : mem_(kSlots * kSlotSize) {
    for (size_t i = 0; i < kSlots; ++i) {
      const Bytes f = make(i);
      std::memcpy(&mem_[i * kSlotSize + kHeadroom], f.data(), f.size());
      PacketView& v = views_[i];
      v.data = &mem_[i * kSlotSize + kHeadroom];
      v.caplen = v.wire_len = uint32_t(f.size());
      v.ts_ns = 1'700'000'000'000'000'000ull + i * 1000;
      v.xdp_selected = xdp_selected;
    }
  }
  std::span<const PacketView, kSlots> views() const { return views_; }

 private:
  std::vector<uint8_t> mem_;
  std::array<PacketView, kSlots> views_{};
};

Bytes plain_frame(size_t size, uint16_t dport = 443) {
  return FrameBuilder()
      .eth()
      .ipv4("198.18.1.1", "198.18.1.2")
      .tcp(40000, dport, 0x10, 1000, 2000)
      .payload(size - 54)
      .build();
}

Bytes vxlan_frame(size_t inner_size, uint16_t sport, uint16_t dport) {
  const Bytes inner = FrameBuilder()
                          .eth()
                          .ipv4("198.18.1.1", "198.18.1.2")
                          .tcp(sport, dport, 0x10, 1000, 2000)
                          .payload(inner_size - 54)
                          .build();
  return FrameBuilder()
      .eth()
      .ipv4("198.18.0.10", "198.18.0.20")
      .udp(50000, 4789)
      .vxlan(100)
      .bytes(inner)
      .build();
}

enum class Sink { DevNull, Tmpfs };

// A FileRing for one producer, writing to /dev/null or to a rotated tmpfs ring; removes its
// files at the end.
class BenchRing {
 public:
  BenchRing(Sink sink, FileRingConfig cfg = {}) {
    if (sink == Sink::DevNull) {
      devnull_ = xcap::Fd(::open("/dev/null", O_WRONLY | O_CLOEXEC));
      cfg.path = "-";
      cfg.stdout_fd = devnull_.get();
    } else {
      char dir[] = "/dev/shm/xcap-hotpath-XXXXXX";
      if (!mkdtemp(dir)) {
        error_ = std::string("mkdtemp: ") + std::strerror(errno);
        return;
      }
      dir_ = dir;
      cfg.path = dir_ + "/bench.pcap";
      cfg.rotate_bytes = 64'000'000;  // -C 64 -W 2: bounded, and realistic (rotation)
      cfg.max_files = 2;
    }
    auto r = FileRing::open(cfg, 1);
    if (!r) {
      error_ = r.error().message;
      return;
    }
    ring_ = std::move(r.value());
  }
  ~BenchRing() {
    if (ring_) (void)ring_->close();
    ring_.reset();
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  bool ok(benchmark::State& state) const {
    if (!ring_) state.SkipWithError(("file ring: " + error_).c_str());
    return ring_ != nullptr;
  }
  FileRingProducer& producer() { return ring_->producer(0); }
  FileRing& ring() { return *ring_; }
  // Seals the partial block, waits for the writer to write every block, and reports drops.
  void finish(benchmark::State& state, uint64_t appended) {
    producer().seal();
    wait_written(appended);
    const auto s = ring_->stats();
    state.counters["drop%"] =
        appended ? 100.0 * double(s.backpressure_drops) / double(appended) : 0;
  }
  // Between timed chunks: hand off the partial block and let the writer catch up, so the
  // free ring never runs dry and no append is a (cheaper) drop.
  void drain(benchmark::State& state, uint64_t appended) {
    state.PauseTiming();
    producer().seal();
    wait_written(appended);
    state.ResumeTiming();
  }
  void wait_written(uint64_t appended) {
    for (;;) {
      const auto s = ring_->stats();
      if (s.written_packets + s.backpressure_drops + s.write_error_drops >= appended) return;
      sched_yield();
    }
  }

 private:
  xcap::Fd devnull_;
  std::string dir_;
  std::string error_;
  std::unique_ptr<FileRing> ring_;
};

void per_item(benchmark::State& state, const char* name, double items_per_iteration) {
  state.counters[name] =
      benchmark::Counter(items_per_iteration, benchmark::Counter::kIsIterationInvariantRate |
                                                  benchmark::Counter::kInvert);
}

// ---- (a) append ---------------------------------------------------------------------------
void BM_Append(benchmark::State& state, Sink sink, size_t size) {
  const Umem umem([&](size_t) { return plain_frame(size); });
  BenchRing ring(sink);
  if (!ring.ok(state)) return;
  FileRingProducer& p = ring.producer();
  const size_t chunk = kDrainBytes / (16 + size);
  size_t slot = 0;
  uint64_t ts = 1'700'000'000'000'000'000ull, appended = 0;
  const auto start = std::chrono::steady_clock::now();
  while (state.KeepRunningBatch(chunk)) {
    for (size_t i = 0; i < chunk; ++i) {
      PacketView v = umem.views()[slot];
      v.ts_ns = ts++;
      p.append(v);
      slot = (slot + 1) % kSlots;
    }
    appended += chunk;
    ring.drain(state, appended);
  }
  ring.finish(state, appended);
  per_item(state, "per_pkt", 1);
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(size));
  if (sink == Sink::Tmpfs) {
    // The writer's pace, pauses included: what tmpfs takes when the worker waits for it.
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.counters["sink_GB/s"] = double(ring.ring().stats().written_bytes) / wall / 1e9;
  }
}

BENCHMARK_CAPTURE(BM_Append, devnull_64, Sink::DevNull, 64);
BENCHMARK_CAPTURE(BM_Append, devnull_1500, Sink::DevNull, 1500);
BENCHMARK_CAPTURE(BM_Append, tmpfs_64, Sink::Tmpfs, 64);
BENCHMARK_CAPTURE(BM_Append, tmpfs_1500, Sink::Tmpfs, 1500);

// ---- (b) block hand-off -------------------------------------------------------------------
constexpr size_t kHandoffBatch = 1024;

void BM_Handoff(benchmark::State& state) {
  const Umem umem([](size_t) { return plain_frame(64); });
  FileRingConfig cfg;
  cfg.snaplen = 2048;  // small blocks (the block holds one snaplen record): memory, not speed
  cfg.block_bytes = 8192;
  cfg.blocks_per_worker = 2 * kHandoffBatch;
  BenchRing ring(Sink::DevNull, cfg);
  if (!ring.ok(state)) return;
  FileRingProducer& p = ring.producer();
  uint64_t appended = 0;
  size_t slot = 0;
  while (state.KeepRunningBatch(kHandoffBatch)) {
    for (size_t i = 0; i < kHandoffBatch; ++i) {
      p.append(umem.views()[slot]);  // takes a fresh block: next_block() pops the free ring
      p.seal();                      // hands it to the writer
      slot = (slot + 1) % kSlots;
    }
    appended += kHandoffBatch;
    state.PauseTiming();
    ring.wait_written(appended);
    state.ResumeTiming();
  }
  ring.finish(state, appended);
  per_item(state, "per_block", 1);
}

BENCHMARK(BM_Handoff);

// ---- (c) the worker path minus the kernel -------------------------------------------------
enum class Path { VxlanFilter, VxlanSelectedInWorker, VxlanSelectedAtXdp, SpanPlain };

void BM_WorkerPath(benchmark::State& state, Path path, size_t inner_size) {
  const bool vxlan = path != Path::SpanPlain;
  const bool half = path == Path::VxlanFilter;
  const Umem umem(
      [&](size_t i) {
        const uint16_t dport = half && i % 2 ? 80 : 443;  // "tcp port 443" selects half, or all
        return vxlan ? vxlan_frame(inner_size, uint16_t(40000 + i), dport)
                     : plain_frame(inner_size, dport);
      },
      path == Path::VxlanSelectedAtXdp);
  std::optional<xcap::worker::DecapStage> decap;
  std::optional<xcap::FilterSet> filter;
  if (vxlan) {
    xcap::worker::DecapStageConfig dc;
    dc.decap.mode = xcap::DecapConfig::Mode::Vxlan;
    dc.synthesize_ethernet = true;  // pcap output
    decap.emplace(dc);
    auto f = xcap::FilterSet::compile("tcp port 443", 262144);
    if (!f) {
      state.SkipWithError(f.error().message.c_str());
      return;
    }
    filter.emplace(std::move(f.value()));
  }
  BenchRing ring(Sink::DevNull);
  if (!ring.ok(state)) return;
  FileRingProducer& p = ring.producer();
  xcap::worker::WorkerCounters counters;
  std::array<PacketView, kSlots> batch;
  uint64_t ts = 1'700'000'000'000'000'000ull, appended = 0;
  // Bytes appended per batch: the records kept, 16-byte header each.
  const size_t per_batch = (half ? kSlots / 2 : kSlots) * (16 + inner_size);
  const size_t chunk = std::max<size_t>(1, kDrainBytes / per_batch);
  while (state.KeepRunningBatch(chunk)) {
    for (size_t c = 0; c < chunk; ++c) {
      // What the source hands over: a batch of views into the UMEM.
      for (size_t i = 0; i < kSlots; ++i) {
        batch[i] = umem.views()[i];
        batch[i].ts_ns = ts++;
      }
      PacketView* b = batch.data();
      unsigned n = kSlots;
      // Worker::process_batch, minus the source.
      uint64_t bytes = 0;
      for (unsigned i = 0; i < n; i++) bytes += b[i].wire_len;
      counters.rx_packets.add(n);
      counters.rx_bytes.add(bytes);
      counters.batches.add(1);
      unsigned kept = decap ? decap->apply(b, n) : n;
      if (filter) {
        const unsigned selected = xcap::worker::apply_filter(*filter, b, kept);
        counters.filter_excluded.add(kept - selected);
        kept = selected;
      }
      p.append(std::span<const PacketView>(b, kept));
      counters.delivered.add(kept);
      appended += kept;
    }
    ring.drain(state, appended);
  }
  if (counters.delivered.get() * (half ? 2 : 1) != counters.rx_packets.get())
    state.SkipWithError("expected half (or all) of the frames to pass decap + filter");
  ring.finish(state, appended);
  per_item(state, "per_pkt", double(kSlots));
  state.counters["kept%"] =
      100.0 * double(counters.delivered.get()) / double(counters.rx_packets.get());
}

BENCHMARK_CAPTURE(BM_WorkerPath, vxlan_64_filter443, Path::VxlanFilter, 64);
BENCHMARK_CAPTURE(BM_WorkerPath, vxlan_1500_filter443, Path::VxlanFilter, 1500);
BENCHMARK_CAPTURE(BM_WorkerPath, span_64_nofilter, Path::SpanPlain, 64);
BENCHMARK_CAPTURE(BM_WorkerPath, vxlan_64_selected_in_worker, Path::VxlanSelectedInWorker, 64);
BENCHMARK_CAPTURE(BM_WorkerPath, vxlan_64_selected_at_xdp, Path::VxlanSelectedAtXdp, 64);

}  // namespace

BENCHMARK_MAIN();
