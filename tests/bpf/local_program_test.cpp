// Tests of local mode's BPF programs (bpf/xcap_local.bpf.c) on crafted frames through
// bpf_prog_test_run_opts, read back from the ring buffer as RingbufSource reads it:
// - a frame run through the XDP program (ingress) and the TC program (egress) comes back as one
//   record each, bytes, lengths and direction intact, cut at snaplen, and the packet goes on
//   (XDP_PASS, TCX_NEXT);
// - differential: the kernel filter (src/filter/xdp_filter_translator.cpp, local mode) in both
//   programs records a frame of the filter corpus exactly when libpcap's bpf_filter selects
//   it, flagged FILTERED, and counts the others as excluded;
// - a full ring counts what it could not take.
// Privileged: needs root (BPF). Skips only when XCAP_SKIP_PRIVILEGED=1.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstring>
#include <optional>
#include <vector>

#include "common/fd.h"
#include "common/filter_corpus.h"
#include "common/frame_builder.h"
#include "common/libpcap_reference.h"
#include "common/subprocess.h"
#include "filter/filter_set.h"
#include "filter/xdp_filter_translator.h"
#include "source/local_record.h"
#include "source/ring_reader.h"
#include "xcap_abi.h"

#include "xcap_local.skel.h"

namespace xcap {
namespace {

constexpr int kTcxNext = -1;

// The skeleton loaded by itself, one ring of ring_bytes in place, the copy programs in their
// slots, armed.
class LocalSkeleton {
 public:
  explicit LocalSkeleton(uint32_t snaplen = XCAP_LOCAL_MAX_CAPLEN, uint32_t ring_bytes = 1 << 22) {
    skel_ = xcap_local_bpf__open();
    if (!skel_) throw std::runtime_error("open");
    skel_->rodata->xcap_local_cfg.snaplen = snaplen;
    skel_->rodata->xcap_local_cfg.wakeup_bytes = ring_bytes;
    ring_ = Fd(bpf_map_create(BPF_MAP_TYPE_RINGBUF, "xcloc_ring", 0, 0, ring_bytes, nullptr));
    if (!ring_.valid() || bpf_map__set_inner_map_fd(skel_->maps.xcap_local_rings, ring_.get()) ||
        xcap_local_bpf__load(skel_))
      throw std::runtime_error("load");
    const uint32_t zero = 0, copy = XCAP_LOCAL_SLOT_COPY;
    const int rfd = ring_.get(), in = bpf_program__fd(skel_->progs.xcap_local_in_copy),
              out = bpf_program__fd(skel_->progs.xcap_local_out_copy);
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xcap_local_rings), &zero, &rfd, 0);
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xcap_local_xdp_progs), &copy, &in, 0);
    bpf_map_update_elem(bpf_map__fd(skel_->maps.xcap_local_tc_progs), &copy, &out, 0);
    skel_->bss->xcap_local_capturing = 1;
    auto r = source::RingReader::open(ring_.get());
    if (!r) throw std::runtime_error(r.error().message);
    reader_.emplace(std::move(r.value()));
  }
  ~LocalSkeleton() { xcap_local_bpf__destroy(skel_); }

  // Runs the ingress (XDP) or egress (TC) program on frame; returns its verdict, or nullopt
  // when the kernel's test harness refuses the frame (it builds no skb from an IPv4 or IPv6
  // frame cut inside its IP header: EINVAL).
  std::optional<int> try_run(const std::vector<uint8_t>& frame, bool egress) {
    LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = frame.data(),
                .data_size_in = uint32_t(frame.size()));
    const bpf_program* p = egress ? skel_->progs.xcap_local_out : skel_->progs.xcap_local_in;
    if (bpf_prog_test_run_opts(bpf_program__fd(p), &o) != 0) return std::nullopt;
    return int(o.retval);
  }
  int run(const std::vector<uint8_t>& frame, bool egress) {
    auto v = try_run(frame, egress);
    EXPECT_TRUE(v) << strerror(errno) << (egress ? " TC" : " XDP") << ", " << frame.size();
    return v.value_or(-2);
  }

  // The records written since the last call, decoded (their bytes copied out).
  struct Rec {
    PacketView v;
    std::vector<uint8_t> bytes;
  };
  std::vector<Rec> take() {
    std::vector<Rec> out;
    size_t size = 0;
    while (const uint8_t* r = reader_->next(&size)) {
      Rec rec;
      EXPECT_TRUE(source::decode_local_record(r, size, 0, rec.v));
      rec.bytes.assign(rec.v.data, rec.v.data + rec.v.caplen);
      out.push_back(std::move(rec));
    }
    reader_->commit();
    return out;
  }

  uint64_t counter(unsigned dir, xcap_local_counter c) {
    const int n = libbpf_num_possible_cpus();
    std::vector<uint64_t> v(size_t(n > 0 ? n : 1));
    const uint32_t key = dir * XCAP_LCNT_MAX + c;
    bpf_map_lookup_elem(bpf_map__fd(skel_->maps.xcap_local_counters), &key, v.data());
    uint64_t sum = 0;
    for (uint64_t x : v) sum += x;
    return sum;
  }

  // The translated filter in both programs (LocalProgram::replace_filter does the same).
  void install_filter(std::span<const CbpfInsn> program) {
    for (unsigned dir = 0; dir < 2; dir++) {
      XdpFilterMaps maps;
      maps.counters = bpf_map__fd(skel_->maps.xcap_local_counters);
      maps.args = bpf_map__fd(skel_->maps.xcap_filter_args);
      maps.local_progs =
          bpf_map__fd(dir ? skel_->maps.xcap_local_tc_progs : skel_->maps.xcap_local_xdp_progs);
      maps.tc = dir == 1;
      maps.counter_base = dir * XCAP_LCNT_MAX;
      XdpFilterLoadOptions lo;
      const bpf_program* entry = dir ? skel_->progs.xcap_local_out : skel_->progs.xcap_local_in;
      lo.expected_attach_type = bpf_program__expected_attach_type(entry);
      lo.xdp_frags = !dir;
      Result<Fd> f = load_xdp_filter(program, maps, lo);
      ASSERT_TRUE(f) << f.error().message;
      const uint32_t slot = XCAP_LOCAL_SLOT_FILTER;
      const int fd = f->get();
      ASSERT_EQ(bpf_map_update_elem(maps.local_progs, &slot, &fd, 0), 0) << strerror(errno);
      filters_.push_back(std::move(f.value()));
    }
    skel_->bss->xcap_local_filter_in = 1;
    skel_->bss->xcap_local_filter_out = 1;
  }

 private:
  xcap_local_bpf* skel_ = nullptr;
  Fd ring_;
  std::optional<source::RingReader> reader_;
  std::vector<Fd> filters_;
};

