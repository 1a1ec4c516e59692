// RandomCbpf: random valid classic BPF programs, and random packets to run them on, for the
// differential tests of the filter's evaluators (tests/unit/filter_interpreter_test.cpp against
// libpcap, tests/bpf/xdp_filter_test.cpp against the XDP translation). Every program passes
// libpcap's bpf_validate and CbpfInterpreter::create: known opcodes, jumps inside the program,
// memory slots < 16, no constant division by 0 or shift by 32 or more, RET at the end.
//
// Declared without <pcap/pcap.h>, so the BPF tests (which include <linux/bpf.h>) can use it.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "filter/cbpf_insn.h"

namespace xcap::test {

struct RandomCbpfOptions {
  // Fill the 16 scratch memory words before the body. libpcap 1.10 leaves them uninitialised,
  // so only such programs can be compared with it (CbpfInterpreter and the XDP translation
  // start them at 0).
  bool store_memory = true;
  // Loads of the wire length (LEN) among the opcodes: the XDP translation refuses them.
  bool len_loads = true;
  // Backward JAs (loops), one in three: libpcap 1.10 does not bound them, CbpfInterpreter does.
  bool backward_jumps = false;
};

class RandomCbpf {
 public:
  explicit RandomCbpf(uint64_t seed) : rng_(seed) {}

  // Uniform in [0, n).
  uint32_t below(uint32_t n) { return uint32_t(rng_() % n); }

  // Constants biased towards edges: small numbers (offsets, shifts), 16- and 32-bit
  // boundaries, EtherTypes, anything.
  uint32_t constant();

  // 16 scratch stores (if asked), A and X set, 1 to 40 random instructions, RET A or RET #k.
  std::vector<CbpfInsn> program(const RandomCbpfOptions& options = {});

  // min_size bytes and 0 to 89 more (0 to 7 one time in four), biased towards small values.
  std::vector<uint8_t> packet(uint32_t min_size = 0);

 private:
  std::mt19937_64 rng_;
};

// prog one instruction a line, as libpcap's bpf_image writes it ("(003) jeq #0x800 jt 4 jf 5"),
// for failure messages.
std::string cbpf_listing(const std::vector<CbpfInsn>& prog);

}  // namespace xcap::test
