// libFuzzer target for the worker filter's cBPF interpreter, against libpcap's bpf_filter.
//
// Input: byte 0 picks the wire length (equal to the capture, or longer); byte 1 the number of
// instructions; then 8 bytes per instruction; the rest is the packet. Each input is used twice:
// - as it is: CbpfInterpreter::create must not crash, and whatever it accepts bpf_validate
//   accepts too;
// - repaired into a program libpcap 1.10 runs deterministically (known opcodes, forward jumps,
//   memory slots < 16, no constant division by 0 or shift by 32, RET at the end, scratch memory
//   stored before the body): both interpreters must return the same value.
//
// Built with clang from src/filter/cbpf_interpreter.cpp alone plus libpcap (tests/CMakeLists.txt),
// run by the ctest `filter_fuzz` (label fuzz).
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "filter/cbpf_interpreter.h"

namespace {

using namespace xcap::cbpf;
using xcap::CbpfInsn;
using xcap::CbpfInterpreter;

void require(bool ok) {
  if (!ok) std::abort();
}

std::vector<bpf_insn> to_pcap(const std::vector<CbpfInsn>& prog) {
  std::vector<bpf_insn> out;
  for (const CbpfInsn& i : prog) out.push_back(bpf_insn{i.code, i.jt, i.jf, i.k});
  return out;
}

std::vector<CbpfInsn> repaired(const std::vector<CbpfInsn>& raw) {
  std::vector<CbpfInsn> prog;
  for (uint32_t m = 0; m < kMemWords; ++m) {
    prog.push_back(stmt(kLd | kImm, m * 0x01010101u));
    prog.push_back(stmt(kSt, m));
  }
  const size_t n = prog.size() + raw.size() + 1;
  for (CbpfInsn in : raw) {
    const size_t i = prog.size();
    const uint32_t room = uint32_t(n - 1 - (i + 1));  // instructions after the next one
    in.code = kAllOpcodes[in.code % kAllOpcodes.size()];
    switch (in.code) {
      case kLd | kMem:
      case kLdx | kMem:
      case kSt:
      case kStx:
        in.k %= kMemWords;
        break;
      case kAlu | kDiv | kK:
      case kAlu | kMod | kK:
        if (in.k == 0) in.k = 1;
        break;
      case kAlu | kLsh | kK:
      case kAlu | kRsh | kK:
        in.k %= 32;
        break;
      case kJmp | kJa:
        in.k %= room + 1;
        break;
      default:
        if ((in.code & 0x07) == kJmp) {
          in.jt = uint8_t(in.jt % (std::min<uint32_t>(room, 255) + 1));
          in.jf = uint8_t(in.jf % (std::min<uint32_t>(room, 255) + 1));
        }
        break;
    }
    prog.push_back(in);
  }
  prog.push_back(stmt(kRet | kRetA, 0));
  return prog;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const uint8_t selector = data[0];
  const size_t count = 1 + data[1] % 48;
  data += 2, size -= 2;
  std::vector<CbpfInsn> raw(count);
  for (size_t i = 0; i < count && size >= 8; ++i, data += 8, size -= 8) {
    std::memcpy(&raw[i].code, data, 2);
    raw[i].jt = data[2], raw[i].jf = data[3];
    std::memcpy(&raw[i].k, data + 4, 4);
  }
  // The packet in a buffer of its exact size, so ASan reports any read past it.
  const std::vector<uint8_t> pkt(data, data + size);
  const auto caplen = uint32_t(pkt.size());
  const uint32_t wire_len = (selector & 1) ? caplen + selector * 7u : caplen;

  // As it is: the validator only. libpcap 1.10 leaves scratch memory uninitialised and may
  // loop forever on a backward jump, so such programs are not run against it.
  if (CbpfInterpreter::create(raw).ok()) {
    const std::vector<bpf_insn> p = to_pcap(raw);
    require(bpf_validate(p.data(), int(p.size())) != 0);
  }

  // Repaired: both interpreters, same answer.
  const std::vector<CbpfInsn> prog = repaired(raw);
  const std::vector<bpf_insn> p = to_pcap(prog);
  require(bpf_validate(p.data(), int(p.size())) != 0);
  auto interp = CbpfInterpreter::create(prog);
  require(interp.ok());
  require(interp->run(pkt.data(), caplen, wire_len) ==
          bpf_filter(p.data(), pkt.data(), wire_len, caplen));
  return 0;
}