std::vector<uint8_t> udp_frame(size_t payload) {
  return FrameBuilder()
      .eth()
      .ipv4("198.18.60.1", "198.18.60.2")
      .udp(1234, 5678)
      .payload(payload, 0x5a)
      .build();
}

TEST(LocalProgram, CopiesBothDirectionsAndPasses) {
  XCAP_REQUIRE_PRIVILEGED();
  LocalSkeleton s;
  const auto small = udp_frame(20), big = udp_frame(3000);
  EXPECT_EQ(s.run(small, false), XDP_PASS);
  EXPECT_EQ(s.run(big, true), kTcxNext);
  auto recs = s.take();
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[0].v.direction, XCAP_DIR_INBOUND);
  EXPECT_EQ(recs[0].bytes, small);
  EXPECT_EQ(recs[0].v.wire_len, small.size());
  EXPECT_EQ(recs[1].v.direction, XCAP_DIR_OUTBOUND);
  EXPECT_EQ(recs[1].bytes, big);
  EXPECT_LE(recs[0].v.ts_ns, recs[1].v.ts_ns) << "one clock, in order";
  EXPECT_FALSE(recs[0].v.xdp_selected) << "no filter: not judged in the kernel";
  EXPECT_EQ(s.counter(0, XCAP_LCNT_COPIED), 1u);
  EXPECT_EQ(s.counter(1, XCAP_LCNT_COPIED), 1u);
}

TEST(LocalProgram, CutsAtSnaplenAndKeepsTheWireLength) {
  XCAP_REQUIRE_PRIVILEGED();
  LocalSkeleton s(100);
  const auto f = udp_frame(1400);
  s.run(f, false);
  s.run(f, true);
  for (const auto& r : s.take()) {
    EXPECT_EQ(r.v.caplen, 100u);
    EXPECT_EQ(r.v.wire_len, f.size());
    EXPECT_EQ(r.bytes, std::vector<uint8_t>(f.begin(), f.begin() + 100));
  }
}

TEST(LocalProgram, FullRingCountsWhatItCouldNotTake) {
  XCAP_REQUIRE_PRIVILEGED();
  LocalSkeleton s(XCAP_LOCAL_MAX_CAPLEN, 4096);
  const auto f = udp_frame(200);  // 242 bytes: a 256-byte room, 288 with headers
  for (int i = 0; i < 40; i++) s.run(f, i % 2);
  const uint64_t copied = s.counter(0, XCAP_LCNT_COPIED) + s.counter(1, XCAP_LCNT_COPIED);
  const uint64_t full = s.counter(0, XCAP_LCNT_RINGBUF_FULL) + s.counter(1, XCAP_LCNT_RINGBUF_FULL);
  EXPECT_EQ(copied + full, 40u);
  EXPECT_GT(full, 0u);
  EXPECT_EQ(s.take().size(), copied);
}

// Both programs select exactly what libpcap selects, and flag it; the rest is excluded.
TEST(LocalProgram, KernelFilterAgreesWithLibpcapInBothDirections) {
  XCAP_REQUIRE_PRIVILEGED();
  const auto corpus = test::make_xdp_corpus(12, 400);
  size_t checked = 0, refused = 0;
  for (const std::string& expr : test::filter_expressions()) {
    auto set = FilterSet::compile(expr, 65535);
    ASSERT_TRUE(set) << expr;
    const auto program = set->ethernet().instructions();
    LocalSkeleton s;
    s.install_filter(program);
    for (const auto& frame : corpus) {
      if (frame.size() < 14) continue;
      const bool want = libpcap_bpf_filter(program, frame.data(), uint32_t(frame.size()),
                                           uint32_t(frame.size())) != 0;
      for (bool egress : {false, true}) {
        if (auto v = s.try_run(frame, egress); !v) {
          EXPECT_TRUE(egress) << "XDP refused a frame of " << frame.size();
          refused++;
          continue;
        }
        auto recs = s.take();
        ASSERT_EQ(recs.size(), want ? 1u : 0u)
            << expr << (egress ? " (TC)" : " (XDP)") << ": " << test::hex_prefix(frame, 64);
        if (want) {
          EXPECT_TRUE(recs[0].v.xdp_selected) << expr;
          EXPECT_EQ(recs[0].bytes, frame);
        }
        checked++;
      }
    }
    EXPECT_EQ(s.counter(0, XCAP_LCNT_FILTER_UNDECIDED), 0u) << expr << ": linear frames";
  }
  EXPECT_GT(checked, 10000u);
  EXPECT_LT(refused, checked / 20) << "frames the test harness cannot make an skb of";
}

}  // namespace
}  // namespace xcap
