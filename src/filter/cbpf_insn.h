// CbpfInsn: one classic BPF instruction, with the opcode constants that build and take it
// apart. The layout is that of libpcap's struct bpf_insn and the kernel's struct sock_filter,
// so a program copies from either with memcpy, but under a name of its own: <pcap/pcap.h> and
// <linux/bpf.h> both define struct bpf_insn, and a header that the BPF loader's translation
// units include must carry neither.
#pragma once

#include <array>
#include <cstdint>

namespace xcap {

struct CbpfInsn {
  uint16_t code = 0;
  uint8_t jt = 0;  // conditional jumps: taken-branch offset, counted from the next instruction
  uint8_t jf = 0;  // conditional jumps: not-taken offset
  uint32_t k = 0;  // the constant operand (offset, immediate, memory slot, JA offset)
};
static_assert(sizeof(CbpfInsn) == 8, "must match struct bpf_insn / struct sock_filter");

// The field values of <pcap/bpf.h> (BPF_LD, BPF_H, BPF_ABS, ...), spelled as constants
// because those names are macros in both headers named above.
namespace cbpf {

// class: code & 0x07
inline constexpr uint16_t kLd = 0x00, kLdx = 0x01, kSt = 0x02, kStx = 0x03, kAlu = 0x04,
                          kJmp = 0x05, kRet = 0x06, kMisc = 0x07;
// load size: code & 0x18
inline constexpr uint16_t kW = 0x00, kH = 0x08, kB = 0x10;
// load mode: code & 0xe0
inline constexpr uint16_t kImm = 0x00, kAbs = 0x20, kInd = 0x40, kMem = 0x60, kLen = 0x80,
                          kMsh = 0xa0;
// ALU operation: code & 0xf0
inline constexpr uint16_t kAdd = 0x00, kSub = 0x10, kMul = 0x20, kDiv = 0x30, kOr = 0x40,
                          kAnd = 0x50, kLsh = 0x60, kRsh = 0x70, kNeg = 0x80, kMod = 0x90,
                          kXor = 0xa0;
// jump operation: code & 0xf0
inline constexpr uint16_t kJa = 0x00, kJeq = 0x10, kJgt = 0x20, kJge = 0x30, kJset = 0x40;
// operand source of ALU and jumps: code & 0x08; of RET: code & 0x18
inline constexpr uint16_t kK = 0x00, kX = 0x08, kRetA = 0x10;
// MISC operation: code & 0xf8
inline constexpr uint16_t kTax = 0x00, kTxa = 0x80;

// Every opcode libpcap's bpf_filter runs (and CbpfInterpreter with it): random programs pick
// from these.
inline constexpr std::array<uint16_t, 49> kAllOpcodes = {kLd | kW | kAbs,
                                                         kLd | kH | kAbs,
                                                         kLd | kB | kAbs,
                                                         kLd | kW | kInd,
                                                         kLd | kH | kInd,
                                                         kLd | kB | kInd,
                                                         kLd | kW | kLen,
                                                         kLdx | kW | kLen,
                                                         kLdx | kB | kMsh,
                                                         kLd | kImm,
                                                         kLdx | kImm,
                                                         kLd | kMem,
                                                         kLdx | kMem,
                                                         kSt,
                                                         kStx,
                                                         kJmp | kJa,
                                                         kJmp | kJeq | kK,
                                                         kJmp | kJgt | kK,
                                                         kJmp | kJge | kK,
                                                         kJmp | kJset | kK,
                                                         kJmp | kJeq | kX,
                                                         kJmp | kJgt | kX,
                                                         kJmp | kJge | kX,
                                                         kJmp | kJset | kX,
                                                         kAlu | kAdd | kK,
                                                         kAlu | kSub | kK,
                                                         kAlu | kMul | kK,
                                                         kAlu | kDiv | kK,
                                                         kAlu | kMod | kK,
                                                         kAlu | kAnd | kK,
                                                         kAlu | kOr | kK,
                                                         kAlu | kXor | kK,
                                                         kAlu | kLsh | kK,
                                                         kAlu | kRsh | kK,
                                                         kAlu | kAdd | kX,
                                                         kAlu | kSub | kX,
                                                         kAlu | kMul | kX,
                                                         kAlu | kDiv | kX,
                                                         kAlu | kMod | kX,
                                                         kAlu | kAnd | kX,
                                                         kAlu | kOr | kX,
                                                         kAlu | kXor | kX,
                                                         kAlu | kLsh | kX,
                                                         kAlu | kRsh | kX,
                                                         kAlu | kNeg,
                                                         kMisc | kTax,
                                                         kMisc | kTxa,
                                                         kRet | kK,
                                                         kRet | kRetA};

// Scratch memory words (BPF_MEMWORDS).
inline constexpr uint32_t kMemWords = 16;

// Bytes a load of this code reads (its size field: W, H or B).
constexpr uint32_t load_size(uint16_t code) {
  return (code & 0x18) == kW ? 4 : (code & 0x18) == kH ? 2 : 1;
}

// A load of packet bytes into A: BPF_LD | BPF_ABS (at k) or BPF_IND (at X + k), of a word,
// half-word or byte.
constexpr bool is_packet_load_to_a(uint16_t code) {
  const uint16_t mode = code & 0xe0;
  return (code & 0x07) == kLd && (code & 0x18) != 0x18 && (mode == kAbs || mode == kInd);
}

// Whether the instruction reads packet bytes: the loads into A and BPF_LDX | BPF_B | BPF_MSH.
constexpr bool reads_packet(uint16_t code) {
  return is_packet_load_to_a(code) || code == (kLdx | kB | kMsh);
}

constexpr CbpfInsn stmt(uint16_t code, uint32_t k) {
  return CbpfInsn{code, 0, 0, k};
}
constexpr CbpfInsn jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return CbpfInsn{code, jt, jf, k};
}

}  // namespace cbpf
}  // namespace xcap
