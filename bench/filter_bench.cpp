// filter_bench: ns per packet of the worker filter, libpcap's interpreter (pcap_offline_filter,
// i.e. bpf_filter) against xcap's (FilterProgram::matches, CbpfInterpreter), on the same
// libpcap-compiled program, for six representative expressions and a compound one, on 64-byte and
// 1500-byte frames.
//
//   build/bench/filter_bench --benchmark_min_time=0.2
//
// The budget of the whole worker path is 50 ns per packet; the filter should take at most a
// third of it. Frames are a mix (IPv4 TCP to and from 198.19.1.7 with various flags, UDP,
// VLAN-tagged UDP and TCP, IPv6 TCP and UDP, ICMP, ARP) in 64 separate 4 KiB slots, as in a
// UMEM, visited in turn: the figure includes a new frame's headers and branch patterns that
// change from packet to packet, rather than one frame hot in L1 and a branch predictor that
// has learnt it.
#include <benchmark/benchmark.h>
#include <pcap/pcap.h>

#include <cstring>
#include <string>
#include <vector>

#include "common/frame_builder.h"
#include "filter/filter_program.h"

namespace {

using xcap::Bytes;
using xcap::FrameBuilder;

const char* const kExpressions[] = {
    "tcp port 443",
    "host 198.19.1.7 and tcp",
    "tcp[tcpflags] & (tcp-syn|tcp-fin) != 0",
    "vlan and udp",
    "ip6 and tcp dst port 80",
    "not arp and len > 100",
    // a compound one, to show how the cost grows with the program
    "tcp and (port 80 or port 443) and not (src net 198.19.0.0/16 or dst port 22)",
};

// One frame of each kind, of about `size` bytes (ARP keeps its own size).
std::vector<Bytes> frame_kinds(size_t size) {
  auto pad = [size](FrameBuilder b) {
    return b.payload(size > b.size() ? size - b.size() : 0).build();
  };
  const auto eth = [] { return FrameBuilder().eth(); };
  std::vector<Bytes> f;
  f.push_back(pad(eth().ipv4("198.18.0.1", "198.19.1.7").tcp(40000, 443, 0x10)));
  f.push_back(pad(eth().ipv4("198.19.1.7", "198.18.0.1").tcp(443, 40000, 0x18)));
  f.push_back(pad(eth().ipv4("198.18.0.2", "198.19.1.7").tcp(40001, 443, 0x02)));
  f.push_back(pad(eth().ipv4("198.18.0.3", "198.18.0.4").tcp(40002, 80, 0x11)));
  f.push_back(pad(eth().ipv4("198.18.0.5", "198.18.0.6").udp(40003, 53)));
  f.push_back(pad(eth().vlan(100).ipv4("198.18.0.7", "198.18.0.8").udp(40004, 4789)));
  f.push_back(pad(eth().vlan(200).ipv4("198.18.0.9", "198.19.1.7").tcp(40005, 443)));
  f.push_back(pad(eth().ipv6("2001:db8::1", "2001:db8::2").tcp(40006, 80, 0x10)));
  f.push_back(pad(eth().ipv6("2001:db8::2", "2001:db8::1").udp(40007, 53)));
  f.push_back(pad(eth().ipv4("198.18.0.1", "198.19.1.7").icmp_echo()));
  // ARP request, broadcast: FrameBuilder has no ARP layer, so its fields come as bytes.
  f.push_back(FrameBuilder()
                  .eth({0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x02, 0, 0, 0, 0, 1}, 0x0806)
                  .bytes({0,   1,  0x08, 0, 6, 4, 0, 1, 2, 0, 0,   0,  0, 1,
                          198, 18, 0,    1, 0, 0, 0, 0, 0, 0, 198, 18, 0, 2})
                  .build());
  return f;
}

// The frames, spread over a UMEM-like area.
struct Frames {
  static constexpr size_t kSlots = 64, kSlotSize = 4096, kHeadroom = 256;
  std::vector<uint8_t> umem = std::vector<uint8_t>(kSlots * kSlotSize);
  std::vector<uint32_t> len = std::vector<uint32_t>(kSlots);

  explicit Frames(size_t size) {
    const std::vector<Bytes> kinds = frame_kinds(size);
    for (size_t i = 0; i < kSlots; ++i) {
      // A fixed, irregular order (i * 7 mod kinds), so the sequence does not repeat every few.
      const Bytes& f = kinds[(i * 7 + i / 11) % kinds.size()];
      std::memcpy(&umem[i * kSlotSize + kHeadroom], f.data(), f.size());
      len[i] = uint32_t(f.size());
    }
  }
  const uint8_t* at(size_t i) const { return &umem[i * kSlotSize + kHeadroom]; }
};

enum class Engine { Libpcap, Xcap };

void BM_Filter(benchmark::State& state, Engine engine, int expr_index, size_t size) {
  const std::string expr = kExpressions[expr_index];
  xcap::Result<xcap::FilterProgram> prog = xcap::FilterProgram::compile(expr, 1, 262144);
  if (!prog.ok()) {
    state.SkipWithError(prog.error().message.c_str());
    return;
  }
  // libpcap's own program: compiled by libpcap from the same expression (identical
  // instructions, tests/unit/filter_differential_test.cpp checks that).
  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 262144);
  bpf_program bpf{};
  if (pcap_compile(dead, &bpf, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0) {
    state.SkipWithError(pcap_geterr(dead));
    pcap_close(dead);
    return;
  }
  const Frames frames(size);
  size_t selected = 0, slot = 0;
  if (engine == Engine::Libpcap) {
    pcap_pkthdr h{};
    for (auto _ : state) {
      h.caplen = h.len = frames.len[slot];
      selected += pcap_offline_filter(&bpf, &h, frames.at(slot)) != 0;
      slot = (slot + 1) % Frames::kSlots;
    }
  } else {
    const xcap::FilterProgram& p = *prog;
    for (auto _ : state) {
      const uint32_t len = frames.len[slot];
      selected += p.matches(frames.at(slot), len, len);
      slot = (slot + 1) % Frames::kSlots;
    }
  }
  benchmark::DoNotOptimize(selected);
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["selected%"] = 100.0 * double(selected) / double(state.iterations());
  state.counters["insns"] = double(prog->instructions().size());
  state.counters["fused"] = double(prog->interpreter().fused());
  pcap_freecode(&bpf);
  pcap_close(dead);
}

void register_all() {
  for (int e = 0; e < int(std::size(kExpressions)); ++e)
    for (size_t size : {64, 1500})
      for (Engine engine : {Engine::Libpcap, Engine::Xcap}) {
        const std::string name = std::string(engine == Engine::Libpcap ? "libpcap" : "xcap") + "/" +
                                 std::to_string(size) + "/" + kExpressions[e];
        benchmark::RegisterBenchmark(name.c_str(), BM_Filter, engine, e, size);
      }
}

}  // namespace

int main(int argc, char** argv) {
  register_all();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
