// cBPF -> eBPF for the XDP filter (see the header for what the program does). This translation
// unit includes <linux/bpf.h> and so must never include <pcap/pcap.h>.
//
// Registers: r6 ctx, r7 A, r8 X, r9 the frame's first byte (a packet pointer), r4 data_end,
// r0 this CPU's xcap_filter_args entry, r1-r3 scratch. No helper runs between the prologue and
// the verdict. Stack: [fp-8] helper key, [fp-16-8*i] M[i], [fp-144-8*j] backward jumps taken
// to loop head j.
//
// The verifier tracks nothing through map memory, so two values live there to keep its state
// count small: the frame's caplen (args.limit, loaded afresh for each bounds check: kept in a
// register, each check would narrow it and two protochain loops would exceed the verifier's
// budget) and X + k of an indexed load (args.scratch, bounded again after the load).
//
// Backward jumps are counted per loop head (64 / heads each), not per packet as CbpfInterpreter
// does: the verifier then explores loops one after another. With one loop that is exactly the
// interpreter's rule; a packet needing more is left to the worker (undecided).
//
// Every packet load is checked against caplen (the semantics) and data_end (for the verifier);
// both fail to the reject block.
#include "filter/xdp_filter_translator.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <limits>
#include <optional>

#include "filter/cbpf_interpreter.h"
#include "xcap_abi.h"

namespace xcap {

static_assert(sizeof(EbpfInsn) == sizeof(struct bpf_insn));
static_assert(offsetof(EbpfInsn, off) == offsetof(struct bpf_insn, off));
static_assert(offsetof(EbpfInsn, imm) == offsetof(struct bpf_insn, imm));

namespace {

using namespace cbpf;

constexpr uint8_t kR0 = BPF_REG_0, kR1 = BPF_REG_1, kR2 = BPF_REG_2, kR3 = BPF_REG_3,
                  kR4 = BPF_REG_4, kR5 = BPF_REG_5, kCtx = BPF_REG_6, kA = BPF_REG_7,
                  kX = BPF_REG_8, kPkt = BPF_REG_9, kFp = BPF_REG_10;
constexpr uint8_t kDataEnd = kR4, kArgs = kR0;
constexpr int16_t kCaplenField = offsetof(xcap_filter_args, limit);

constexpr int16_t kKeySlot = -8;
constexpr int16_t mem_slot(uint32_t i) {
  return int16_t(-16 - 8 * int32_t(i));
}
constexpr int16_t back_slot(uint32_t j) {
  return mem_slot(kMemWords + j);
}
constexpr uint32_t kMaxLoopHeads = 16;  // 144 + 16 * 8 bytes of stack, below eBPF's 512

constexpr uint32_t kMaxCaplen = XCAP_FILTER_MAX_CAPLEN;
// Loads whose last byte lies past the largest frame the filter judges always reject; they are
// translated as such (k then fits the 16-bit offset of an eBPF load).
static_assert(kMaxCaplen <= 32768);

EbpfInsn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  EbpfInsn i;
  i.code = code;
  i.dst = dst & 0xf;
  i.src = src & 0xf;
  i.off = off;
  i.imm = imm;
  return i;
}
EbpfInsn alu64_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm);
}
EbpfInsn alu64_reg(uint8_t op, uint8_t dst, uint8_t src) {
  return insn(BPF_ALU64 | op | BPF_X, dst, src, 0, 0);
}
EbpfInsn alu32_imm(uint8_t op, uint8_t dst, int32_t imm) {
  return insn(BPF_ALU | op | BPF_K, dst, 0, 0, imm);
}
EbpfInsn alu32_reg(uint8_t op, uint8_t dst, uint8_t src) {
  return insn(BPF_ALU | op | BPF_X, dst, src, 0, 0);
}
EbpfInsn mov64(uint8_t dst, uint8_t src) {
  return alu64_reg(BPF_MOV, dst, src);
}
EbpfInsn ldx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_LDX | size | BPF_MEM, dst, src, off, 0);
}
EbpfInsn stx(uint8_t size, uint8_t dst, uint8_t src, int16_t off) {
  return insn(BPF_STX | size | BPF_MEM, dst, src, off, 0);
}
EbpfInsn st_imm(uint8_t size, uint8_t dst, int16_t off, int32_t imm) {
  return insn(BPF_ST | size | BPF_MEM, dst, 0, off, imm);
}
EbpfInsn call(int32_t helper) {
  return insn(BPF_JMP | BPF_CALL, 0, 0, 0, helper);
}

