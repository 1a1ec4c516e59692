// How the XDP program is attached (--xdp-mode) and what the kernel gave us.
#pragma once

#include <optional>
#include <string>

namespace xcap::bpf_loader {

enum class XdpMode { Auto, Native, Skb };

inline std::optional<XdpMode> parse_xdp_mode(const std::string& s) {
  if (s == "auto") return XdpMode::Auto;
  if (s == "native") return XdpMode::Native;
  if (s == "skb") return XdpMode::Skb;
  return std::nullopt;
}

inline const char* to_string(XdpMode m) {
  switch (m) {
    case XdpMode::Auto:
      return "auto";
    case XdpMode::Native:
      return "native";
    case XdpMode::Skb:
      return "skb";
  }
  return "?";
}

}  // namespace xcap::bpf_loader
