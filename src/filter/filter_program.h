// FilterProgram: a tcpdump filter expression compiled by libpcap for one link type, and the
// fast evaluator that runs it (CbpfInterpreter; libpcap's own bpf_filter is kept only as the
// reference of the tests and the benchmark).
//
// The expression is data: it goes to pcap_compile and nowhere else (no shell, no file). It is
// refused when empty (or only blanks: libpcap would take it as "everything"), longer than
// kMaxExpressionLength, holding a NUL byte (libpcap would silently read only up to it), or
// when libpcap cannot compile it; the error quotes the expression and gives libpcap's reason.
//
// <pcap/pcap.h> stays in filter_program.cpp: its struct bpf_insn clashes with <linux/bpf.h>'s.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "common/defaults.h"
#include "common/result.h"
#include "filter/cbpf_insn.h"
#include "filter/cbpf_interpreter.h"

namespace xcap {

class FilterProgram {
 public:
  // The documented limit on the expression's length, in bytes.
  static constexpr size_t kMaxExpressionLength = 8192;
  // What snaplen 0 means (tcpdump -s 0): libpcap's largest snap length. A program compiled
  // with snaplen 0 would return 0, which means "reject", for every packet it selects.
  static constexpr uint32_t kDefaultSnaplen = defaults::kSnaplen;

  // Compiles expr with libpcap's optimizer on, for frames of link_type, a LINKTYPE_ value as
  // written in pcap files (1 Ethernet, 101 raw IP). The program accepts with snaplen.
  static Result<FilterProgram> compile(const std::string& expr, uint32_t link_type,
                                       uint32_t snaplen);

  // Whether the expression selects the frame: caplen bytes at pkt (the bounds of every load),
  // wire_len its length on the wire (what `len`, `less` and `greater` test). The worker's hot
  // path: no allocation, lock or syscall; safe to call from several threads at once.
  bool matches(const uint8_t* pkt, uint32_t caplen, uint32_t wire_len) const {
    return interp_.run(pkt, caplen, wire_len) != 0;
  }

  const std::string& expression() const { return expr_; }
  uint32_t link_type() const { return link_type_; }
  uint32_t snaplen() const { return snaplen_; }
  // libpcap's optimized program, as pcap_compile produced it (for the XDP translation, and to
  // run libpcap's own interpreter on it in tests and benchmarks).
  std::span<const CbpfInsn> instructions() const { return insns_; }
  const CbpfInterpreter& interpreter() const { return interp_; }

 private:
  FilterProgram(std::string expr, uint32_t link_type, uint32_t snaplen, std::vector<CbpfInsn> insns,
                CbpfInterpreter interp)
      : expr_(std::move(expr)),
        link_type_(link_type),
        snaplen_(snaplen),
        insns_(std::move(insns)),
        interp_(std::move(interp)) {}

  std::string expr_;
  uint32_t link_type_;
  uint32_t snaplen_;
  std::vector<CbpfInsn> insns_;
  CbpfInterpreter interp_;
};

// The expression as it appears in error messages: in double quotes, escaped (quotes,
// backslashes, control bytes as \xNN, so a hostile expression cannot drive a terminal), and cut
// to its first 64 bytes followed by "..." when longer.
std::string quote_filter(const std::string& expr);

}  // namespace xcap
