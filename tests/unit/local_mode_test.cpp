// Local mode's parts that need no kernel: TAI to UTC, decoding a ring buffer record, the
// direction in pcapng (epb_flags) and through the fanout, the options, the totals.
#include <gtest/gtest.h>
#include <sys/timex.h>

#include <cstring>

#include "cli/capture_environment.h"
#include "cli/capture_options.h"
#include "cli/capture_totals.h"
#include "common/pcap_file.h"
#include "common/tai_clock.h"
#include "sink/fanout/raw_record.h"
#include "sink/file/pcap_format.h"
#include "source/local_record.h"
#include "stream/pcapng_stream_reader.h"

namespace xcap {
namespace {

constexpr int64_t kLeap = 37'000'000'000;  // TAI - UTC since 2017, where a daemon set it

TEST(TaiClock, ConvertsWithTheOffsetWhateverItIs) {
  EXPECT_EQ(tai_to_utc_ns(1'700'000'037'123'456'789ull, kLeap), 1'700'000'000'123'456'789ull);
  EXPECT_EQ(tai_to_utc_ns(1'700'000'000'000'000'000ull, 0), 1'700'000'000'000'000'000ull);
}

// The sampled offset is the kernel's TAI offset (0 unless a time daemon set it), to well
// within a millisecond.
TEST(TaiClock, SampledOffsetIsTheKernels) {
  timex tx{};
  ASSERT_GE(ntp_adjtime(&tx), 0);
  const int64_t sampled = sample_tai_minus_utc_ns();
  EXPECT_NEAR(double(sampled), double(tx.tai) * 1e9, 1e6);
}

std::vector<uint8_t> record(uint64_t tai, uint32_t wire, uint32_t caplen, uint8_t dir,
                            uint8_t flags, size_t extra = 0) {
  xcap_local_record h{};
  h.tai_ns = tai;
  h.ifindex = 7;
  h.wire_len = wire;
  h.caplen = caplen;
  h.direction = dir;
  h.flags = flags;
  std::vector<uint8_t> out(sizeof h + caplen + extra);
  std::memcpy(out.data(), &h, sizeof h);
  for (uint32_t i = 0; i < caplen; i++) out[sizeof h + i] = uint8_t(i);
  return out;
}

TEST(LocalRecord, DecodesHeaderAndBytes) {
  static_assert(sizeof(xcap_local_record) == 24);
  auto r = record(1'700'000'037'000'000'001ull, 1514, 100, XCAP_DIR_OUTBOUND, XCAP_LOCAL_F_FILTERED,
                  4);  // the ring pads records to 8 bytes
  PacketView v;
  ASSERT_TRUE(source::decode_local_record(r.data(), r.size(), kLeap, v));
  EXPECT_EQ(v.ts_ns, 1'700'000'000'000'000'001ull);
  EXPECT_EQ(v.caplen, 100u);
  EXPECT_EQ(v.wire_len, 1514u);
  EXPECT_EQ(v.direction, XCAP_DIR_OUTBOUND);
  EXPECT_TRUE(v.xdp_selected);
  EXPECT_EQ(v.data, r.data() + 24);
  EXPECT_EQ(v.data[99], 99);

  auto in = record(5, 60, 60, XCAP_DIR_INBOUND, 0);
  ASSERT_TRUE(source::decode_local_record(in.data(), in.size(), 0, v));
  EXPECT_EQ(v.direction, XCAP_DIR_INBOUND);
  EXPECT_FALSE(v.xdp_selected);
}

TEST(LocalRecord, RefusesRecordsShorterThanTheirHeaderSays) {
  PacketView v;
  auto r = record(1, 100, 100, XCAP_DIR_INBOUND, 0);
  EXPECT_FALSE(source::decode_local_record(r.data(), 23, 0, v)) << "no whole header";
  EXPECT_FALSE(source::decode_local_record(r.data(), r.size() - 1, 0, v)) << "bytes missing";
  auto longer = record(1, 50, 100, XCAP_DIR_INBOUND, 0);
  EXPECT_FALSE(source::decode_local_record(longer.data(), longer.size(), 0, v))
      << "caplen over the wire length";
  auto odd = record(1, 100, 100, 9, 0);
  ASSERT_TRUE(source::decode_local_record(odd.data(), odd.size(), 0, v));
  EXPECT_EQ(v.direction, 0u) << "an unknown direction is written as none";
}

// epb_flags carries the direction (bits 0-1); libpcap still reads the block.
TEST(PcapngDirection, EnhancedPacketBlockCarriesEpbFlags) {
  uint8_t frame[61];
  for (unsigned i = 0; i < sizeof frame; i++) frame[i] = uint8_t(i);
  PacketView p;
  p.data = frame;
  p.caplen = p.wire_len = sizeof frame;
  p.ts_ns = 123;
  p.direction = XCAP_DIR_OUTBOUND;
  const sink::RecordLengths len = sink::record_lengths(p, 65535);
  std::vector<uint8_t> rec(sink::pcapng_record_bytes(len.caplen, p.direction), 0xee);
  ASSERT_EQ(rec.size(), 32u + 64u + 12u);
  ASSERT_EQ(sink::encode_pcapng_record(rec.data(), p, len), rec.size());
  uint32_t total, head_len, opt, flags, end, trailer;
  std::memcpy(&head_len, rec.data() + 4, 4);
  std::memcpy(&opt, rec.data() + 28 + 64, 4);
  std::memcpy(&flags, rec.data() + 28 + 68, 4);
  std::memcpy(&end, rec.data() + 28 + 72, 4);
  std::memcpy(&trailer, rec.data() + rec.size() - 4, 4);
  total = uint32_t(rec.size());
  EXPECT_EQ(head_len, total);
  EXPECT_EQ(trailer, total);
  EXPECT_EQ(opt, 2u | 4u << 16) << "epb_flags, 4 bytes";
  EXPECT_EQ(flags, 2u) << "outbound";
  EXPECT_EQ(end, 0u) << "opt_endofopt";

  std::vector<uint8_t> file = sink::pcapng_file_header("x", 65535, 1);
  file.insert(file.end(), rec.begin(), rec.end());
  test::PcapContents c = test::read_pcap_bytes(file);
  ASSERT_TRUE(c.error.empty()) << c.error;
  ASSERT_EQ(c.records.size(), 1u);
  EXPECT_EQ(c.records[0].data, std::vector<uint8_t>(frame, frame + sizeof frame));

  p.direction = 0;
  EXPECT_EQ(sink::pcapng_record_bytes(len.caplen, p.direction), 32u + 64u) << "no option";
}

// xcap stream reads the direction back (and writes it into the merged file).
TEST(PcapngDirection, TheStreamReaderReadsItBack) {
  uint8_t frame[42] = {};
  PacketView p;
  p.data = frame;
  p.caplen = p.wire_len = sizeof frame;
  std::vector<uint8_t> s = sink::pcapng_file_header("x", 65535, 1);
  for (uint8_t dir : {uint8_t(XCAP_DIR_INBOUND), uint8_t(XCAP_DIR_OUTBOUND), uint8_t(0)}) {
    p.direction = dir;
    const size_t at = s.size();
    s.resize(at + sink::pcapng_record_bytes(p.caplen, dir));
    sink::encode_pcapng_record(s.data() + at, p, {p.caplen, p.wire_len});
  }
  stream::PcapngStreamReader r;
  r.feed(s.data(), s.size());
  std::vector<uint8_t> dirs;
  while (auto b = r.next()) {
    ASSERT_TRUE(*b) << b->error().message;
    if (auto* pb = std::get_if<stream::PacketBlock>(&**b)) dirs.push_back(pb->direction);
  }
  EXPECT_EQ(dirs, (std::vector<uint8_t>{XCAP_DIR_INBOUND, XCAP_DIR_OUTBOUND, 0}));
}

TEST(PcapngDirection, SurvivesTheHandOffToTheFanout) {
  uint8_t frame[20] = {1, 2, 3};
  PacketView p;
  p.data = frame;
  p.caplen = p.wire_len = sizeof frame;
  p.direction = XCAP_DIR_INBOUND;
  std::vector<uint8_t> buf(sink::fanout::raw_record_bytes(sizeof frame));
  sink::fanout::encode_raw_record(buf.data(), p, sizeof frame);
  size_t bytes = 0;
  EXPECT_EQ(sink::fanout::decode_raw_record(buf.data(), &bytes).direction, XCAP_DIR_INBOUND);
}

cli::ParsedCapture parse(std::vector<std::string> args) {
  return cli::parse_capture_args(args);
}

TEST(LocalOptions, SeveralInterfacesAndNoDecapByDefault) {
  auto r = parse({"-i", "a0", "-i", "b0", "--mode", "local"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_TRUE(r.options->local());
  EXPECT_EQ(r.options->local_ifaces, (std::vector<std::string>{"a0", "b0"}));
  EXPECT_EQ(r.options->decap, DecapConfig::Mode::None);
  EXPECT_EQ(r.options->ringbuf_bytes, defaults::kRingbufKiB << 10);
  EXPECT_FALSE(r.options->ringbuf_per_cpu);

  auto d = parse({"-i", "a0", "--mode", "local", "--decap", "vxlan", "--ringbuf-size", "64",
                  "--ringbuf-per-cpu"});
  ASSERT_TRUE(d.options) << d.message;
  EXPECT_EQ(d.options->decap, DecapConfig::Mode::Vxlan) << "asked for: on";
  EXPECT_EQ(d.options->ringbuf_bytes, 64u << 10);
  EXPECT_TRUE(d.options->ringbuf_per_cpu);
}

void expect_error(std::vector<std::string> args, const std::string& names) {
  auto r = parse(args);
  EXPECT_FALSE(r.options) << "accepted: " << ::testing::PrintToString(args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.message.find(names), std::string::npos) << r.message;
}

TEST(LocalOptions, RefusesWhatLocalModeCannotDo) {
  expect_error({"-i", "a0", "-i", "b0"}, "--mode local");
  expect_error({"-i", "all"}, "-i all");
  expect_error({"-i", "a0", "--ringbuf-size", "64"}, "--ringbuf-size");
  expect_error({"-i", "a0", "--ringbuf-per-cpu"}, "--ringbuf-per-cpu");
  expect_error({"-i", "a0", "--mode", "local", "--ringbuf-size", "3"}, "--ringbuf-size");
  expect_error({"-i", "a0", "--mode", "local", "--ringbuf-size", "100"}, "power of two");
  expect_error({"-r", "x.pcap", "--mode", "local"}, "--mode local");
  expect_error({"-i", "a0", "--mode", "local", "--split", "source", "-w", "x"}, "--split");
}

TEST(LocalOptions, AllIsEveryInterfaceThatIsUpButLoopback) {
  auto all = cli::expand_local_interfaces({"all"});
  if (!all) GTEST_SKIP() << all.error().message;  // a host with nothing but loopback
  EXPECT_EQ(std::count(all->begin(), all->end(), "lo"), 0);
  auto mixed = cli::expand_local_interfaces({"x0", "all"});
  ASSERT_TRUE(mixed);
  EXPECT_EQ(mixed->front(), "x0");
  EXPECT_EQ(mixed->size(), all->size() + 1);
}

TEST(LocalTotals, RingbufFullIsTheRingColumnAndInTheJson) {
  metrics::CaptureSnapshot s;
  metrics::LocalSnapshot a, b;
  a.iface = "a0";
  a.counters[0][XCAP_LCNT_RINGBUF_FULL] = 3;
  a.counters[1][XCAP_LCNT_RINGBUF_FULL] = 4;
  a.counters[0][XCAP_LCNT_COPIED] = 10;
  a.counters[1][XCAP_LCNT_COPIED] = 12;
  a.counters[1][XCAP_LCNT_FILTER_EXCLUDED] = 5;
  b.iface = "b0";
  b.counters[0][XCAP_LCNT_RINGBUF_FULL] = 1;
  s.local = {a, b};
  const cli::CaptureTotals t = cli::totals_of(s);
  EXPECT_EQ(t.ring, 8u);
  EXPECT_EQ(t.filter_excluded, 5u);
  const std::string json = cli::stats_json(t, cli::accounting_of(s));
  EXPECT_NE(json.find("\"ringbuf_full\":8"), std::string::npos) << json;
  EXPECT_NE(json.find("\"local_copied\":22"), std::string::npos) << json;
  EXPECT_EQ(cli::local_stats_line(a),
            "xcap: a0 in 10 copied, 3 ringbuf-full; out 12 copied, 4 "
            "ringbuf-full");
}

}  // namespace
}  // namespace xcap
