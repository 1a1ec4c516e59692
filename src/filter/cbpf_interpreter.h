// CbpfInterpreter: runs a classic BPF program on a packet, with libpcap's semantics, two to three
// times faster than libpcap's bpf_filter (bench/filter_bench.cpp has the numbers).
//
// Why not bpf_filter? It decodes every instruction on every packet through one switch, so the
// CPU has a single indirect branch to predict for the whole program. Here the program is
// decoded once (create): each instruction becomes an Op holding the address of its handler
// and its operands, pre-checked; handlers jump straight to the next handler (direct
// threading, GCC/Clang computed goto), so each has its own well-predicted branch. A load
// followed by a conditional jump on a constant (`ldh [12]; jeq #0x800`), the bulk of what
// libpcap emits, becomes one fused Op when nothing else jumps to the jump.
//
// Semantics are libpcap's (bpf_filter.c), checked instruction by instruction against it by
// tests/unit/filter_interpreter_test.cpp and filter_differential_test.cpp:
// - A, X and the 16 scratch words start at 0; arithmetic is 32-bit unsigned, wrapping.
// - Loads are big-endian. A load that does not fit in the captured bytes ends the program
//   with 0 (reject), also for indexed loads whose X + k overflows 32 bits.
// - `len` (BPF_LEN) is the wire length; packet bounds are the captured length.
// - Division or modulo by X == 0 returns 0; shifts by X >= 32 give 0.
// - Jumps are relative to the next instruction; JA takes a signed offset, so backward jumps
//   (libpcap's `protochain` loops) work.
// Where libpcap 1.10 is undefined or can hang, this follows libpcap's current master: create()
// refuses constant shifts by 32 or more; a JA to itself returns 0, and so does a 65th backward
// jump on one packet (an IPv6 packet with more than 64 extension headers does not match
// `protochain`, where libpcap 1.10 would walk them all).
//
// run() allocates nothing, takes no lock and may be called from any number of threads at once.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "common/result.h"
#include "filter/cbpf_insn.h"

namespace xcap {

class CbpfInterpreter {
 public:
  // Programs longer than this are refused (libpcap's optimizer stays far below it).
  static constexpr size_t kMaxInstructions = 1 << 20;
  // Backward jumps allowed per packet (libpcap master's MAX_BACKWARD_JUMPS).
  static constexpr uint32_t kMaxBackwardJumps = 64;

  // Checks what libpcap's bpf_validate checks (known opcodes, jumps inside the program, memory
  // slots < 16, no constant division by 0, a RET at the end) plus constant shifts < 32, and
  // decodes the program. The error names the offending instruction.
  static Result<CbpfInterpreter> create(std::span<const CbpfInsn> program);

  // The program's return value: 0 rejects the packet; anything else accepts it (libpcap
  // returns the snap length). caplen bytes at pkt are readable; wire_len is the length of the
  // packet on the wire.
  uint32_t run(const uint8_t* pkt, uint32_t caplen, uint32_t wire_len) const {
    return exec(ops_.data(), pkt, caplen, wire_len, nullptr);
  }

  size_t size() const { return ops_.size(); }
  // Ops that carry a load and the jump after it (for tests and the benchmark's report).
  size_t fused() const { return fused_; }

  // One decoded instruction. Jump targets are relative to the Op itself, so the vector can be
  // copied or moved freely, and counted in bytes, so a jump adds them to the Op's address.
  struct Op {
    const void* handler;  // label inside exec(): where the interpreter goes to run this Op
    uint32_t k;           // load offset, immediate, memory slot or jump constant
    uint32_t k2;          // fused load and jump: the jump's constant
    int32_t jt;           // jumps: bytes to the next Op if the condition holds (JA: always)
    int32_t jf;           // conditional jumps: bytes to the next Op if it does not
  };

 private:
  CbpfInterpreter() = default;

  // The interpreter proper. With labels != nullptr it only stores its handler table there:
  // label addresses exist only inside the function that holds the labels.
  static uint32_t exec(const Op* ops, const uint8_t* p, uint32_t caplen, uint32_t wire_len,
                       const void* const** labels);

  std::vector<Op> ops_;
  size_t fused_ = 0;
};

}  // namespace xcap
