// CbpfInterpreter against libpcap's own interpreter (bpf_filter): hand-written programs for
// each corner of the semantics, then 20,000 random valid programs on random packets, whose
// return values must be equal, not only their verdicts.
#include "filter/cbpf_interpreter.h"

#include "common/random_cbpf.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <random>
#include <string>
#include <vector>

namespace xcap {
namespace {

using namespace cbpf;

std::vector<bpf_insn> to_pcap(const std::vector<CbpfInsn>& prog) {
  std::vector<bpf_insn> out;
  for (const CbpfInsn& i : prog) out.push_back(bpf_insn{i.code, i.jt, i.jf, i.k});
  return out;
}

uint32_t libpcap_run(const std::vector<CbpfInsn>& prog, const std::vector<uint8_t>& pkt,
                     uint32_t wire_len) {
  const std::vector<bpf_insn> p = to_pcap(prog);
  return bpf_filter(p.data(), pkt.data(), wire_len, u_int(pkt.size()));
}

uint32_t xcap_run(const std::vector<CbpfInsn>& prog, const std::vector<uint8_t>& pkt,
                  uint32_t wire_len) {
  Result<CbpfInterpreter> interp = CbpfInterpreter::create(prog);
  EXPECT_TRUE(interp.ok()) << interp.error().message;
  if (!interp.ok()) return 0xdeadbeef;
  return interp->run(pkt.data(), uint32_t(pkt.size()), wire_len);
}

// Runs prog on pkt with both interpreters, expects both to return want.
void expect_both(const std::vector<CbpfInsn>& prog, const std::vector<uint8_t>& pkt,
                 uint32_t wire_len, uint32_t want) {
  EXPECT_EQ(libpcap_run(prog, pkt, wire_len), want) << "libpcap";
  EXPECT_EQ(xcap_run(prog, pkt, wire_len), want) << "xcap";
}

const std::vector<uint8_t> kPkt = {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x45, 0x01};

TEST(CbpfInterpreter, LoadsAreBigEndianWithinCaplen) {
  expect_both({stmt(kLd | kW | kAbs, 0), stmt(kRet | kRetA, 0)}, kPkt, 10, 0x12345678);
  expect_both({stmt(kLd | kH | kAbs, 8), stmt(kRet | kRetA, 0)}, kPkt, 10, 0x4501);
  expect_both({stmt(kLd | kB | kAbs, 9), stmt(kRet | kRetA, 0)}, kPkt, 10, 0x01);
  // One byte past the capture rejects, even though the wire length says it exists.
  expect_both({stmt(kLd | kW | kAbs, 7), stmt(kRet | kK, 7)}, kPkt, 100, 0);
  expect_both({stmt(kLd | kH | kAbs, 9), stmt(kRet | kK, 7)}, kPkt, 100, 0);
  expect_both({stmt(kLd | kB | kAbs, 10), stmt(kRet | kK, 7)}, kPkt, 100, 0);
  expect_both({stmt(kLd | kW | kAbs, 0xfffffffe), stmt(kRet | kK, 7)}, kPkt, 10, 0);
  expect_both({stmt(kLd | kB | kAbs, 0xffffffff), stmt(kRet | kK, 7)}, kPkt, 10, 0);
}

TEST(CbpfInterpreter, IndexedLoadsRejectOverflowingOffsets) {
  expect_both({stmt(kLdx | kImm, 2), stmt(kLd | kH | kInd, 6), stmt(kRet | kRetA, 0)}, kPkt, 10,
              0x4501);
  expect_both({stmt(kLdx | kImm, 3), stmt(kLd | kH | kInd, 6), stmt(kRet | kK, 1)}, kPkt, 10, 0);
  // X + k wraps around to 1 in 32 bits: libpcap refuses it, so must we.
  expect_both({stmt(kLdx | kImm, 0xffffffff), stmt(kLd | kB | kInd, 2), stmt(kRet | kK, 1)}, kPkt,
              10, 0);
  expect_both({stmt(kLdx | kImm, 2), stmt(kLd | kW | kInd, 0xffffffff), stmt(kRet | kK, 1)}, kPkt,
              10, 0);
  // ldxb 4*([8]&0xf): 0x45 gives 20.
  expect_both({stmt(kLdx | kB | kMsh, 8), stmt(kMisc | kTxa, 0), stmt(kRet | kRetA, 0)}, kPkt, 10,
              20);
  expect_both({stmt(kLdx | kB | kMsh, 10), stmt(kRet | kK, 1)}, kPkt, 10, 0);
}

TEST(CbpfInterpreter, LenIsTheWireLength) {
  expect_both({stmt(kLd | kW | kLen, 0), stmt(kRet | kRetA, 0)}, kPkt, 1514, 1514);
  expect_both({stmt(kLdx | kW | kLen, 0), stmt(kMisc | kTxa, 0), stmt(kRet | kRetA, 0)}, kPkt, 99,
              99);
}

TEST(CbpfInterpreter, ArithmeticWrapsAndDivisionByZeroRejects) {
  auto alu = [](uint16_t op, uint32_t a, uint32_t x) {
    return std::vector<CbpfInsn>{stmt(kLd | kImm, a), stmt(kLdx | kImm, x), stmt(kAlu | op | kX, 0),
                                 stmt(kRet | kRetA, 0)};
  };
  expect_both(alu(kAdd, 0xffffffff, 2), kPkt, 10, 1);
  expect_both(alu(kSub, 1, 2), kPkt, 10, 0xffffffff);
  expect_both(alu(kMul, 0x10000, 0x10001), kPkt, 10, 0x10000);
  expect_both(alu(kDiv, 100, 7), kPkt, 10, 14);
  expect_both(alu(kMod, 100, 7), kPkt, 10, 2);
  expect_both(alu(kDiv, 100, 0), kPkt, 10, 0);
  expect_both(alu(kMod, 100, 0), kPkt, 10, 0);
  expect_both(alu(kXor, 0xff00, 0x0ff0), kPkt, 10, 0xf0f0);
  expect_both(alu(kLsh, 3, 31), kPkt, 10, 0x80000000);
  expect_both(alu(kLsh, 3, 32), kPkt, 10, 0);
  expect_both(alu(kRsh, 0x80000000, 31), kPkt, 10, 1);
  expect_both(alu(kRsh, 0x80000000, 40), kPkt, 10, 0);
  expect_both({stmt(kLd | kImm, 1), stmt(kAlu | kNeg, 0), stmt(kRet | kRetA, 0)}, kPkt, 10,
              0xffffffff);
  expect_both({stmt(kLd | kImm, 0x80000000), stmt(kAlu | kNeg, 0), stmt(kRet | kRetA, 0)}, kPkt, 10,
              0x80000000);
}

TEST(CbpfInterpreter, ScratchMemoryStartsAtZero) {
  EXPECT_EQ(xcap_run({stmt(kLd | kMem, 5), stmt(kRet | kRetA, 0)}, kPkt, 10), 0u);
  expect_both({stmt(kLd | kImm, 7), stmt(kSt, 15), stmt(kLdx | kMem, 15), stmt(kMisc | kTxa, 0),
               stmt(kRet | kRetA, 0)},
              kPkt, 10, 7);
}

TEST(CbpfInterpreter, FusedLoadAndJumpKeepsA) {
  // ldh [8]; jeq #0x4501 → ret A: the fused Op must still leave A loaded.
  const std::vector<CbpfInsn> prog = {stmt(kLd | kH | kAbs, 8),
                                      jump(kJmp | kJeq | kK, 0x4501, 0, 1), stmt(kRet | kRetA, 0),
                                      stmt(kRet | kK, 1)};
  expect_both(prog, kPkt, 10, 0x4501);
  Result<CbpfInterpreter> interp = CbpfInterpreter::create(prog);
  ASSERT_TRUE(interp.ok());
  EXPECT_EQ(interp->fused(), 1u);
}

TEST(CbpfInterpreter, JumpTargetIsNotFusedWithTheLoadBeforeIt) {
  // 0: ld #0x4501; 1: jeq #0x4501 → 3; 2: ldh [0]; 3: jeq #0x4501 → ret 1 / ret 2.
  // Instruction 3 is reached from 1 with A from the immediate: fusing 2 and 3 would be wrong.
  const std::vector<CbpfInsn> prog = {
      stmt(kLd | kImm, 0x4501), jump(kJmp | kJeq | kK, 0x4501, 1, 0),
      stmt(kLd | kH | kAbs, 0), jump(kJmp | kJeq | kK, 0x4501, 0, 1),
      stmt(kRet | kK, 1),       stmt(kRet | kK, 2)};
  expect_both(prog, kPkt, 10, 1);
  Result<CbpfInterpreter> interp = CbpfInterpreter::create(prog);
  ASSERT_TRUE(interp.ok());
  EXPECT_EQ(interp->fused(), 0u);
}

// ldx #n; loop: txa; jeq #0 → out; sub #1; tax; ja loop; out: ret #1000
std::vector<CbpfInsn> countdown(uint32_t n) {
  return {stmt(kLdx | kImm, n),      stmt(kMisc | kTxa, 0), jump(kJmp | kJeq | kK, 0, 3, 0),
          stmt(kAlu | kSub | kK, 1), stmt(kMisc | kTax, 0), stmt(kJmp | kJa, uint32_t(-5)),
          stmt(kRet | kK, 1000)};
}

TEST(CbpfInterpreter, BackwardJumpsAreBounded) {
  // libpcap's protochain loops backward; up to 64 backward jumps per packet run as in libpcap.
  expect_both(countdown(3), kPkt, 10, 1000);
  expect_both(countdown(CbpfInterpreter::kMaxBackwardJumps), kPkt, 10, 1000);
  // libpcap 1.10 would go on; like libpcap master, the 65th backward jump rejects.
  EXPECT_EQ(libpcap_run(countdown(CbpfInterpreter::kMaxBackwardJumps + 1), kPkt, 10), 1000u);
  EXPECT_EQ(xcap_run(countdown(CbpfInterpreter::kMaxBackwardJumps + 1), kPkt, 10), 0u);
  // A jump to itself would never end.
  EXPECT_EQ(xcap_run({stmt(kJmp | kJa, uint32_t(-1)), stmt(kRet | kK, 1)}, kPkt, 10), 0u);
}

TEST(CbpfInterpreter, CreateRefusesInvalidPrograms) {
  auto error_of = [](const std::vector<CbpfInsn>& prog) {
    Result<CbpfInterpreter> r = CbpfInterpreter::create(prog);
    return r.ok() ? std::string("(accepted)") : r.error().message;
  };
  EXPECT_EQ(error_of({}), "cBPF program is empty");
  EXPECT_EQ(error_of({stmt(0xff, 0), stmt(kRet | kK, 0)}),
            "cBPF instruction 0 (code 0xff): unknown opcode");
  EXPECT_EQ(error_of({stmt(kLd | kImm, 1)}),
            "cBPF instruction 0 (code 0x00): the program does not end in RET");
  EXPECT_EQ(error_of({stmt(kSt, 16), stmt(kRet | kK, 0)}),
            "cBPF instruction 0 (code 0x02): scratch memory slot out of range");
  EXPECT_EQ(error_of({stmt(kAlu | kDiv | kK, 0), stmt(kRet | kK, 0)}),
            "cBPF instruction 0 (code 0x34): division by the constant 0");
  EXPECT_EQ(error_of({stmt(kAlu | kMod | kK, 0), stmt(kRet | kK, 0)}),
            "cBPF instruction 0 (code 0x94): division by the constant 0");
  EXPECT_EQ(error_of({stmt(kAlu | kLsh | kK, 32), stmt(kRet | kK, 0)}),
            "cBPF instruction 0 (code 0x64): constant shift by 32 or more");
  EXPECT_EQ(error_of({jump(kJmp | kJeq | kK, 0, 1, 0), stmt(kRet | kK, 0)}),
            "cBPF instruction 0 (code 0x15): jump past the end of the program");
  EXPECT_EQ(error_of({stmt(kJmp | kJa, 1), stmt(kRet | kK, 0)}),
            "cBPF instruction 0 (code 0x05): jump outside the program");
  EXPECT_EQ(error_of({stmt(kRet | kK, 0), stmt(kJmp | kJa, uint32_t(-3))}),
            "cBPF instruction 1 (code 0x05): jump outside the program");
}

// ---- random valid programs ----------------------------------------------------------------

TEST(CbpfInterpreter, RandomProgramsMatchLibpcap) {
  test::RandomCbpf gen(20240604);
  constexpr int kPrograms = 20000, kPacketsEach = 4;
  int mismatches = 0, accepted = 0, fused = 0;
  for (int n = 0; n < kPrograms && mismatches < 10; ++n) {
    // libpcap 1.10 leaves scratch memory uninitialised: the program stores it first.
    const std::vector<CbpfInsn> prog = gen.program({.store_memory = true});
    const std::vector<bpf_insn> pp = to_pcap(prog);
    ASSERT_NE(bpf_validate(pp.data(), int(pp.size())), 0) << "generator made an invalid program";
    Result<CbpfInterpreter> interp = CbpfInterpreter::create(prog);
    ASSERT_TRUE(interp.ok()) << interp.error().message;
    fused += interp->fused() != 0;
    for (int k = 0; k < kPacketsEach; ++k) {
      const std::vector<uint8_t> pkt = gen.packet();
      const auto caplen = uint32_t(pkt.size());
      const uint32_t wire_len = gen.below(2) ? caplen : caplen + gen.below(2000);
      const uint32_t want = bpf_filter(pp.data(), pkt.data(), wire_len, caplen);
      const uint32_t got = interp->run(pkt.data(), caplen, wire_len);
      accepted += want != 0;
      if (got != want) {
        ++mismatches;
        ADD_FAILURE() << "program " << n << ", packet of " << caplen << " bytes (wire " << wire_len
                      << "): libpcap " << want << ", xcap " << got << "\n"
                      << test::cbpf_listing(prog);
      }
    }
  }
  // The generator must reach both verdicts and the fused path, or it tests little.
  EXPECT_GT(accepted, kPrograms * kPacketsEach / 10);
  EXPECT_LT(accepted, kPrograms * kPacketsEach * 9 / 10);
  EXPECT_GT(fused, kPrograms / 10);
}

TEST(CbpfInterpreter, AcceptsOnlyWhatLibpcapAccepts) {
  // Random instruction soup: whatever create() accepts, bpf_validate must accept too, so the
  // interpreter never runs a program libpcap would call invalid.
  std::mt19937_64 rng(7);
  int accepted = 0;
  for (int n = 0; n < 20000; ++n) {
    std::vector<CbpfInsn> prog(1 + rng() % 6);
    for (CbpfInsn& in : prog) {
      in.code = rng() % 4 ? kAllOpcodes[rng() % kAllOpcodes.size()] : uint16_t(rng() % 0x100);
      in.jt = uint8_t(rng() % 4), in.jf = uint8_t(rng() % 4);
      in.k = rng() % 3 ? uint32_t(rng() % 40) : uint32_t(rng());
    }
    if (!CbpfInterpreter::create(prog).ok()) continue;
    ++accepted;
    const std::vector<bpf_insn> pp = to_pcap(prog);
    EXPECT_NE(bpf_validate(pp.data(), int(pp.size())), 0) << "program " << n;
  }
  EXPECT_GT(accepted, 100);
}

}  // namespace
}  // namespace xcap
