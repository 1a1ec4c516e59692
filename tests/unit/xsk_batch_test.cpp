// Tests of src/source/xsk_batch.h: chains of multi-buffer descriptors (XDP_PKT_CONTD) turned
// into whole frames, on an RX ring and fill ring laid out in plain memory as the kernel lays
// them out (as bench/ring_bench does). Checks the bytes of assembled frames, that a frame in
// one descriptor is never copied, that a chain cut by the end of a peek is left whole for the
// next batch, and that every descriptor goes back to the fill ring exactly once, as its frame's
// base address.
#include <gtest/gtest.h>
#include <linux/if_xdp.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/memory_xsk_rings.h"
#include "source/xsk_batch.h"

namespace xcap::source {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr uint32_t kRing = 256, kFrame = 2048, kHeadroom = 256, kFrag = kFrame - kHeadroom;
constexpr uint32_t kFrames = 1024;

// The kernel's side: writes frames (in one or several descriptors) into free UMEM frames and
// publishes their descriptors; takes frames back from the fill ring.
struct FakeKernel : test::MemoryXskRings {
  std::vector<uint64_t> free_frames;  // base addresses, as the fill ring handed them over
  uint64_t ts = 1000;

  FakeKernel() : MemoryXskRings(kRing, kFrames, kFrame) {
    for (uint32_t f = 0; f < kFrames; f++) free_frames.push_back(uint64_t(f) * kFrame);
  }

  // Takes what user space put on the fill ring.
  void take_fill() {
    for (; fill_cons != fill_prod; fill_cons++)
      free_frames.push_back(fill_addrs[fill_cons & (kFrames - 1)]);
  }

  // Delivers frame as the kernel's copy mode does: metadata in front of the first fragment,
  // kFrag bytes per descriptor, XDP_PKT_CONTD on all but the last.
  void deliver(const Bytes& frame) {
    size_t off = 0;
    bool first = true;
    do {
      const uint64_t base = free_frames.front();
      free_frames.erase(free_frames.begin());
      const uint32_t len = uint32_t(std::min<size_t>(kFrag, frame.size() - off));
      uint8_t* at = &umem[base + kHeadroom];
      if (first) {
        xcap_meta m{ts++, 0, XCAP_META_MAGIC, 0};
        std::memcpy(at - sizeof m, &m, sizeof m);
      }
      std::memcpy(at, frame.data() + off, len);
      off += len;
      rx_descs[rx_prod & (kRing - 1)] =
          xdp_desc{base + kHeadroom, len, off < frame.size() ? uint32_t(XDP_PKT_CONTD) : 0u};
      rx_prod++;
      first = false;
    } while (off < frame.size());
  }
};

// The worker's side, as XskSource::receive and release do it.
struct Receiver {
  FakeKernel& k;
  std::vector<uint8_t> mem = std::vector<uint8_t>(kChainScratchBytes);
  ChainScratch scratch{mem.data(), mem.size()};
  uint64_t too_big = 0;

