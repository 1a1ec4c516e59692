// HealthCheck: when /healthz answers 503, and what it says.
#include "pipeline/health.h"

#include <gtest/gtest.h>

namespace xcap::pipeline {
namespace {

constexpr uint64_t kSecond = 1'000'000'000;

HealthInputs healthy() {
  HealthInputs in;
  in.iface = "eth1";
  in.xdp = true;
  in.xdp_attached = true;
  in.queues = {{0, true}, {1, true}};
  in.file = true;
  return in;
}

TEST(HealthCheck, OkWhenEverythingRuns) {
  HealthCheck c;
  const Health h = c.evaluate(healthy(), 100 * kSecond);
  EXPECT_TRUE(h.ok);
  EXPECT_EQ(h.reason, "ok");
  EXPECT_TRUE(h.xdp_attached);
}

TEST(HealthCheck, EveryReasonIsNamed) {
  HealthCheck c;
  HealthInputs in = healthy();
  in.xdp_attached = false;
  in.queues[1].second = false;
  in.file_failed = true;
  const Health h = c.evaluate(in, 100 * kSecond);
  EXPECT_FALSE(h.ok);
  EXPECT_FALSE(h.xdp_attached);
  EXPECT_EQ(h.reason,
            "the XDP program is no longer attached to eth1 (detached by another tool?): nothing "
            "is captured; queue 1: its worker stopped; the output failed: no more files are "
            "written");
}

TEST(HealthCheck, AReplayHasNoXdpToMiss) {
  HealthCheck c;
  HealthInputs in = healthy();
  in.xdp = false;
  in.xdp_attached = false;
  EXPECT_TRUE(c.evaluate(in, kSecond).ok);
}

TEST(HealthCheck, AWriteStalledFromFiveSeconds) {
  HealthCheck c;
  HealthInputs in = healthy();
  in.write_started_ns = 10 * kSecond;
  EXPECT_TRUE(c.evaluate(in, 14 * kSecond).ok);  // a slow write, not yet a stall
  const Health h = c.evaluate(in, 17 * kSecond);
  EXPECT_FALSE(h.ok);
  EXPECT_EQ(h.reason, "writer stalled: a write has not returned for 7 s");
}

TEST(HealthCheck, DropsForWantOfABlockAnswer503ForTenSecondsAfterTheyStop) {
  HealthCheck c;
  HealthInputs in = healthy();
  in.backpressure_drops = 5;  // from before the first probe: not news
  EXPECT_TRUE(c.evaluate(in, 100 * kSecond).ok);
  in.backpressure_drops = 9;
  Health h = c.evaluate(in, 105 * kSecond);
  EXPECT_FALSE(h.ok);
  EXPECT_NE(h.reason.find("writer behind"), std::string::npos) << h.reason;
  EXPECT_NE(h.reason.find("writer_backpressure 9"), std::string::npos) << h.reason;
  EXPECT_FALSE(c.evaluate(in, 114 * kSecond).ok);  // no new drops, still within the window
  EXPECT_TRUE(c.evaluate(in, 115 * kSecond).ok);
}

}  // namespace
}  // namespace xcap::pipeline
