// The end-of-capture output: the stats line (a contract: scripts read it, so its text is fixed)
// and --stats-json, and the test kit's readers of both.
#include "cli/capture_totals.h"

#include <gtest/gtest.h>

#include "common/xcap_run.h"

namespace xcap::cli {
namespace {

CaptureTotals some_totals() {
  CaptureTotals t;
  t.captured = 999412;
  t.kernel = 1;
  t.ring = 588;
  t.filter_excluded = 3;
  t.writer = 4;
  t.decap_error = 5;
  t.too_big = 6;
  return t;
}

CaptureAccounting some_accounting() {
  metrics::CaptureSnapshot s;
  s.xdp = true;
  for (unsigned i = 0; i < XCAP_CNT_MAX; i++) s.xdp_counters[i] = 100 + i;  // each its own value
  return accounting_of(s);
}

TEST(CaptureTotals, StatsLineText) {
  EXPECT_EQ(stats_line(some_totals()),
            "xcap: 999412 packets captured, 607 dropped (kernel 1, ring 588, filter-excluded 3, "
            "writer 4, decap-error 5, too-big 6)");
}

TEST(CaptureTotals, AccountingTakesEachXdpCounter) {
  const CaptureAccounting a = some_accounting();
  EXPECT_EQ(a.xdp_seen, 100u + XCAP_CNT_RX_PACKETS);
  EXPECT_EQ(a.xdp_passed, 100u + XCAP_CNT_PASS);
  EXPECT_EQ(a.xdp_redirected, 100u + XCAP_CNT_REDIRECT);
  EXPECT_EQ(a.xdp_no_socket, 100u + XCAP_CNT_NO_SOCKET);
  EXPECT_EQ(a.xdp_malformed, 100u + XCAP_CNT_MALFORMED);
  EXPECT_EQ(a.xdp_filter_excluded, 100u + XCAP_CNT_FILTER_EXCLUDED);
  EXPECT_EQ(a.xdp_too_big, 100u + XCAP_CNT_TOO_BIG);
  EXPECT_EQ(a.not_ready, 100u + XCAP_CNT_NOT_READY);
  EXPECT_EQ(a.delivered, 0u);  // no queues
  EXPECT_EQ(a.over_count, 0u);
}

// The stats line and the metrics read one snapshot: every drop reason sums its sources.
TEST(CaptureTotals, TotalsOfASnapshotSumQueuesAndXdp) {
  metrics::CaptureSnapshot s;
  s.xdp = true;
  s.xdp_counters[XCAP_CNT_NO_SOCKET] = 1;
  s.xdp_counters[XCAP_CNT_TOO_BIG] = 2;
  s.xdp_counters[XCAP_CNT_FILTER_EXCLUDED] = 3;
  for (uint32_t q = 0; q < 2; q++) {
    metrics::QueueSnapshot qs;
    qs.queue = q;
    qs.fill_ring_empty = 10, qs.invalid_descs = 20, qs.xsk_ring_full = 30, qs.too_big = 40;
    qs.decap_dropped = 50, qs.filter_excluded = 60, qs.delivered = 1000;
    s.queues.push_back(qs);
  }
  CaptureTotals t = totals_of(s);
  EXPECT_EQ(t.kernel, 1u + 2 * (10 + 20));
  EXPECT_EQ(t.ring, 60u);
  EXPECT_EQ(t.too_big, 2u + 80);
  EXPECT_EQ(t.decap_error, 100u);
  EXPECT_EQ(t.filter_excluded, 3u + 120);
  EXPECT_EQ(t.captured, 2000u);  // no file: what the workers handed on
  s.file = true;
  s.files.written_packets = 1990, s.files.backpressure_drops = 4, s.files.write_error_drops = 6;
  t = totals_of(s);
  EXPECT_EQ(t.captured, 1990u);  // with a file: what is in it
  EXPECT_EQ(t.writer, 10u);
}

TEST(CaptureTotals, StatsJsonText) {
  CaptureAccounting a;
  a.xdp_seen = 11, a.xdp_passed = 12, a.xdp_redirected = 13, a.xdp_no_socket = 14;
  a.xdp_malformed = 15, a.xdp_filter_excluded = 16, a.delivered = 17, a.over_count = 18;
  a.xdp_too_big = 19, a.not_ready = 20;
  a.local_seen = 21, a.local_copied = 22, a.ringbuf_full = 23, a.local_undecided = 24;
  EXPECT_EQ(stats_json(some_totals(), a),
            "{\"captured\":999412,\"dropped\":607,\"kernel\":1,\"ring\":588,"
            "\"filter_excluded\":3,\"writer\":4,\"decap_error\":5,\"too_big\":6,"
            "\"xdp_seen\":11,\"xdp_passed\":12,\"xdp_redirected\":13,\"xdp_no_socket\":14,"
            "\"xdp_malformed\":15,\"xdp_filter_excluded\":16,\"delivered\":17,\"over_count\":18,"
            "\"xdp_too_big\":19,\"not_ready\":20,\"local_seen\":21,\"local_copied\":22,"
            "\"ringbuf_full\":23,\"local_undecided\":24}");
}

// What the integration tests read back is what xcap wrote, both lines, amid log lines.
TEST(CaptureTotals, TestKitReadsBothLinesBack) {
  const CaptureTotals t = some_totals();
  const CaptureAccounting a = some_accounting();
  const std::string err =
      "xcap: capturing on x: 1 queue(s)\n" + stats_line(t) + "\n" + stats_json(t, a) + "\n";
  auto line = test::parse_stats_line(err);
  ASSERT_TRUE(line) << err;
  EXPECT_EQ(line->captured, t.captured);
  EXPECT_EQ(line->dropped, t.dropped());
  EXPECT_EQ(line->ring, t.ring);
  EXPECT_EQ(line->too_big, t.too_big);
  auto s = test::parse_stats_json(err);
  ASSERT_TRUE(s) << err;
  EXPECT_EQ(s->captured, t.captured);
  EXPECT_EQ(s->dropped, t.dropped());
  EXPECT_EQ(s->kernel, t.kernel);
  EXPECT_EQ(s->ring, t.ring);
  EXPECT_EQ(s->filter_excluded, t.filter_excluded);
  EXPECT_EQ(s->writer, t.writer);
  EXPECT_EQ(s->decap_error, t.decap_error);
  EXPECT_EQ(s->too_big, t.too_big);
  EXPECT_EQ(s->xdp_seen, a.xdp_seen);
  EXPECT_EQ(s->xdp_redirected, a.xdp_redirected);
  EXPECT_EQ(s->not_ready, a.not_ready);
  EXPECT_EQ(s->steered(),
            a.xdp_redirected + a.xdp_no_socket + a.xdp_filter_excluded + a.xdp_too_big);
}

TEST(CaptureTotals, TestKitRefusesWhatIsNotTheJsonLine) {
  EXPECT_FALSE(test::parse_stats_json("xcap: 1 packets captured, 0 dropped\n"));
  EXPECT_FALSE(test::parse_stats_json("{\"captured\":1}\n"));  // keys missing
  EXPECT_FALSE(test::parse_flat_json("{\"a\":1,}"));
  EXPECT_FALSE(test::parse_flat_json("{\"a\":-1}"));
  EXPECT_FALSE(test::parse_flat_json("{\"a\":1} trailing"));
  auto kv = test::parse_flat_json("{\"a\":1,\"b\":18446744073709551615}");
  ASSERT_TRUE(kv);
  EXPECT_EQ(kv->at("b"), UINT64_MAX);
  // An older human line without too-big is not the contract any more.
  EXPECT_FALSE(test::parse_stats_line(
      "xcap: 1 packets captured, 0 dropped (kernel 0, ring 0, filter-excluded 0, writer 0, "
      "decap-error 0)\n"));
}

}  // namespace
}  // namespace xcap::cli
