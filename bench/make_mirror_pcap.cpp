// make_mirror_pcap: writes the mirrored traffic bench/compare replays with `xcap-gen --pcap`:
// FRAMES VXLAN frames (outer Ethernet / IPv4 OUTER_SRC -> OUTER_DST / UDP 50000 -> 4789 /
// VXLAN 100) of SIZE bytes each (Ethernet header included, FCS not), each carrying an inner
// Ethernet / IPv4 198.18.1.1 -> 198.18.1.2 / TCP frame. Even frames go to TCP port 443, odd
// ones to port 80, so the filter "tcp port 443" selects exactly half; source ports vary.
//
//   make_mirror_pcap OUT.pcap [SIZE=1500] [FRAMES=64] [OUTER_SRC=198.18.0.1] [OUTER_DST=198.18.0.2]
//
// Prints "inner_bytes=N" (the size of each inner frame) on stdout. Exit 0, 1 on a write error,
// 2 on bad arguments.
#include <pcap/pcap.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/frame_builder.h"

namespace {

constexpr size_t kOuterBytes = 14 + 20 + 8 + 8;  // Ethernet, IPv4, UDP, VXLAN
constexpr size_t kInnerHeaders = 14 + 20 + 20;   // Ethernet, IPv4, TCP

int usage() {
  std::fprintf(stderr,
               "usage: make_mirror_pcap OUT.pcap [SIZE=1500] [FRAMES=64] [OUTER_SRC] "
               "[OUTER_DST]\n  SIZE %zu..3400, FRAMES 2..100000 (even)\n",
               kOuterBytes + kInnerHeaders);
  return 2;
}

bool parse(const char* s, unsigned long lo, unsigned long hi, unsigned long& out) {
  char* end = nullptr;
  out = std::strtoul(s, &end, 10);
  return *s && !*end && out >= lo && out <= hi;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 6) return usage();
  unsigned long size = 1500, frames = 64;
  if (argc > 2 && !parse(argv[2], kOuterBytes + kInnerHeaders, 3400, size)) return usage();
  if (argc > 3 && (!parse(argv[3], 2, 100000, frames) || frames % 2)) return usage();
  const std::string src = argc > 4 ? argv[4] : "198.18.0.1";
  const std::string dst = argc > 5 ? argv[5] : "198.18.0.2";
  const size_t inner_bytes = size - kOuterBytes;

  pcap_t* dead = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* out = dead ? pcap_dump_open(dead, argv[1]) : nullptr;
  if (!out) {
    std::fprintf(stderr, "make_mirror_pcap: %s: %s\n", argv[1],
                 dead ? pcap_geterr(dead) : "pcap_open_dead failed");
    return 1;
  }
  for (unsigned long i = 0; i < frames; ++i) {
    const xcap::Bytes inner = xcap::FrameBuilder()
                                  .eth()
                                  .ipv4("198.18.1.1", "198.18.1.2")
                                  .tcp(uint16_t(40000 + i), i % 2 ? 80 : 443, 0x18, 1, 1)
                                  .payload(inner_bytes - kInnerHeaders)
                                  .build();
    const xcap::Bytes frame =
        xcap::FrameBuilder().eth().ipv4(src, dst).udp(50000, 4789).vxlan(100).bytes(inner).build();
    pcap_pkthdr h{};
    h.ts.tv_sec = 1'700'000'000;
    h.ts.tv_usec = long(i);
    h.caplen = h.len = uint32_t(frame.size());
    pcap_dump(reinterpret_cast<u_char*>(out), &h, frame.data());
  }
  const bool ok = pcap_dump_flush(out) == 0;
  pcap_dump_close(out);
  pcap_close(dead);
  if (!ok) {
    std::fprintf(stderr, "make_mirror_pcap: %s: write failed\n", argv[1]);
    return 1;
  }
  std::printf("inner_bytes=%zu\n", inner_bytes);
  return 0;
}
