#include "filter/filter_set.h"

namespace xcap {

Result<FilterSet> FilterSet::compile(const std::string& expr, uint32_t snaplen) {
  Result<FilterProgram> ethernet =
      FilterProgram::compile(expr, linktype_value(LinkType::Ethernet), snaplen);
  if (!ethernet.ok()) return ethernet.error();
  Result<FilterProgram> raw = FilterProgram::compile(expr, linktype_value(LinkType::Raw), snaplen);
  if (!raw.ok()) {
    // Keep libpcap's reason from "invalid filter <quoted>: <reason>"; say what it means here.
    const std::string& m = raw.error().message;
    const std::string prefix = "invalid filter " + quote_filter(expr) + ": ";
    const std::string why = m.rfind(prefix, 0) == 0 ? m.substr(prefix.size()) : m;
    return FilterSet(std::move(*ethernet), std::nullopt,
                     "filter " + quote_filter(expr) +
                         " does not apply to raw IP frames, which will not match: " + why);
  }
  return FilterSet(std::move(*ethernet), std::move(*raw), "");
}

}  // namespace xcap
