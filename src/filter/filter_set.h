// FilterSet: one filter expression for every inner link type the worker meets. The decapsulator
// hands over Ethernet frames (LINKTYPE_ETHERNET) or bare IP packets (LINKTYPE_RAW, from GENEVE
// and GRE with IP payloads); libpcap compiles an expression differently for each (`tcp port 80`
// reads the IP header at 14 or at 0), so both programs are compiled up front, at startup, and
// matches() picks one per packet with a single compare.
//
// The expression must compile for Ethernet. Some compile for Ethernet only (`ether host ...`,
// `vlan`, `arp`: libpcap refuses them for raw IP, e.g. "expression rejects all packets"); then
// raw-IP frames never match, and raw_error() holds libpcap's reason, for the caller to log once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/result.h"
#include "decap/link_type.h"
#include "filter/filter_program.h"

namespace xcap {

class FilterSet {
 public:
  // snaplen as for FilterProgram::compile (0: libpcap's largest). The error is the Ethernet
  // compilation's: it names the expression and gives libpcap's reason.
  static Result<FilterSet> compile(const std::string& expr, uint32_t snaplen);

  // Whether the expression selects this frame of the given link type (see
  // FilterProgram::matches). Hot path: no allocation, lock or syscall; thread-safe.
  bool matches(LinkType link_type, const uint8_t* pkt, uint32_t caplen, uint32_t wire_len) const {
    if (link_type == LinkType::Raw) return raw_ && raw_->matches(pkt, caplen, wire_len);
    return ethernet_.matches(pkt, caplen, wire_len);
  }

  const std::string& expression() const { return ethernet_.expression(); }
  const FilterProgram& ethernet() const { return ethernet_; }
  // The raw-IP program; nullptr when the expression does not compile for raw IP.
  const FilterProgram* raw() const { return raw_ ? &*raw_ : nullptr; }
  // Why raw() is nullptr (empty otherwise): "filter ... does not apply to raw IP frames: ...".
  const std::string& raw_error() const { return raw_error_; }

 private:
  FilterSet(FilterProgram ethernet, std::optional<FilterProgram> raw, std::string raw_error)
      : ethernet_(std::move(ethernet)), raw_(std::move(raw)), raw_error_(std::move(raw_error)) {}

  FilterProgram ethernet_;
  std::optional<FilterProgram> raw_;
  std::string raw_error_;
};

}  // namespace xcap
