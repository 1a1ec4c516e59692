// AF_XDP ring batch handling without the kernel: the worker's side of one batch (peek the RX
// ring, turn descriptors into PacketViews reading each frame's xcap_meta, hand the frames back
// on the fill ring, release the RX slots) on rings laid out in plain memory exactly as the
// kernel lays them out. The "kernel" here only moves the producer/consumer indexes, so the
// figure is xcap's own cost per packet. Frames are spread over a 16 MiB UMEM (8192 x 2 KiB,
// the default), so reading the metadata costs what it costs after a real copy.
#include <benchmark/benchmark.h>
#include <linux/if_xdp.h>

#include <cstring>
#include <vector>

#include "common/memory_xsk_rings.h"
#include "source/xsk_batch.h"

namespace {

using xcap::PacketView;

constexpr uint32_t kRxSize = 4096, kFillSize = 8192, kFrame = 2048, kHeadroom = 256;

struct FakeRings : xcap::test::MemoryXskRings {
  explicit FakeRings(uint32_t frame_len) : MemoryXskRings(kRxSize, kFillSize, kFrame) {
    // Every frame carries metadata and a frame; descriptors cycle through all of the UMEM.
    for (uint32_t f = 0; f < kFillSize; f++) {
      xcap_meta m{uint64_t(f) * 1000, 0, XCAP_META_MAGIC, 0};
      std::memcpy(&umem[size_t(f) * kFrame + kHeadroom - sizeof m], &m, sizeof m);
    }
    for (uint32_t i = 0; i < kRxSize; i++)
      rx_descs[i] = xdp_desc{uint64_t((i * 2) % kFillSize) * kFrame + kHeadroom, frame_len, 0};
  }
};

// One batch as the worker takes it, after the "kernel" delivered batch descriptors and took
// as many fill slots: peek, views, refill, release.
xcap::source::RxBatch take_batch(FakeRings& r, unsigned batch, unsigned max_views,
                                 std::vector<PacketView>& views,
                                 xcap::source::ChainScratch& scratch, benchmark::State& state) {
  r.rx_prod += batch;
  r.fill_cons += batch;
  uint32_t idx = 0;
  const unsigned n = xsk_ring_cons__peek(&r.rx, batch, &idx);
  const xcap::source::RxBatch b = xcap::source::views_from_rx(
      r.rx, idx, n, max_views, r.umem.data(), 37'000'000'000, views.data(), scratch);
  benchmark::DoNotOptimize(views.data());
  if (b.descs != n) state.SkipWithError("descs");
  if (!xcap::source::refill_from_rx(r.fill, r.rx, idx, n, kFrame)) state.SkipWithError("fill");
  xsk_ring_cons__release(&r.rx, n);
  return b;
}

void BM_RxBatch(benchmark::State& state) {
  const unsigned batch = unsigned(state.range(0));
  FakeRings r(uint32_t(state.range(1)));
  std::vector<PacketView> views(batch);
  xcap::source::ChainScratch scratch;  // single-descriptor frames never touch it
  // The kernel's part is reduced to index moves (take_batch).
  for (auto _ : state) take_batch(r, batch, batch, views, scratch, state);
  state.SetItemsProcessed(int64_t(state.iterations()) * batch);
  state.counters["ns/packet"] =
      benchmark::Counter(double(state.iterations()) * batch,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_RxBatch)->ArgNames({"batch", "len"})->Args({64, 64})->Args({256, 64})->Args({16, 64});

// Jumbo frames in multi-buffer mode: every frame a chain of 4 descriptors (7,168 bytes in
// 1,792-byte fragments of 2 KiB frames), assembled into the scratch arena (one copy). 4
// divides the ring size, so every chain lies the same way in the ring on every pass.
void BM_RxChains(benchmark::State& state) {
  const unsigned frames = unsigned(state.range(0));
  constexpr unsigned kDescs = 4;
  constexpr uint32_t kFrag = kFrame - kHeadroom, kLen = kDescs * kFrag;
  const unsigned batch = frames * kDescs;
  FakeRings r(kFrag);
  for (uint32_t i = 0; i < kRxSize; i++) {
    const bool last = i % kDescs == kDescs - 1;
    r.rx_descs[i].len = last ? kLen - (kDescs - 1) * kFrag : kFrag;
    r.rx_descs[i].options = last ? 0 : XDP_PKT_CONTD;
  }
  std::vector<PacketView> views(frames);
  std::vector<uint8_t> mem(xcap::source::kChainScratchBytes);
  xcap::source::ChainScratch scratch{mem.data(), mem.size()};
  for (auto _ : state)
    if (take_batch(r, batch, frames, views, scratch, state).views != frames)
      state.SkipWithError("chains");
  state.SetItemsProcessed(int64_t(state.iterations()) * frames);
  state.SetBytesProcessed(int64_t(state.iterations()) * frames * kLen);
}
BENCHMARK(BM_RxChains)->ArgName("frames")->Arg(16);

}  // namespace

BENCHMARK_MAIN();
