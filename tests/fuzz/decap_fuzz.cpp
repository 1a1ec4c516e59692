// libFuzzer target for the decapsulator. The first input byte picks the configuration (mode,
// depth limit, whether the wire length exceeds the captured length); the rest is the frame.
// libFuzzer hands over an exact-size heap buffer, so ASan reports any read past the frame;
// the invariants below are the contract of Decapsulator::decap (decapsulator.h).
//
// Built with clang straight from src/decap/*.cpp (tests/CMakeLists.txt), run by the ctest
// `decap_fuzz` (label fuzz) on a corpus written by make_decap_corpus.
#include <array>
#include <cstdlib>

#include "decap/decapsulator.h"
#include "decap/wire_length.h"

namespace {

using xcap::DecapConfig;
using xcap::Decapsulator;

constexpr std::array kModes = {DecapConfig::Mode::Auto,   DecapConfig::Mode::None,
                               DecapConfig::Mode::Vxlan,  DecapConfig::Mode::Geneve,
                               DecapConfig::Mode::Erspan, DecapConfig::Mode::Gre};
constexpr unsigned kDepths = 4;  // max_depth 0, 1, 2, 4

const Decapsulator& decapsulator(uint8_t selector) {
  static const auto all = [] {
    std::array<Decapsulator, kModes.size() * kDepths> d;
    for (size_t m = 0; m < kModes.size(); ++m)
      for (unsigned depth = 0; depth < kDepths; ++depth) {
        DecapConfig c;
        c.mode = kModes[m];
        c.vxlan_ports = {4789, 8472};
        c.max_depth = depth == 3 ? 4 : depth;
        d[m * kDepths + depth] = Decapsulator(c);
      }
    return d;
  }();
  return all[selector % all.size()];
}

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 65536) return 0;
  const uint8_t selector = data[0];
  const uint8_t* frame = data + 1;
  const uint32_t caplen = uint32_t(size - 1);
  const uint32_t wire_len = (selector & 0x80) ? caplen + 1 + selector * 11u : caplen;
  const Decapsulator& d = decapsulator(selector & 0x7f);

  const xcap::DecapResult r = d.decap(frame, caplen, wire_len);

  require(r.data >= frame && r.caplen <= caplen && r.data + r.caplen <= frame + caplen);
  require(r.ok() == (r.error_tunnel == xcap::Tunnel::None));
  // A nested level that did not parse is never an error: the frame stops above it.
  require(r.inner_error == xcap::DecapError::None || (r.ok() && r.depth > 0));
  if (!r.ok() || r.depth == 0) {
    require(r.data == frame && r.caplen == caplen && r.wire_len == wire_len);
    require(r.link_type == xcap::LinkType::Ethernet);
  } else {
    require(r.wire_len >= r.caplen);
    require(r.source.tunnel != xcap::Tunnel::None);
    // The inner frame is a frame like any other: its own parsers must hold up too.
    (void)xcap::ip_implied_length(r.data, r.caplen, r.link_type);
    require(!r.source.name().empty());
  }
  return 0;
}
