// DecapError: why a frame that was identified as a tunnel could not be unwrapped. In the
// outermost (delivery) tunnel the worker counts it under
// `xcap_dropped_packets_total{reason="decap_error"}`; in a nested level the frame is kept as it
// stood above that level (`xcap_decap_inner_kept_total`). The names are for logs and tests.
#pragma once

#include <cstdint>
#include <string_view>

namespace xcap {

enum class DecapError : uint8_t {
  None,
  Truncated,        // a tunnel header (or the inner link header) was cut by the end of the capture
  BadFlags,         // a required flag is missing or a version/reserved field is wrong
  BadLength,        // a length field contradicts itself or the enclosing lengths
  UnknownProtocol,  // GENEVE/GRE protocol type the decapsulator does not carry
};
inline constexpr unsigned kDecapErrorCount = 5;

constexpr std::string_view to_string(DecapError e) {
  switch (e) {
    case DecapError::None:
      return "none";
    case DecapError::Truncated:
      return "truncated";
    case DecapError::BadFlags:
      return "bad_flags";
    case DecapError::BadLength:
      return "bad_length";
    case DecapError::UnknownProtocol:
      return "unknown_protocol";
  }
  return "unknown";
}

}  // namespace xcap