uint8_t ebpf_size(uint32_t bytes) {
  return bytes == 4 ? BPF_W : bytes == 2 ? BPF_H : BPF_B;
}

// A packet load that cannot succeed on any frame the filter judges: X + k + size > k + size
// > XCAP_FILTER_MAX_CAPLEN >= caplen. It ends the program like `ret #0`.
bool always_rejects(const CbpfInsn& in) {
  if (!reads_packet(in.code)) return false;
  const uint32_t size = in.code == (kLdx | kB | kMsh) ? 1 : load_size(in.code);
  return in.k > kMaxCaplen - size;
}

// The eBPF operation of a cBPF ALU operation other than NEG.
uint8_t ebpf_alu_op(uint16_t op) {
  switch (op) {
    // clang-format off
    case kAdd: return BPF_ADD;
    case kSub: return BPF_SUB;
    case kMul: return BPF_MUL;
    case kDiv: return BPF_DIV;
    case kMod: return BPF_MOD;
    case kAnd: return BPF_AND;
    case kOr: return BPF_OR;
    case kXor: return BPF_XOR;
    case kLsh: return BPF_LSH;
    case kRsh: return BPF_RSH;
      // clang-format on
  }
  return 0;
}

std::string hex(uint32_t v) {
  char b[16];
  std::snprintf(b, sizeof b, "0x%02x", v);
  return b;
}

// Labels: cBPF instruction indexes 0..n-1, then the epilogue blocks.
class Translator {
 public:
  Translator(std::span<const CbpfInsn> prog, const XdpFilterMaps& maps)
      : prog_(prog),
        maps_(maps),
        n_(uint32_t(prog.size())),
        accept_(n_),
        redirect_(n_ + 1),
        count_(n_ + 2),
        reject_(n_ + 3),
        undecided_(n_ + 4),
        oob_(maps.local_progs >= 0 ? n_ + 5 : reject_),
        pos_(n_ + 6, -1),
        used_(n_ + 6, false) {}

  Result<std::vector<EbpfInsn>> run() {
    if (Result<void> r = analyse(); !r) return r.error();
    prologue();
    for (uint32_t i = 0; i < n_; ++i) {
      if (!reach_[i]) continue;
      pos_[i] = int64_t(out_.size());
      body(i);
    }
    epilogue();
    return resolve();
  }

