// SpscRing: the single-producer single-consumer queue between a worker and the writer.
#include "sink/file/spsc_ring.h"

#include <gtest/gtest.h>

#include <thread>

namespace xcap::sink {
namespace {

TEST(SpscRing, CapacityRoundsUpToPowerOfTwo) {
  EXPECT_EQ(SpscRing<int>(0).capacity(), 1u);
  EXPECT_EQ(SpscRing<int>(3).capacity(), 4u);
  EXPECT_EQ(SpscRing<int>(16).capacity(), 16u);
  EXPECT_EQ(SpscRing<int>(17).capacity(), 32u);
}

TEST(SpscRing, FullAndEmptyAreReported) {
  SpscRing<int> r(4);
  int v = -1;
  EXPECT_FALSE(r.try_pop(v));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(r.try_push(i));
  EXPECT_FALSE(r.try_push(99));  // every slot is usable, no more
  EXPECT_EQ(r.size_approx(), 4u);
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(r.try_pop(v));
    EXPECT_EQ(v, i);
  }
  EXPECT_FALSE(r.try_pop(v));
  // Wraps around the slot array many times.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(r.try_push(i));
    ASSERT_TRUE(r.try_pop(v));
    ASSERT_EQ(v, i);
  }
}

TEST(SpscRing, TwoThreadsKeepOrderAndLoseNothing) {
  SpscRing<uint64_t> r(8);
  constexpr uint64_t kN = 2'000'000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kN; ++i) {
      while (!r.try_push(i)) std::this_thread::yield();
    }
  });
  uint64_t expect = 0, v = 0;
  while (expect < kN) {
    if (r.try_pop(v)) {
      ASSERT_EQ(v, expect);
      ++expect;
    } else {
      std::this_thread::yield();
    }
  }
  producer.join();
  EXPECT_FALSE(r.try_pop(v));
}

}  // namespace
}  // namespace xcap::sink
