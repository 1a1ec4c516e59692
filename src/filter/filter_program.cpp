// libpcap's side of FilterProgram: the only translation unit of the filter that includes
// <pcap/pcap.h> (see the header).
#include "filter/filter_program.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <mutex>

#include "decap/link_type.h"

namespace xcap {

namespace {

static_assert(sizeof(struct bpf_insn) == sizeof(CbpfInsn));

// pcap_open_dead takes a DLT_ value; pcap files carry LINKTYPE_ values. They are equal except
// for a few, of which raw IP is the one inner frames use (DLT_RAW is 12, or 14 on OpenBSD).
int dlt_of(uint32_t link_type) {
  return link_type == linktype_value(LinkType::Raw) ? DLT_RAW : int(link_type);
}

bool only_blanks(const std::string& s) {
  return s.find_first_not_of(" \t\r\n\v\f") == std::string::npos;
}

Error filter_error(const std::string& expr, const std::string& why) {
  return invalid_input("invalid filter " + quote_filter(expr) + ": " + why);
}

}  // namespace

std::string quote_filter(const std::string& expr) {
  constexpr size_t kShown = 64;
  std::string out = "\"";
  for (size_t i = 0; i < expr.size() && i < kShown; ++i) {
    const auto c = static_cast<unsigned char>(expr[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += char(c);
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += char(c);
    }
  }
  out += '"';
  if (expr.size() > kShown) out += "...";
  return out;
}

Result<FilterProgram> FilterProgram::compile(const std::string& expr, uint32_t link_type,
                                             uint32_t snaplen) {
  if (only_blanks(expr)) return filter_error(expr, "the expression is empty");
  if (expr.size() > kMaxExpressionLength)
    return filter_error(expr, "the expression is " + std::to_string(expr.size()) +
                                  " bytes long, longer than the limit of " +
                                  std::to_string(kMaxExpressionLength));
  if (expr.find('\0') != std::string::npos)
    return filter_error(expr, "the expression contains a NUL byte");
  if (snaplen == 0) snaplen = kDefaultSnaplen;

  std::vector<CbpfInsn> insns;
  {
    // One compilation at a time: libpcap releases before 1.8 kept the parser's state in
    // globals, and filters are compiled once, at startup, so the lock costs nothing.
    static std::mutex compile_mutex;
    std::lock_guard lock(compile_mutex);
    std::unique_ptr<pcap_t, decltype(&pcap_close)> dead(
        pcap_open_dead(dlt_of(link_type), int(std::min<uint32_t>(snaplen, INT32_MAX))),
        &pcap_close);
    if (!dead) return filter_error(expr, "libpcap could not open a handle to compile it");
    bpf_program prog{};
    if (pcap_compile(dead.get(), &prog, expr.c_str(), 1, PCAP_NETMASK_UNKNOWN) != 0)
      return filter_error(expr, pcap_geterr(dead.get()));
    insns.reserve(prog.bf_len);
    for (u_int i = 0; i < prog.bf_len; ++i) {
      const bpf_insn& in = prog.bf_insns[i];
      insns.push_back(CbpfInsn{in.code, in.jt, in.jf, in.k});
    }
    pcap_freecode(&prog);
  }

  Result<CbpfInterpreter> interp = CbpfInterpreter::create(insns);
  if (!interp.ok())  // libpcap's own output: a bug in libpcap or in the interpreter
    return filter_error(expr, "libpcap's program cannot be run: " + interp.error().message);
  return FilterProgram(expr, link_type, snaplen, std::move(insns), std::move(*interp));
}

}  // namespace xcap