 private:
  // Reachable instructions (the verifier refuses unreachable code), LEN, backward jumps and
  // the scratch words in use.
  Result<void> analyse() {
    reach_.assign(n_, false);
    next_.assign(n_, n_);
    std::vector<uint32_t> todo{0};
    reach_[0] = true;
    auto visit = [&](uint32_t t) {
      if (!reach_[t]) reach_[t] = true, todo.push_back(t);
    };
    while (!todo.empty()) {
      const uint32_t i = todo.back();
      todo.pop_back();
      const CbpfInsn& in = prog_[i];
      const uint16_t cls = in.code & 0x07;
      if (cls == kRet || always_rejects(in)) continue;
      if (cls == kJmp && (in.code & 0xf0) == kJa) {
        const int64_t t = int64_t(i) + 1 + int32_t(in.k);
        if (t == int64_t(i)) continue;  // a jump to itself: `ret #0` (CbpfInterpreter)
        if (t < int64_t(i) &&
            std::find(loop_heads_.begin(), loop_heads_.end(), uint32_t(t)) == loop_heads_.end())
          loop_heads_.push_back(uint32_t(t));
        visit(uint32_t(t));
      } else if (cls == kJmp) {
        visit(i + 1 + in.jt);
        visit(i + 1 + in.jf);
      } else {
        visit(i + 1);
      }
    }
    for (uint32_t i = n_ - 1; i-- > 0;) next_[i] = reach_[i + 1] ? i + 1 : next_[i + 1];
    if (loop_heads_.size() > kMaxLoopHeads)
      return unsupported("too many loops (" + std::to_string(loop_heads_.size()) +
                         " backward jump targets, at most " + std::to_string(kMaxLoopHeads) + ")");
    loop_budget_ =
        CbpfInterpreter::kMaxBackwardJumps / std::max<uint32_t>(1, uint32_t(loop_heads_.size()));
    for (uint32_t i = 0; i < n_; ++i) {
      if (!reach_[i]) continue;
      const CbpfInsn& in = prog_[i];
      if ((in.code & 0xe0) == kLen && ((in.code & 0x07) == kLd || (in.code & 0x07) == kLdx)) {
        return unsupported("uses len (BPF_LEN, instruction " + std::to_string(i) +
                           "): `len`, `less` and `greater` test the wire length, which only "
                           "the worker knows (repaired from the inner IP header)");
      }
      const uint16_t cls = in.code & 0x07;
      if (in.code == (kLd | kMem) || in.code == (kLdx | kMem) || cls == kSt || cls == kStx)
        mem_used_[in.k] = true;
    }
    return ok();
  }

  void emit(EbpfInsn i) { out_.push_back(i); }
  void jump_to(uint8_t code, uint8_t dst, uint8_t src, int32_t imm, uint32_t label) {
    fixes_.push_back({out_.size(), label});
    used_[label] = true;
    emit(insn(code, dst, src, 0, imm));
  }
  void ja(uint32_t label) { jump_to(BPF_JMP | BPF_JA, 0, 0, 0, label); }
  void place(uint32_t label) { pos_[label] = int64_t(out_.size()); }
  void ld_map(uint8_t dst, int fd) {
    emit(insn(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_FD, 0, fd));
    emit(insn(0, 0, 0, 0, 0));
  }

  void prologue() {
    constexpr uint8_t kCaplen = kR5;
    emit(mov64(kCtx, BPF_REG_1));
    // args = xcap_filter_args[0]: where the frame lies.
    emit(st_imm(BPF_W, kFp, kKeySlot, 0));
    emit(mov64(kR2, kFp));
    emit(alu64_imm(BPF_ADD, kR2, kKeySlot));
    ld_map(kR1, maps_.args);
    emit(call(BPF_FUNC_map_lookup_elem));
    jump_to(BPF_JMP | BPF_JEQ | BPF_K, kR0, 0, 0, undecided_);
    emit(ldx(BPF_W, kR2, kR0, offsetof(xcap_filter_args, off)));
    emit(ldx(BPF_W, kR3, kR0, offsetof(xcap_filter_args, caplen)));
    emit(ldx(BPF_W, kPkt, kCtx, maps_.tc ? offsetof(__sk_buff, data) : offsetof(xdp_md, data)));
    emit(ldx(BPF_W, kDataEnd, kCtx,
             maps_.tc ? offsetof(__sk_buff, data_end) : offsetof(xdp_md, data_end)));
    // caplen = min(args.caplen, data_end - data - off); off and caplen bounded, or unfiltered.
    emit(mov64(kCaplen, kDataEnd));
    emit(alu64_reg(BPF_SUB, kCaplen, kPkt));
    jump_to(BPF_JMP | BPF_JGT | BPF_X, kR2, kCaplen, 0, undecided_);
    jump_to(BPF_JMP | BPF_JGT | BPF_K, kR2, 0, XCAP_FILTER_MAX_OFF, undecided_);
    emit(alu64_reg(BPF_SUB, kCaplen, kR2));
    emit(insn(BPF_JMP | BPF_JGE | BPF_X, kR3, kCaplen, 1, 0));
    emit(mov64(kCaplen, kR3));
    jump_to(BPF_JMP | BPF_JGT | BPF_K, kCaplen, 0, int32_t(kMaxCaplen), undecided_);
    emit(stx(BPF_W, kArgs, kCaplen, kCaplenField));
    emit(alu64_reg(BPF_ADD, kPkt, kR2));
    emit(alu32_imm(BPF_MOV, kA, 0));
    emit(alu32_imm(BPF_MOV, kX, 0));
    for (uint32_t m = 0; m < kMemWords; ++m)
      if (mem_used_[m]) emit(st_imm(BPF_DW, kFp, mem_slot(m), 0));
    for (uint32_t j = 0; j < loop_heads_.size(); ++j) emit(st_imm(BPF_DW, kFp, back_slot(j), 0));
  }

