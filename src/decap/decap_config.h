// DecapConfig: what the decapsulator recognises as a tunnel. A frame whose outer headers do
// not match is not an error: it passes through unchanged.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace xcap {

struct DecapConfig {
  // --decap: which tunnel types are stripped. A tunnel of an excluded type is treated as an
  // ordinary frame (so with Vxlan, GENEVE→VXLAN stays whole).
  //   Erspan: ERSPAN types I, II, III over GRE.  Gre: GRE carrying Ethernet (0x6558) or IP.
  enum class Mode : uint8_t { Auto, None, Vxlan, Geneve, Erspan, Gre };

  Mode mode = Mode::Auto;
  // UDP destination ports that carry VXLAN. A port listed here and as geneve_port is VXLAN.
  std::vector<uint16_t> vxlan_ports{4789};
  // UDP destination port that carries GENEVE.
  uint16_t geneve_port = 6081;
  // --decap-depth: delivery levels stripped from one frame. 1 strips the mirror's own tunnel
  // and leaves the customer's tunnels inside whole (a Kubernetes VXLAN overlay is what the
  // mirrored node sent). VXLAN directly inside GENEVE is AWS's delivery of a traffic mirror
  // through a Gateway Load Balancer: the pair counts as one level. Capped at 255.
  unsigned max_depth = 1;
};

// "auto", "none", "vxlan", "geneve", "erspan", "gre": the --decap values.
std::string_view to_string(DecapConfig::Mode m);
std::optional<DecapConfig::Mode> parse_decap_mode(std::string_view s);

}  // namespace xcap