  // One batch: the frames' bytes (copied out before release), and the views.
  std::vector<Bytes> batch(unsigned max, std::vector<PacketView>* views_out = nullptr) {
    std::vector<PacketView> views(max);
    uint32_t idx = 0;
    const unsigned n = peek_rx(k.rx, max + kMaxChainDescs, &idx, scratch);
    std::vector<Bytes> out;
    if (n == 0) return out;
    const RxBatch b = views_from_rx(k.rx, idx, n, max, k.umem.data(), 0, views.data(), scratch);
    if (b.descs < n) unpeek(k.rx, n - b.descs, scratch);
    too_big += b.too_big;
    for (unsigned i = 0; i < b.views; i++)
      out.emplace_back(views[i].data, views[i].data + views[i].caplen);
    if (views_out) views_out->assign(views.begin(), views.begin() + b.views);
    EXPECT_TRUE(refill_from_rx(k.fill, k.rx, idx, b.descs, kFrame));
    xsk_ring_cons__release(&k.rx, b.descs);
    k.take_fill();
    return out;
  }
};

Bytes pattern(size_t len, uint32_t seed) {
  Bytes b(len);
  for (size_t i = 0; i < len; i++) b[i] = uint8_t(i * 7 + i / 251 + seed * 13);
  return b;
}

TEST(XskBatch, SingleDescriptorFramesAreViewsOfTheUmem) {
  FakeKernel k;
  Receiver r{k};
  for (uint32_t i = 0; i < 10; i++) k.deliver(pattern(100 + i, i));
  std::vector<PacketView> views;
  const auto got = r.batch(64, &views);
  ASSERT_EQ(got.size(), 10u);
  for (uint32_t i = 0; i < 10; i++) {
    EXPECT_EQ(got[i], pattern(100 + i, i));
    EXPECT_GE(views[i].data, k.umem.data());
    EXPECT_LT(views[i].data, k.umem.data() + k.umem.size()) << "copied, but fits one frame";
    EXPECT_EQ(views[i].ts_ns, 1000u + i) << "timestamp from the metadata";
  }
  EXPECT_EQ(k.free_frames.size(), size_t(kFrames));
}

TEST(XskBatch, ChainsAreAssembledByteExactBetweenSingleFrames) {
  FakeKernel k;
  Receiver r{k};
  std::vector<Bytes> sent;
  for (uint32_t i = 0; i < 12; i++) {
    const size_t lens[] = {60, 9000, 1792, 1793, 9014, 3584, 8042, 200};
    sent.push_back(pattern(lens[i % 8], i));
    k.deliver(sent.back());
  }
  std::vector<PacketView> views;
  const auto got = r.batch(64, &views);
  EXPECT_EQ(got, sent);
  for (size_t i = 0; i < views.size(); i++) {
    EXPECT_EQ(views[i].caplen, sent[i].size());
    EXPECT_EQ(views[i].wire_len, sent[i].size());
    EXPECT_EQ(views[i].ts_ns, 1000u + i) << "the first fragment's metadata";
  }
  EXPECT_EQ(k.free_frames.size(), size_t(kFrames)) << "every fragment back exactly once";
  EXPECT_EQ(r.too_big, 0u);
}

// max views per batch, fewer descriptors: a chain that starts in the last slots is left whole
// for the next batch when it does not end in the peek, and taken whole when it does.
TEST(XskBatch, ChainsAcrossBatchesAndBatchSizes) {
  for (unsigned max : {1u, 2u, 3u, 7u, 64u}) {
    SCOPED_TRACE(max);
    FakeKernel k;
    Receiver r{k};
    std::vector<Bytes> sent, got;
    for (uint32_t round = 0; round < 5; round++) {
      for (uint32_t i = 0; i < 20; i++) {
        sent.push_back(pattern(i % 3 ? 9000 : 64, round * 100 + i));
        k.deliver(sent.back());
      }
      for (int guard = 0; guard < 1000 && got.size() < sent.size(); guard++) {
        auto b = r.batch(max);
        EXPECT_LE(b.size(), max);
        got.insert(got.end(), b.begin(), b.end());
      }
    }
    EXPECT_EQ(got, sent);
    EXPECT_EQ(k.free_frames.size(), size_t(kFrames));
  }
}

// A chain whose end the kernel has not published yet is not consumed.
TEST(XskBatch, AChainWithoutItsEndWaits) {
  FakeKernel k;
  Receiver r{k};
  const Bytes f = pattern(5000, 1);
  k.deliver(f);
  k.rx_prod--;  // hide the last descriptor
  EXPECT_TRUE(r.batch(64).empty());
  EXPECT_EQ(k.rx_cons, 0u) << "nothing released";
  k.rx_prod++;
  EXPECT_EQ(r.batch(64), std::vector<Bytes>{f});
}

// The scratch arena holds about 28 frames of 9,000 bytes: the batch ends before the chain that
// does not fit, which opens the next.
TEST(XskBatch, AFullScratchArenaEndsTheBatch) {
  FakeKernel k;
  Receiver r{k};
  std::vector<Bytes> sent, got;
  for (uint32_t i = 0; i < 40; i++) {
    sent.push_back(pattern(9000, i));
    k.deliver(sent.back());
  }
  // 40 chains of 6 descriptors do not fit a 256-slot ring at once: deliver as room allows.
  auto first = r.batch(256);
  EXPECT_LT(first.size(), 40u);
  EXPECT_GE(first.size(), kChainScratchBytes / 9024 - 1);
  got = first;
  for (int guard = 0; guard < 10 && got.size() < sent.size(); guard++) {
    auto b = r.batch(256);
    got.insert(got.end(), b.begin(), b.end());
  }
  EXPECT_EQ(got, sent);
}

// Chains longer than kMaxFrameBytes are dropped, their descriptors all returned; the frames
// around them are unharmed. One too long for a whole peek (more than kMaxChainDescs beyond a
// batch of 1) is dropped across batches.
TEST(XskBatch, TooLongChainsAreDroppedAndCounted) {
  FakeKernel k;
  Receiver r{k};
  const Bytes a = pattern(100, 1), huge = pattern(kMaxFrameBytes + 1, 2),
              longer = pattern(size_t(kMaxChainDescs + 3) * kFrag, 4), b = pattern(9000, 3);
  for (const Bytes* f : {&a, &huge, &longer, &b}) k.deliver(*f);
  std::vector<Bytes> got;
  for (int guard = 0; guard < 20 && got.size() < 2; guard++) {
    auto x = r.batch(1);
    got.insert(got.end(), x.begin(), x.end());
  }
  EXPECT_EQ(got, (std::vector<Bytes>{a, b}));
  EXPECT_EQ(r.too_big, 2u);
  EXPECT_EQ(k.rx_cons, k.rx_prod);
  EXPECT_EQ(k.free_frames.size(), size_t(kFrames));
}

}  // namespace
}  // namespace xcap::source