  // A (or X for MSH) = the size bytes at frame + k, big-endian.
  void load_abs(uint32_t size, uint32_t k, uint8_t dst) {
    // always_rejects() made loads past kMaxCaplen terminal: here k + size <= 32768.
    emit(ldx(BPF_W, kR1, kArgs, kCaplenField));
    jump_to(BPF_JMP | BPF_JLT | BPF_K, kR1, 0, int32_t(k + size), oob_);
    emit(mov64(kR1, kPkt));
    emit(alu64_imm(BPF_ADD, kR1, int32_t(k + size)));
    jump_to(BPF_JMP | BPF_JGT | BPF_X, kR1, kDataEnd, 0, oob_);
    emit(ldx(ebpf_size(size), dst, kPkt, int16_t(k)));
    if (size > 1) emit(insn(BPF_ALU | BPF_END | BPF_TO_BE, dst, 0, 0, int32_t(size * 8)));
  }

  // A = the size bytes at frame + X + k (X + k computed in 64 bits: no wrap-around).
  void load_ind(uint32_t size, uint32_t k) {
    emit(mov64(kR2, kX));
    emit(alu64_imm(BPF_ADD, kR2, int32_t(k + size)));
    emit(ldx(BPF_W, kR1, kArgs, kCaplenField));
    jump_to(BPF_JMP | BPF_JGT | BPF_X, kR2, kR1, 0, oob_);
    // r1 = X + k <= caplen - size, through map memory (see the top of the file), then bounded
    // again for the verifier (never taken); r3 = its packet address.
    emit(alu64_imm(BPF_ADD, kR2, -int32_t(size)));
    emit(stx(BPF_W, kArgs, kR2, offsetof(xcap_filter_args, scratch)));
    emit(ldx(BPF_W, kR1, kArgs, offsetof(xcap_filter_args, scratch)));
    jump_to(BPF_JMP | BPF_JGT | BPF_K, kR1, 0, int32_t(kMaxCaplen - size), oob_);
    emit(mov64(kR3, kPkt));
    emit(alu64_reg(BPF_ADD, kR3, kR1));
    emit(mov64(kR2, kR3));
    emit(alu64_imm(BPF_ADD, kR2, int32_t(size)));
    jump_to(BPF_JMP | BPF_JGT | BPF_X, kR2, kDataEnd, 0, oob_);
    emit(ldx(ebpf_size(size), kA, kR3, 0));
    if (size > 1) emit(insn(BPF_ALU | BPF_END | BPF_TO_BE, kA, 0, 0, int32_t(size * 8)));
  }

