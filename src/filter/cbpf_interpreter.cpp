// The decoder and the direct-threaded interpreter behind CbpfInterpreter (see the header for
// why and for the semantics). Each handler below mirrors one case of libpcap's bpf_filter.c.
#include "filter/cbpf_interpreter.h"

#include "common/byte_order.h"

#include <cstdio>
#include <cstring>
#include <limits>
#include <string>

#if !defined(__GNUC__)
#error "CbpfInterpreter needs computed goto (GCC or Clang)"
#endif

// Label addresses taken in a function are only stable if the function is neither inlined nor
// cloned (GCC manual, "Labels as Values"): exec() hands its table to create() in one call and
// uses it in the next, so both must be the same copy.
//
// GCC's cross-jumping and tail merging would also fold the identical ends of the handlers (the
// "pick the next Op and jump to it" of every conditional jump) into one shared indirect jump,
// which undoes direct threading: one jump site again has to predict every successor.
#if defined(__clang__)
#define XCAP_ONE_COPY __attribute__((noinline))
#else
#define XCAP_ONE_COPY \
  __attribute__((noinline, noclone, optimize("no-crossjumping", "no-tree-tail-merge")))
#endif

namespace xcap {

namespace {

using namespace cbpf;

// Every handler of exec(), in table order. Fused handlers are a load (ABS or IND, of a word,
// half-word or byte) followed by a conditional jump on a constant.
// clang-format off
#define XCAP_CBPF_FUSED(X, mode)                                                \
  X(mode##WJeq) X(mode##WJgt) X(mode##WJge) X(mode##WJset)                      \
  X(mode##HJeq) X(mode##HJgt) X(mode##HJge) X(mode##HJset)                      \
  X(mode##BJeq) X(mode##BJgt) X(mode##BJge) X(mode##BJset)
#define XCAP_CBPF_HANDLERS(X)                                                   \
  X(RetK) X(RetA)                                                               \
  X(LdAbsW) X(LdAbsH) X(LdAbsB) X(LdIndW) X(LdIndH) X(LdIndB)                   \
  X(LdLen) X(LdxLen) X(LdxMsh) X(LdImm) X(LdxImm) X(LdMem) X(LdxMem) X(St) X(Stx) \
  X(Ja) X(JaBack) X(JeqK) X(JgtK) X(JgeK) X(JsetK) X(JeqX) X(JgtX) X(JgeX) X(JsetX) \
  X(AddK) X(SubK) X(MulK) X(DivK) X(ModK) X(AndK) X(OrK) X(XorK) X(LshK) X(RshK) \
  X(AddX) X(SubX) X(MulX) X(DivX) X(ModX) X(AndX) X(OrX) X(XorX) X(LshX) X(RshX) \
  X(Neg) X(Tax) X(Txa)                                                          \
  XCAP_CBPF_FUSED(X, Abs) XCAP_CBPF_FUSED(X, Ind)
// clang-format on

enum class H : uint8_t {
#define XCAP_ENUM(name) name,
  XCAP_CBPF_HANDLERS(XCAP_ENUM)
#undef XCAP_ENUM
};

// The handler of a single, unfused instruction; false for a code libpcap does not run.
bool plain_handler(uint16_t code, H& h) {
  switch (code) {
    // clang-format off
    case kRet | kK: h = H::RetK; return true;
    case kRet | kRetA: h = H::RetA; return true;
    case kLd | kW | kAbs: h = H::LdAbsW; return true;
    case kLd | kH | kAbs: h = H::LdAbsH; return true;
    case kLd | kB | kAbs: h = H::LdAbsB; return true;
    case kLd | kW | kInd: h = H::LdIndW; return true;
    case kLd | kH | kInd: h = H::LdIndH; return true;
    case kLd | kB | kInd: h = H::LdIndB; return true;
    case kLd | kW | kLen: h = H::LdLen; return true;
    case kLdx | kW | kLen: h = H::LdxLen; return true;
    case kLdx | kB | kMsh: h = H::LdxMsh; return true;
    case kLd | kImm: h = H::LdImm; return true;
    case kLdx | kImm: h = H::LdxImm; return true;
    case kLd | kMem: h = H::LdMem; return true;
    case kLdx | kMem: h = H::LdxMem; return true;
    case kSt: h = H::St; return true;
    case kStx: h = H::Stx; return true;
    case kJmp | kJa: h = H::Ja; return true;
    case kJmp | kJeq | kK: h = H::JeqK; return true;
    case kJmp | kJgt | kK: h = H::JgtK; return true;
    case kJmp | kJge | kK: h = H::JgeK; return true;
    case kJmp | kJset | kK: h = H::JsetK; return true;
    case kJmp | kJeq | kX: h = H::JeqX; return true;
    case kJmp | kJgt | kX: h = H::JgtX; return true;
    case kJmp | kJge | kX: h = H::JgeX; return true;
    case kJmp | kJset | kX: h = H::JsetX; return true;
    case kAlu | kAdd | kK: h = H::AddK; return true;
    case kAlu | kSub | kK: h = H::SubK; return true;
    case kAlu | kMul | kK: h = H::MulK; return true;
    case kAlu | kDiv | kK: h = H::DivK; return true;
    case kAlu | kMod | kK: h = H::ModK; return true;
    case kAlu | kAnd | kK: h = H::AndK; return true;
    case kAlu | kOr | kK: h = H::OrK; return true;
    case kAlu | kXor | kK: h = H::XorK; return true;
    case kAlu | kLsh | kK: h = H::LshK; return true;
    case kAlu | kRsh | kK: h = H::RshK; return true;
    case kAlu | kAdd | kX: h = H::AddX; return true;
    case kAlu | kSub | kX: h = H::SubX; return true;
    case kAlu | kMul | kX: h = H::MulX; return true;
    case kAlu | kDiv | kX: h = H::DivX; return true;
    case kAlu | kMod | kX: h = H::ModX; return true;
    case kAlu | kAnd | kX: h = H::AndX; return true;
    case kAlu | kOr | kX: h = H::OrX; return true;
    case kAlu | kXor | kX: h = H::XorX; return true;
    case kAlu | kLsh | kX: h = H::LshX; return true;
    case kAlu | kRsh | kX: h = H::RshX; return true;
    case kAlu | kNeg: h = H::Neg; return true;
    case kMisc | kTax: h = H::Tax; return true;
    case kMisc | kTxa: h = H::Txa; return true;
      // clang-format on
  }
  return false;
}

bool is_cond_jump(uint16_t code) {
  return (code & 0x07) == kJmp && (code & 0xf0) != kJa;
}

// The fused handler for a packet load followed by a conditional jump on a constant.
H fused_handler(uint16_t load, uint16_t jump) {
  const unsigned size = (load & 0x18) == kW ? 0 : (load & 0x18) == kH ? 1 : 2;
  const unsigned op = (jump & 0xf0) == kJeq   ? 0
                      : (jump & 0xf0) == kJgt ? 1
                      : (jump & 0xf0) == kJge ? 2
                                              : 3;
  const H first = (load & 0xe0) == kAbs ? H::AbsWJeq : H::IndWJeq;
  return H(unsigned(first) + size * 4 + op);
}

Error insn_error(size_t i, const CbpfInsn& insn, const std::string& what) {
  char code[8];
  std::snprintf(code, sizeof code, "0x%02x", insn.code);
  return invalid_input("cBPF instruction " + std::to_string(i) + " (code " + code + "): " + what);
}

// What bpf_validate checks of instruction i (and constant shifts < 32); marks in target the
// instructions it jumps to.
Result<void> check_insn(std::span<const CbpfInsn> prog, size_t i, std::vector<bool>& target) {
  const size_t n = prog.size();
  const CbpfInsn& in = prog[i];
  H h;
  if (!plain_handler(in.code, h)) return insn_error(i, in, "unknown opcode");
  switch (h) {
    case H::LdMem:
    case H::LdxMem:
    case H::St:
    case H::Stx:
      if (in.k >= kMemWords) return insn_error(i, in, "scratch memory slot out of range");
      break;
    case H::DivK:
    case H::ModK:
      if (in.k == 0) return insn_error(i, in, "division by the constant 0");
      break;
    case H::LshK:
    case H::RshK:
      if (in.k >= 32) return insn_error(i, in, "constant shift by 32 or more");
      break;
    case H::Ja: {
      const int64_t to = int64_t(i) + 1 + int32_t(in.k);
      if (to < 0 || to >= int64_t(n)) return insn_error(i, in, "jump outside the program");
      target[size_t(to)] = true;
      break;
    }
    default:
      if (is_cond_jump(in.code)) {
        if (i + 1 + in.jt >= n || i + 1 + in.jf >= n)
          return insn_error(i, in, "jump past the end of the program");
        target[i + 1 + in.jt] = true;
        target[i + 1 + in.jf] = true;
      }
      break;
  }
  return ok();
}

// Validates the program and says which instructions are jumped to: a jump that is a target
// cannot be fused with the load before it, since A would then come from elsewhere.
Result<std::vector<bool>> jump_targets(std::span<const CbpfInsn> prog) {
  const size_t n = prog.size();
  if (n == 0) return invalid_input("cBPF program is empty");
  if (n > CbpfInterpreter::kMaxInstructions)
    return invalid_input("cBPF program has " + std::to_string(n) + " instructions, more than " +
                         std::to_string(CbpfInterpreter::kMaxInstructions));
  std::vector<bool> target(n, false);
  for (size_t i = 0; i < n; ++i)
    if (Result<void> r = check_insn(prog, i, target); !r) return r.error();
  if ((prog[n - 1].code & 0x07) != kRet)
    return insn_error(n - 1, prog[n - 1], "the program does not end in RET");
  return target;
}

// Decodes valid instruction i into op, its jumps still counted in Ops, and returns its
// handler. A packet load followed by a conditional jump on a constant that nothing else jumps
// to becomes one fused Op.
H decode(std::span<const CbpfInsn> prog, size_t i, const std::vector<bool>& target,
         CbpfInterpreter::Op& op) {
  const size_t n = prog.size();
  const CbpfInsn& in = prog[i];
  H h;
  plain_handler(in.code, h);
  op = CbpfInterpreter::Op{nullptr, in.k, 0, 1, 1};
  if (is_cond_jump(in.code)) {
    op.jt = 1 + in.jt;
    op.jf = 1 + in.jf;
  } else if (h == H::Ja) {
    op.jt = 1 + int32_t(in.k);
    // A jump to itself loops forever in libpcap 1.10; master returns 0.
    if (op.jt == 0) h = H::RetK, op.k = 0;
    if (op.jt < 0) h = H::JaBack;
  }
  // An absolute load past 4 GiB can never be in the packet: it always rejects, and after
  // this the handlers may compute k + size without overflow.
  if ((h == H::LdAbsW || h == H::LdAbsH || h == H::LdAbsB) &&
      in.k > std::numeric_limits<uint32_t>::max() - load_size(in.code)) {
    h = H::RetK, op.k = 0;
  } else if (is_packet_load_to_a(in.code) && i + 1 < n && !target[i + 1] &&
             is_cond_jump(prog[i + 1].code) && (prog[i + 1].code & 0x08) == kK) {
    // The fused Op stands in for both; the jump's own Op stays, unreachable.
    const CbpfInsn& j = prog[i + 1];
    h = fused_handler(in.code, j.code);
    op.k2 = j.k;
    op.jt = 2 + j.jt;
    op.jf = 2 + j.jf;
  }
  return h;
}

// The fused handlers come last in XCAP_CBPF_HANDLERS.
bool is_fused(H h) {
  return h >= H::AbsWJeq;
}

}  // namespace

// Op's jump offsets are bytes in an int32_t.
static_assert(CbpfInterpreter::kMaxInstructions * sizeof(CbpfInterpreter::Op) <
              size_t(std::numeric_limits<int32_t>::max()));

Result<CbpfInterpreter> CbpfInterpreter::create(std::span<const CbpfInsn> prog) {
  Result<std::vector<bool>> target = jump_targets(prog);
  if (!target) return target.error();

  const void* const* labels = nullptr;
  exec(nullptr, nullptr, 0, 0, &labels);

  CbpfInterpreter interp;
  interp.ops_.resize(prog.size());
  for (size_t i = 0; i < prog.size(); ++i) {
    Op& op = interp.ops_[i];
    const H h = decode(prog, i, *target, op);
    if (is_fused(h)) ++interp.fused_;
    op.handler = labels[unsigned(h)];
    op.jt *= int32_t(sizeof(Op));
    op.jf *= int32_t(sizeof(Op));
  }
  return interp;
}

XCAP_ONE_COPY uint32_t CbpfInterpreter::exec(const Op* pc, const uint8_t* p, uint32_t caplen,
                                             uint32_t wire_len, const void* const** labels) {
  static const void* const kTable[] = {
#define XCAP_LABEL(name) &&L_##name,
      XCAP_CBPF_HANDLERS(XCAP_LABEL)
#undef XCAP_LABEL
  };
  if (labels != nullptr) [[unlikely]] {
    *labels = kTable;
    return 0;
  }

  uint32_t A = 0, X = 0, backward = 0;
  uint32_t mem[kMemWords] = {};

#define DISPATCH() goto * pc->handler
#define NEXT()  \
  do {          \
    ++pc;       \
    DISPATCH(); \
  } while (0)
// Jump offsets are in bytes (see Op), which spares scaling them by sizeof(Op) on every jump.
#define JUMP_BY(bytes) pc = reinterpret_cast<const Op*>(reinterpret_cast<const char*>(pc) + (bytes))
#define BRANCH(cond)                   \
  do {                                 \
    JUMP_BY((cond) ? pc->jt : pc->jf); \
    DISPATCH();                        \
  } while (0)
// Absolute loads: create() guarantees k + size does not overflow.
#define ABS_LOAD(size, load)               \
  do {                                     \
    if (pc->k + (size) > caplen) return 0; \
    A = load(p + pc->k);                   \
  } while (0)
// Indexed loads: X + k is computed in 64 bits, so an overflowing sum is out of bounds, as in
// libpcap's three-part check.
#define IND_LOAD(size, load)                  \
  do {                                        \
    const uint64_t off = uint64_t(X) + pc->k; \
    if (off + (size) > caplen) return 0;      \
    A = load(p + off);                        \
  } while (0)
#define LOAD8(q) uint32_t(*(q))
#define FUSED(mode, LOADER, sz, size, load) \
  L_##mode##sz##Jeq : LOADER(size, load);   \
  BRANCH(A == pc->k2);                      \
  L_##mode##sz##Jgt : LOADER(size, load);   \
  BRANCH(A > pc->k2);                       \
  L_##mode##sz##Jge : LOADER(size, load);   \
  BRANCH(A >= pc->k2);                      \
  L_##mode##sz##Jset : LOADER(size, load);  \
  BRANCH((A & pc->k2) != 0);

  DISPATCH();

L_RetK:
  return pc->k;
L_RetA:
  return A;
L_LdAbsW:
  ABS_LOAD(4, load_be32);
  NEXT();
L_LdAbsH:
  ABS_LOAD(2, load_be16);
  NEXT();
L_LdAbsB:
  ABS_LOAD(1, LOAD8);
  NEXT();
L_LdIndW:
  IND_LOAD(4, load_be32);
  NEXT();
L_LdIndH:
  IND_LOAD(2, load_be16);
  NEXT();
L_LdIndB:
  IND_LOAD(1, LOAD8);
  NEXT();
L_LdLen:
  A = wire_len;
  NEXT();
L_LdxLen:
  X = wire_len;
  NEXT();
L_LdxMsh:
  if (pc->k >= caplen) return 0;
  X = uint32_t(p[pc->k] & 0xf) << 2;
  NEXT();
L_LdImm:
  A = pc->k;
  NEXT();
L_LdxImm:
  X = pc->k;
  NEXT();
L_LdMem:
  A = mem[pc->k];
  NEXT();
L_LdxMem:
  X = mem[pc->k];
  NEXT();
L_St:
  mem[pc->k] = A;
  NEXT();
L_Stx:
  mem[pc->k] = X;
  NEXT();
L_Ja:
  JUMP_BY(pc->jt);
  DISPATCH();
L_JaBack:
  // libpcap's protochain walks IPv6 extension headers with a backward jump; bounding the
  // walk keeps a crafted program (or packet) from holding a worker forever.
  if (++backward > kMaxBackwardJumps) return 0;
  JUMP_BY(pc->jt);
  DISPATCH();
L_JeqK:
  BRANCH(A == pc->k);
L_JgtK:
  BRANCH(A > pc->k);
L_JgeK:
  BRANCH(A >= pc->k);
L_JsetK:
  BRANCH((A & pc->k) != 0);
L_JeqX:
  BRANCH(A == X);
L_JgtX:
  BRANCH(A > X);
L_JgeX:
  BRANCH(A >= X);
L_JsetX:
  BRANCH((A & X) != 0);
L_AddK:
  A += pc->k;
  NEXT();
L_SubK:
  A -= pc->k;
  NEXT();
L_MulK:
  A *= pc->k;
  NEXT();
L_DivK:
  A /= pc->k;  // create() refused k == 0
  NEXT();
L_ModK:
  A %= pc->k;
  NEXT();
L_AndK:
  A &= pc->k;
  NEXT();
L_OrK:
  A |= pc->k;
  NEXT();
L_XorK:
  A ^= pc->k;
  NEXT();
L_LshK:
  A <<= pc->k;  // create() refused k >= 32
  NEXT();
L_RshK:
  A >>= pc->k;
  NEXT();
L_AddX:
  A += X;
  NEXT();
L_SubX:
  A -= X;
  NEXT();
L_MulX:
  A *= X;
  NEXT();
L_DivX:
  if (X == 0) return 0;
  A /= X;
  NEXT();
L_ModX:
  if (X == 0) return 0;
  A %= X;
  NEXT();
L_AndX:
  A &= X;
  NEXT();
L_OrX:
  A |= X;
  NEXT();
L_XorX:
  A ^= X;
  NEXT();
L_LshX:
  A = X < 32 ? A << X : 0;
  NEXT();
L_RshX:
  A = X < 32 ? A >> X : 0;
  NEXT();
L_Neg:
  A = 0u - A;
  NEXT();
L_Tax:
  X = A;
  NEXT();
L_Txa:
  A = X;
  NEXT();

  FUSED(Abs, ABS_LOAD, W, 4, load_be32)
  FUSED(Abs, ABS_LOAD, H, 2, load_be16)
  FUSED(Abs, ABS_LOAD, B, 1, LOAD8)
  FUSED(Ind, IND_LOAD, W, 4, load_be32)
  FUSED(Ind, IND_LOAD, H, 2, load_be16)
  FUSED(Ind, IND_LOAD, B, 1, LOAD8)

#undef DISPATCH
#undef NEXT
#undef BRANCH
#undef JUMP_BY
#undef ABS_LOAD
#undef IND_LOAD
#undef LOAD8
#undef FUSED
}

}  // namespace xcap
