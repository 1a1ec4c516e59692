// DecapConfig: what the decapsulator recognises as a tunnel. A frame whose outer headers do
// not match is not an error: it passes through unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace xcap {

struct DecapConfig {
  // --decap: which tunnel types are stripped, at every nesting level. A tunnel of an excluded
  // type is treated as an ordinary frame (so with Vxlan, GENEVE→VXLAN stays whole, and with
  // Geneve the same frame is unwrapped down to the VXLAN packet inside).
  //   Erspan: ERSPAN types I, II, III over GRE.  Gre: GRE carrying Ethernet (0x6558) or IP.
  enum class Mode : uint8_t { Auto, None, Vxlan, Geneve, Erspan, Gre };

  Mode mode = Mode::Auto;
  // UDP destination ports that carry VXLAN. A port listed here and as geneve_port is VXLAN.
  std::vector<uint16_t> vxlan_ports{4789};
  // UDP destination port that carries GENEVE.
  uint16_t geneve_port = 6081;
  // Most tunnels stripped from one frame; a frame nested deeper is DecapError::TooDeep.
  // AWS mirroring into a Gateway Load Balancer endpoint needs 2. Capped at 255.
  unsigned max_depth = 4;
};

// "auto", "none", "vxlan", "geneve", "erspan", "gre": the --decap values.
std::string_view to_string(DecapConfig::Mode m);
std::optional<DecapConfig::Mode> parse_decap_mode(std::string_view s);

}  // namespace xcap
