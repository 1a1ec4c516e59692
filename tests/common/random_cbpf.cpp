#include "common/random_cbpf.h"

#include <pcap/pcap.h>

#include <algorithm>

namespace xcap::test {

using namespace cbpf;

uint32_t RandomCbpf::constant() {
  static constexpr uint32_t kEdges[] = {0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe,
                                        0xfffffffc, 31,         32,         33,
                                        32767,      32768,      32765,      65535};
  static constexpr uint32_t kEthertypes[] = {0x0800, 0x86dd, 0x0806};
  switch (below(6)) {
    case 0:
      return below(8);
    case 1:
      return below(96);
    case 2:
      return kEdges[below(std::size(kEdges))];
    case 3:
      return kEthertypes[below(std::size(kEthertypes))];
    default:
      return uint32_t(rng_());
  }
}

std::vector<CbpfInsn> RandomCbpf::program(const RandomCbpfOptions& options) {
  std::vector<CbpfInsn> prog;
  if (options.store_memory)
    for (uint32_t m = 0; m < kMemWords; ++m) {
      prog.push_back(stmt(kLd | kImm, constant()));
      prog.push_back(stmt(kSt, m));
    }
  prog.push_back(stmt(kLd | kImm, constant()));
  prog.push_back(stmt(kLdx | kImm, below(3) == 0 ? constant() : below(40)));
  const size_t body = 1 + below(40);
  const size_t n = prog.size() + body + 1;
  while (prog.size() < n - 1) {
    const size_t i = prog.size();
    const uint16_t code = kAllOpcodes[below(uint32_t(kAllOpcodes.size()))];
    if (!options.len_loads && (code & 0xe0) == kLen) continue;
    CbpfInsn in{code, 0, 0, constant()};
    const uint32_t room = uint32_t(n - 1 - (i + 1));  // instructions after the next one
    switch (code) {
      case kLd | kMem:
      case kLdx | kMem:
      case kSt:
      case kStx:
        in.k = below(kMemWords);
        break;
      case kAlu | kDiv | kK:
      case kAlu | kMod | kK:
        if (in.k == 0) in.k = 1 + below(9);
        break;
      case kAlu | kLsh | kK:
      case kAlu | kRsh | kK:
        in.k = below(32);
        break;
      case kJmp | kJa:
        in.k = below(room + 1);
        if (options.backward_jumps && i > 0 && below(3) == 0)
          in.k = uint32_t(-int32_t(1 + below(uint32_t(std::min<size_t>(i, 12)))));
        break;
      default:
        if ((code & 0x07) == kLd || (code & 0x07) == kLdx) {
          if ((code & 0xe0) != kImm && below(8) != 0) in.k = below(80);
        }
        if ((code & 0x07) == kJmp) {
          in.jt = uint8_t(below(std::min<uint32_t>(room, 255) + 1));
          in.jf = uint8_t(below(std::min<uint32_t>(room, 255) + 1));
        }
        break;
    }
    prog.push_back(in);
  }
  prog.push_back(below(2) ? stmt(kRet | kRetA, 0) : stmt(kRet | kK, below(4) ? constant() : 0));
  return prog;
}

std::vector<uint8_t> RandomCbpf::packet(uint32_t min_size) {
  std::vector<uint8_t> p(min_size + (below(4) == 0 ? below(8) : below(90)));
  for (uint8_t& b : p) b = uint8_t(below(3) == 0 ? below(4) : rng_());
  return p;
}

std::string cbpf_listing(const std::vector<CbpfInsn>& prog) {
  std::string s;
  for (size_t i = 0; i < prog.size(); ++i) {
    const bpf_insn in{prog[i].code, prog[i].jt, prog[i].jf, prog[i].k};
    s += bpf_image(&in, int(i));
    s += '\n';
  }
  return s;
}

}  // namespace xcap::test
