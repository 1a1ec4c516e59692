#include "sink/fanout/capture_request.h"

#include <charconv>
#include <cmath>
#include <set>

#include "filter/filter_program.h"

namespace xcap::sink::fanout {
namespace {

constexpr double kMaxDurationSeconds = 366.0 * 24 * 3600;  // a year: beyond is a typo

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// application/x-www-form-urlencoded: %XX escapes, '+' is a space.
Result<std::string> url_decode(std::string_view s, std::string_view what) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%') {
      const bool whole = i + 2 < s.size();
      const int hi = whole ? hex_digit(s[i + 1]) : -1, lo = whole ? hex_digit(s[i + 2]) : -1;
      if (hi < 0 || lo < 0)
        return invalid_input(std::string(what) + ": bad %-escape (expected %XX)");
      out += char(hi * 16 + lo);
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

Result<uint64_t> parse_unsigned(const std::string& name, const std::string& value) {
  uint64_t v = 0;
  const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size())
    return invalid_input(name + ": " + quote_filter(value) + " is not a whole number");
  return v;
}

Result<std::chrono::milliseconds> parse_seconds(const std::string& name, const std::string& value) {
  double s = 0;
  const auto [ptr, ec] =
      std::from_chars(value.data(), value.data() + value.size(), s, std::chars_format::fixed);
  if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() ||
      !std::isfinite(s) || s <= 0 || s > kMaxDurationSeconds)
    return invalid_input(name + ": " + quote_filter(value) +
                         " is not a number of seconds above 0 (e.g. 30 or 0.5)");
  return std::chrono::milliseconds(std::max<int64_t>(1, std::llround(s * 1000)));
}

}  // namespace

Result<CaptureRequest> parse_capture_request(std::string_view query, uint32_t max_snaplen) {
  CaptureRequest req;
  req.snaplen = max_snaplen;
  std::set<std::string> seen;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;  // "a=1&&b=2"
    const size_t eq = pair.find('=');
    auto name = url_decode(pair.substr(0, eq), "parameter name");
    if (!name) return name.error();
    const std::string shown = quote_filter(*name);
    auto value = url_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), *name);
    if (!value) return value.error();
    if (!seen.insert(*name).second) return invalid_input("parameter " + shown + " given twice");

    if (*name == "filter") {
      if (value->size() > FilterProgram::kMaxExpressionLength)
        return invalid_input("filter: the expression is " + std::to_string(value->size()) +
                             " bytes, over the limit of " +
                             std::to_string(FilterProgram::kMaxExpressionLength));
      req.filter = std::move(*value);
    } else if (*name == "snaplen") {
      auto n = parse_unsigned("snaplen", *value);
      if (!n) return n.error();
      if (*n > max_snaplen)
        return invalid_input("snaplen: " + std::to_string(*n) + " is out of range (0-" +
                             std::to_string(max_snaplen) + ", 0: " + std::to_string(max_snaplen) +
                             ")");
      req.snaplen = *n ? uint32_t(*n) : max_snaplen;
    } else if (*name == "count") {
      auto n = parse_unsigned("count", *value);
      if (!n) return n.error();
      req.count = *n;
    } else if (*name == "duration") {
      auto d = parse_seconds("duration", *value);
      if (!d) return d.error();
      req.duration = *d;
    } else if (*name == "format") {
      if (*value != "pcapng" && *value != "pcap")
        return invalid_input("format: " + quote_filter(*value) + " is not pcapng or pcap");
      req.pcapng = *value == "pcapng";
    } else {
      return invalid_input("unknown parameter " + shown +
                           " (known: filter, snaplen, count, duration, format)");
    }
  }
  if (!req.filter.empty()) {
    auto f = FilterSet::compile(req.filter, req.snaplen);
    if (!f) return f.error().context("filter");
    req.program = std::make_shared<const FilterSet>(std::move(*f));
  }
  return req;
}

}  // namespace xcap::sink::fanout