  void cond_jump(uint32_t i, const CbpfInsn& in) {
    const uint32_t t = i + 1 + in.jt, f = i + 1 + in.jf;
    const uint32_t next = next_[i];
    const bool by_x = (in.code & 0x08) == kX;
    uint8_t op = 0, inverse = 0;
    switch (in.code & 0xf0) {
      case kJeq:
        op = BPF_JEQ, inverse = BPF_JNE;
        break;
      case kJgt:
        op = BPF_JGT, inverse = BPF_JLE;
        break;
      case kJge:
        op = BPF_JGE, inverse = BPF_JLT;
        break;
      default:
        op = BPF_JSET;  // no inverse in eBPF
        break;
    }
    // JMP32: unsigned 32-bit compares, and the immediate is not sign-extended to 64 bits.
    auto jcc = [&](uint8_t o, uint32_t label) {
      jump_to(BPF_JMP32 | o | (by_x ? BPF_X : BPF_K), kA, by_x ? kX : 0, by_x ? 0 : int32_t(in.k),
              label);
    };
    if (t == f) {
      if (t != next) ja(t);
    } else if (f == next) {
      jcc(op, t);
    } else if (t == next && inverse) {
      jcc(inverse, f);
    } else {
      jcc(op, t);
      ja(f);
    }
  }

  // shift A by X; X >= 32 gives 0, as in CbpfInterpreter (eBPF leaves it undefined).
  void shift_by_x(uint8_t op) {
    emit(insn(BPF_JMP32 | BPF_JGE | BPF_K, kX, 0, 2, 32));
    emit(alu32_reg(op, kA, kX));
    emit(insn(BPF_JMP | BPF_JA, 0, 0, 1, 0));
    emit(alu32_imm(BPF_MOV, kA, 0));
  }

  // Loads into A; false for an addressing mode this translator does not know (body() says so).
  bool load_a(const CbpfInsn& in) {
    switch (in.code & 0xe0) {
      case kAbs:
        load_abs(load_size(in.code), in.k, kA);
        return true;
      case kInd:
        load_ind(load_size(in.code), in.k);
        return true;
      case kImm:
        emit(alu32_imm(BPF_MOV, kA, int32_t(in.k)));
        return true;
      case kMem:
        emit(ldx(BPF_DW, kA, kFp, mem_slot(in.k)));
        return true;
    }
    return false;
  }

  // Loads into X; false for an addressing mode this translator does not know (body() says so).
  bool load_x(const CbpfInsn& in) {
    switch (in.code & 0xe0) {
      case kMsh:
        load_abs(1, in.k, kX);
        emit(alu32_imm(BPF_AND, kX, 0xf));
        emit(alu32_imm(BPF_LSH, kX, 2));
        return true;
      case kImm:
        emit(alu32_imm(BPF_MOV, kX, int32_t(in.k)));
        return true;
      case kMem:
        emit(ldx(BPF_DW, kX, kFp, mem_slot(in.k)));
        return true;
    }
    return false;
  }

  // A JA to itself is `ret #0`, as in CbpfInterpreter; one to the next reachable instruction
  // needs no code.
  void jump_always(uint32_t i, const CbpfInsn& in) {
    const int64_t t = int64_t(i) + 1 + int32_t(in.k);
    if (t == int64_t(i)) return ja(reject_);
    if (t < int64_t(i)) return jump_back(uint32_t(t));
    if (uint32_t(t) != next_[i]) ja(uint32_t(t));
  }

  // libpcap's protochain walks extension headers backwards: bounded (see the top of the
  // file), which is also what lets the verifier prove the loop ends.
  void jump_back(uint32_t t) {
    const auto head =
        uint32_t(std::find(loop_heads_.begin(), loop_heads_.end(), t) - loop_heads_.begin());
    emit(ldx(BPF_DW, kR1, kFp, back_slot(head)));
    emit(alu64_imm(BPF_ADD, kR1, 1));
    emit(stx(BPF_DW, kFp, kR1, back_slot(head)));
    jump_to(BPF_JMP | BPF_JGT | BPF_K, kR1, 0, int32_t(loop_budget_),
            loop_heads_.size() == 1 ? reject_ : undecided_);
    ja(t);
  }

