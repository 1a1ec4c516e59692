#include "decap/decap_config.h"

#include <array>
#include <utility>

namespace xcap {

namespace {
using Mode = DecapConfig::Mode;
constexpr std::array<std::pair<Mode, std::string_view>, 6> kModes{{
    {Mode::Auto, "auto"},
    {Mode::None, "none"},
    {Mode::Vxlan, "vxlan"},
    {Mode::Geneve, "geneve"},
    {Mode::Erspan, "erspan"},
    {Mode::Gre, "gre"},
}};
}  // namespace

std::string_view to_string(DecapConfig::Mode m) {
  for (const auto& [mode, name] : kModes)
    if (mode == m) return name;
  return "unknown";
}

std::optional<DecapConfig::Mode> parse_decap_mode(std::string_view s) {
  for (const auto& [mode, name] : kModes)
    if (name == s) return mode;
  return std::nullopt;
}

}  // namespace xcap
