// Writes the seed corpus for decap_fuzz into the directory given: one small file per
// encapsulation, so the fuzzer starts from frames that reach every parser. The first byte of
// each is decap_fuzz's configuration selector: 3 is --decap auto with max_depth 4.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include "common/frame_builder.h"

using xcap::Bytes;
using xcap::FrameBuilder;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_decap_corpus DIR\n");
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);

  // Small inner frames keep the seeds tiny; the fuzzer grows them where it helps.
  const Bytes in = FrameBuilder().eth().ipv4("198.18.1.1", "198.18.1.2").tcp(1, 2).build(false);
  const Bytes in_ip = FrameBuilder().ipv4("198.18.1.1", "198.18.1.2").tcp(1, 2).build(false);
  auto udp4 = [](uint16_t port) {
    return FrameBuilder().eth().ipv4("198.18.0.10", "198.18.0.20").udp(49152, port);
  };
  auto gre4 = [](uint16_t proto, const xcap::GreFields& f = {}) {
    return FrameBuilder().eth().ipv4("198.18.0.10", "198.18.0.20").gre(proto, f);
  };
  const Bytes opt = FrameBuilder::geneve_option(0x0108, 1, {0, 0, 0, 1});
  std::vector<std::pair<std::string, Bytes>> seeds = {
      {"vxlan", udp4(4789).vxlan(100).bytes(in).build()},
      {"vxlan_ipv6_qinq", FrameBuilder()
                              .eth()
                              .vlan(1, 0x88a8)
                              .vlan(2)
                              .ipv6("2001:db8::10", "2001:db8::20")
                              .udp(1, 8472)
                              .vxlan(7)
                              .bytes(in)
                              .build()},
      {"geneve_options", udp4(6081).geneve(7, 0x6558, opt).bytes(in).build()},
      {"geneve_raw", udp4(6081).geneve(7, 0x0800).bytes(in_ip).build()},
      {"geneve_vxlan", udp4(6081)
                           .geneve(7, 0x0800, opt)
                           .ipv4("198.18.0.30", "198.18.0.40")
                           .udp(1, 4789)
                           .vxlan(100)
                           .bytes(in)
                           .build()},
      {"erspan1", gre4(0x88be).bytes(in).build()},
      {"erspan2", gre4(0x88be, {.seq = 1}).erspan2(5).bytes(in).build()},
      {"erspan3_subheader",
       gre4(0x22eb, {.seq = 1}).erspan3(5, {.subheader = true}).bytes(in).build()},
      {"gre_key_csum", gre4(0x6558, {.key = 9, .checksum = true}).bytes(in).build()},
      {"gre_ipv6", FrameBuilder()
                       .eth()
                       .ipv6("2001:db8::10", "2001:db8::20")
                       .gre(0x86dd)
                       .ipv6("2001:db8:1::1", "2001:db8:1::2")
                       .tcp(1, 2)
                       .build(false)},
      {"tcp", in},
  };
  for (const auto& [name, frame] : seeds) {
    std::ofstream out(dir / name, std::ios::binary);
    out.put(3);
    out.write(reinterpret_cast<const char*>(frame.data()), std::streamsize(frame.size()));
  }
  std::printf("make_decap_corpus: %zu seeds in %s\n", seeds.size(), dir.c_str());
  return 0;
}