  void alu(const CbpfInsn& in) {
    const uint16_t op = in.code & 0xf0;
    const bool by_x = (in.code & 0x08) == kX;
    if (op == kNeg) return emit(alu32_imm(BPF_NEG, kA, 0));
    const uint8_t e = ebpf_alu_op(op);
    if (!by_x) return emit(alu32_imm(e, kA, int32_t(in.k)));  // create() refused k == 0, k >= 32
    if (op == kDiv || op == kMod)  // cBPF rejects; eBPF would go on with 0 or A
      jump_to(BPF_JMP32 | BPF_JEQ | BPF_K, kX, 0, 0, reject_);
    if (op == kLsh || op == kRsh) return shift_by_x(e);
    emit(alu32_reg(e, kA, kX));
  }

  // RET: libpcap accepts on any value but 0.
  void verdict(const CbpfInsn& in) {
    if ((in.code & 0x18) == kRetA) {
      jump_to(BPF_JMP32 | BPF_JEQ | BPF_K, kA, 0, 0, reject_);
      return ja(accept_);
    }
    ja(in.k ? accept_ : reject_);
  }

  void body(uint32_t i) {
    const CbpfInsn& in = prog_[i];
    if (always_rejects(in)) return ja(oob_);
    switch (in.code & 0x07) {
      case kLd:
        if (load_a(in)) return;
        break;
      case kLdx:
        if (load_x(in)) return;
        break;
      case kSt:
        return emit(stx(BPF_DW, kFp, kA, mem_slot(in.k)));
      case kStx:
        return emit(stx(BPF_DW, kFp, kX, mem_slot(in.k)));
      case kJmp:
        if ((in.code & 0xf0) == kJa) return jump_always(i, in);
        return cond_jump(i, in);
      case kAlu:
        return alu(in);
      case kRet:
        return verdict(in);
      case kMisc:
        return emit((in.code & 0xf8) == kTax ? mov64(kX, kA) : mov64(kA, kX));
    }
    // create() validated every code; a code reaching here is one this translator forgot.
    error_ = unsupported("unsupported instruction " + hex(in.code) + " at " + std::to_string(i));
  }

  // xcap_counters[r1] += 1 on this CPU (clobbers r0-r5).
  void count_r1() {
    emit(stx(BPF_W, kFp, kR1, kKeySlot));
    emit(mov64(kR2, kFp));
    emit(alu64_imm(BPF_ADD, kR2, kKeySlot));
    ld_map(kR1, maps_.counters);
    emit(call(BPF_FUNC_map_lookup_elem));
    emit(insn(BPF_JMP | BPF_JEQ | BPF_K, kR0, 0, 3, 0));
    emit(ldx(BPF_DW, kR1, kR0, 0));
    emit(alu64_imm(BPF_ADD, kR1, 1));
    emit(stx(BPF_DW, kR0, kR1, 0));
  }

