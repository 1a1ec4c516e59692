// decap_bench: ns per packet of Decapsulator::decap for each encapsulation, on 64-byte and
// 1500-byte inner frames (a TCP segment), plus a frame that is not a tunnel (span mode with
// --decap auto). Inner frames are whole, so the truncation repair runs its IP check and finds
// nothing to repair, as on most mirrored traffic.
//
//   build/bench/decap_bench --benchmark_min_time=0.2
//
// The frames sit in 64 separate 4 KiB slots, as in a UMEM, and are visited in turn, so the
// figure includes touching a new frame's headers rather than one frame hot in L1.
#include <benchmark/benchmark.h>

#include <cstring>
#include <vector>

#include "common/frame_builder.h"
#include "decap/decapsulator.h"

namespace {

using xcap::Bytes;
using xcap::FrameBuilder;

enum class Encap { None, Vxlan, Geneve, GeneveVxlan, Erspan2, Erspan3, Gre };

Bytes inner_frame(size_t size) {
  // Ethernet 14 + IPv4 20 + TCP 20 + payload.
  return FrameBuilder()
      .eth()
      .ipv4("198.18.1.1", "198.18.1.2")
      .tcp(40000, 443, 0x10, 1000, 2000)
      .payload(size - 54)
      .build();
}

Bytes make_frame(Encap e, size_t inner_size) {
  const Bytes in = inner_frame(inner_size);
  auto udp4 = [](uint16_t port) {
    return FrameBuilder().eth().ipv4("198.18.0.10", "198.18.0.20").udp(49152, port);
  };
  auto gre4 = [](uint16_t proto, const xcap::GreFields& f) {
    return FrameBuilder().eth().ipv4("198.18.0.10", "198.18.0.20").gre(proto, f);
  };
  // AWS Gateway Load Balancer's GENEVE option (class 0x0108): 8 bytes of data.
  const Bytes opt = FrameBuilder::geneve_option(0x0108, 1, {0, 0, 0, 0, 0, 0, 0, 1});
  switch (e) {
    case Encap::None:
      return in;
    case Encap::Vxlan:
      return udp4(4789).vxlan(100).bytes(in).build();
    case Encap::Geneve:
      return udp4(6081).geneve(7, 0x6558, opt).bytes(in).build();
    case Encap::GeneveVxlan:
      return udp4(6081)
          .geneve(7, 0x0800, opt)
          .ipv4("198.18.0.30", "198.18.0.40")
          .udp(65000, 4789)
          .vxlan(100)
          .bytes(in)
          .build();
    case Encap::Erspan2:
      return gre4(0x88be, {.seq = 1}).erspan2(5).bytes(in).build();
    case Encap::Erspan3:
      return gre4(0x22eb, {.seq = 1}).erspan3(5).bytes(in).build();
    case Encap::Gre:
      return gre4(0x6558, {.key = 42}).bytes(in).build();
  }
  return in;
}

void BM_Decap(benchmark::State& state, Encap e, size_t inner_size) {
  constexpr size_t kSlots = 64, kSlotSize = 4096;
  const Bytes frame = make_frame(e, inner_size);
  std::vector<uint8_t> umem(kSlots * kSlotSize);
  for (size_t i = 0; i < kSlots; ++i)
    std::memcpy(&umem[i * kSlotSize + 256], frame.data(), frame.size());  // XDP headroom
  const xcap::Decapsulator decap;
  const auto len = uint32_t(frame.size());
  {
    const xcap::DecapResult r = decap.decap(&umem[256], len, len);
    if (!r.ok() || r.caplen != inner_size) state.SkipWithError("frame did not decapsulate");
  }
  size_t slot = 0;
  for (auto _ : state) {
    const xcap::DecapResult r = decap.decap(&umem[slot * kSlotSize + 256], len, len);
    benchmark::DoNotOptimize(r);
    slot = (slot + 1) % kSlots;
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.SetBytesProcessed(int64_t(state.iterations()) * len);
}

BENCHMARK_CAPTURE(BM_Decap, none_64, Encap::None, 64);
BENCHMARK_CAPTURE(BM_Decap, none_1500, Encap::None, 1500);
BENCHMARK_CAPTURE(BM_Decap, vxlan_64, Encap::Vxlan, 64);
BENCHMARK_CAPTURE(BM_Decap, vxlan_1500, Encap::Vxlan, 1500);
BENCHMARK_CAPTURE(BM_Decap, geneve_opt_64, Encap::Geneve, 64);
BENCHMARK_CAPTURE(BM_Decap, geneve_opt_1500, Encap::Geneve, 1500);
BENCHMARK_CAPTURE(BM_Decap, geneve_vxlan_64, Encap::GeneveVxlan, 64);
BENCHMARK_CAPTURE(BM_Decap, geneve_vxlan_1500, Encap::GeneveVxlan, 1500);
BENCHMARK_CAPTURE(BM_Decap, erspan2_64, Encap::Erspan2, 64);
BENCHMARK_CAPTURE(BM_Decap, erspan2_1500, Encap::Erspan2, 1500);
BENCHMARK_CAPTURE(BM_Decap, erspan3_64, Encap::Erspan3, 64);
BENCHMARK_CAPTURE(BM_Decap, erspan3_1500, Encap::Erspan3, 1500);
BENCHMARK_CAPTURE(BM_Decap, gre_key_64, Encap::Gre, 64);
BENCHMARK_CAPTURE(BM_Decap, gre_key_1500, Encap::Gre, 1500);

}  // namespace

BENCHMARK_MAIN();