  void epilogue() {
    if (maps_.local_progs >= 0) return local_epilogue();
    if (used_[accept_]) {
      // Tell user space the frame was judged here: set FILTERED in the xcap_meta, if the
      // main program wrote one (data_meta + sizeof <= data, and its magic).
      place(accept_);
      emit(ldx(BPF_W, kR2, kCtx, offsetof(xdp_md, data_meta)));
      emit(ldx(BPF_W, kR3, kCtx, offsetof(xdp_md, data)));
      emit(mov64(kR1, kR2));
      emit(alu64_imm(BPF_ADD, kR1, sizeof(xcap_meta)));
      jump_to(BPF_JMP | BPF_JGT | BPF_X, kR1, kR3, 0, redirect_);
      emit(ldx(BPF_H, kR1, kR2, offsetof(xcap_meta, magic)));
      jump_to(BPF_JMP | BPF_JNE | BPF_K, kR1, 0, XCAP_META_MAGIC, redirect_);
      emit(ldx(BPF_H, kR1, kR2, offsetof(xcap_meta, flags)));
      emit(alu32_imm(BPF_OR, kR1, XCAP_META_F_FILTERED));
      emit(stx(BPF_H, kR2, kR1, offsetof(xcap_meta, flags)));
    }
    // As bpf/xcap.bpf.c's xcap_capture: to the queue's socket, XDP_PASS if it went away.
    place(redirect_);
    emit(ldx(BPF_W, kR2, kCtx, offsetof(xdp_md, rx_queue_index)));
    ld_map(kR1, maps_.xsks_map);
    emit(alu64_imm(BPF_MOV, kR3, XDP_PASS));
    emit(call(BPF_FUNC_redirect_map));
    emit(mov64(kPkt, kR0));  // the action, kept across the counter's helper call
    emit(alu64_imm(BPF_MOV, kR1, XCAP_CNT_REDIRECT));
    emit(insn(BPF_JMP | BPF_JEQ | BPF_K, kPkt, 0, 1, XDP_REDIRECT));
    emit(alu64_imm(BPF_MOV, kR1, XCAP_CNT_NO_SOCKET));
    // Count r1, return r9.
    place(count_);
    count_r1();
    emit(mov64(kR0, kPkt));
    emit(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    if (used_[reject_]) {
      place(reject_);
      emit(alu64_imm(BPF_MOV, kPkt, XDP_DROP));
      emit(alu64_imm(BPF_MOV, kR1, XCAP_CNT_FILTER_EXCLUDED));
      ja(count_);
    }
    // The worker will judge this frame: counted as the main program counts the frames it does
    // not hand over, then captured unfiltered.
    place(undecided_);
    emit(alu64_imm(BPF_MOV, kR1, XCAP_CNT_FILTER_UNDECIDED));
    count_r1();
    ja(redirect_);
  }

  // Local mode: a selected packet goes to the copy program (args.selected set), a rejected one
  // passes; an undecided one is copied for user space to judge. A load past what the program
  // sees of a partial packet (args.partial) leaves it undecided, as cBPF over the whole packet
  // might have selected it.
  void local_epilogue() {
    const int32_t pass = maps_.tc ? -1 /* TCX_NEXT */ : XDP_PASS;
    if (used_[accept_]) {
      place(accept_);
      emit(st_imm(BPF_W, kArgs, offsetof(xcap_filter_args, selected), 1));
    }
    place(redirect_);  // here: to the copy program
    emit(mov64(kR1, kCtx));
    ld_map(kR2, maps_.local_progs);
    emit(alu64_imm(BPF_MOV, kR3, XCAP_LOCAL_SLOT_COPY));
    emit(call(BPF_FUNC_tail_call));
    place(count_);  // the copy program is missing, or after counting a rejection: pass
    emit(alu64_imm(BPF_MOV, kR0, pass));
    emit(insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
    if (used_[oob_] && oob_ != reject_) {
      place(oob_);
      emit(ldx(BPF_W, kR1, kArgs, offsetof(xcap_filter_args, partial)));
      jump_to(BPF_JMP | BPF_JNE | BPF_K, kR1, 0, 0, undecided_);
      ja(reject_);
      used_[reject_] = true;
    }
    if (used_[reject_]) {
      place(reject_);
      emit(alu64_imm(BPF_MOV, kR1, int32_t(maps_.counter_base + XCAP_LCNT_FILTER_EXCLUDED)));
      count_r1();
      ja(count_);
    }
    place(undecided_);
    emit(alu64_imm(BPF_MOV, kR1, int32_t(maps_.counter_base + XCAP_LCNT_FILTER_UNDECIDED)));
    count_r1();
    ja(redirect_);
  }

  Result<std::vector<EbpfInsn>> resolve() {
    if (error_) return *error_;
    for (const Fix& f : fixes_) {
      const int64_t to = pos_[f.label];
      const int64_t off = to - int64_t(f.at) - 1;
      if (to < 0) return make_error(ErrorKind::System, "internal error: jump to an unplaced label");
      if (off < std::numeric_limits<int16_t>::min() || off > std::numeric_limits<int16_t>::max())
        return unsupported("too large for eBPF's 16-bit jump offsets (" +
                           std::to_string(out_.size()) + " eBPF instructions from " +
                           std::to_string(n_) + " cBPF ones)");
      out_[f.at].off = int16_t(off);
    }
    return std::move(out_);
  }

  struct Fix {
    size_t at;
    uint32_t label;
  };

  std::span<const CbpfInsn> prog_;
  XdpFilterMaps maps_;
  uint32_t n_;
  uint32_t accept_, redirect_, count_, reject_, undecided_;
  uint32_t oob_;  // a load out of bounds: reject_, or in local mode a check of args.partial
  std::vector<int64_t> pos_;
  std::vector<bool> used_;
  std::vector<bool> reach_;
  std::vector<uint32_t> next_;  // the next reachable instruction after i (n: none)
  bool mem_used_[kMemWords] = {};
  std::vector<uint32_t> loop_heads_;  // targets of backward jumps, in order of discovery
  uint32_t loop_budget_ = 0;          // backward jumps allowed to each head
  std::vector<EbpfInsn> out_;
  std::vector<Fix> fixes_;
  std::optional<Error> error_;  // set by body(): an instruction it cannot translate
};

// The last lines of a verifier log: where it gave up and why.
std::string log_tail(const char* log, size_t max_lines) {
  std::string s(log);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\0')) s.pop_back();
  size_t at = s.size();
  for (size_t lines = 0; lines < max_lines && at != std::string::npos && at > 0; ++lines)
    at = s.rfind('\n', at - 1);
  std::string tail = at == std::string::npos ? s : s.substr(at + 1);
  for (char& c : tail)
    if (c == '\n') c = '|';
  return tail;
}

}  // namespace

Result<std::vector<EbpfInsn>> translate_to_xdp(std::span<const CbpfInsn> program,
                                               const XdpFilterMaps& maps) {
  // The interpreter's validation is libpcap's bpf_validate and more (jumps in range, slots <
  // 16, no constant division by 0 or shift by 32): the translation relies on all of it.
  if (Result<CbpfInterpreter> v = CbpfInterpreter::create(program); !v) return v.error();
  return Translator(program, maps).run();
}

Result<Fd> load_xdp_filter(std::span<const CbpfInsn> program, const XdpFilterMaps& maps,
                           const XdpFilterLoadOptions& options) {
  Result<std::vector<EbpfInsn>> insns = translate_to_xdp(program, maps);
  if (!insns) return insns.error();
  const auto* code = reinterpret_cast<const struct bpf_insn*>(insns->data());
  bpf_prog_load_opts o{};
  o.sz = sizeof(o);
  o.expected_attach_type = bpf_attach_type(options.expected_attach_type);
  if (options.xdp_frags) o.prog_flags = BPF_F_XDP_HAS_FRAGS;
  const bpf_prog_type type = maps.tc ? BPF_PROG_TYPE_SCHED_CLS : BPF_PROG_TYPE_XDP;
  int fd = bpf_prog_load(type, options.name, "GPL", code, insns->size(), &o);
  if (fd >= 0) return Fd(fd);
  const int err = -fd;
  // Again with the log (asked only now: it slows every load down, and most loads succeed).
  std::vector<char> log(size_t(4) << 20);
  o.log_buf = log.data();
  o.log_size = uint32_t(log.size());
  o.log_level = 1;
  fd = bpf_prog_load(type, options.name, "GPL", code, insns->size(), &o);
  if (fd >= 0) return Fd(fd);
  log.back() = '\0';
  Error e = errno_error(err, "verifier");
  e.message +=
      " (" + std::to_string(insns->size()) + " eBPF instructions): " + log_tail(log.data(), 3);
  return e;
}

}  // namespace xcap
