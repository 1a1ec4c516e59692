#include "worker/decap_stage.h"

#include <cstring>

#include "decap/byte_order.h"

namespace xcap::worker {
namespace {

using wire::kEthHeaderLen;

// Writes an Ethernet header into the kEthHeaderLen bytes before ip (the tunnel header the
// decapsulator just stepped over) and returns its start.
uint8_t* synthesize_ethernet(uint8_t* ip) {
  uint8_t* eth = ip - kEthHeaderLen;
  std::memset(eth, 0, 12);
  const bool v6 = (ip[0] >> 4) == 6;
  eth[12] = v6 ? 0x86 : 0x08;
  eth[13] = v6 ? 0xdd : 0x00;
  return eth;
}

}  // namespace

DecapStage::DecapStage(const DecapStageConfig& cfg)
    : decap_(cfg.decap),
      keep_errors_(cfg.keep_errors),
      synthesize_ethernet_(cfg.synthesize_ethernet),
      sources_(cfg.interfaces ? std::make_unique<SourceCache>(*cfg.interfaces) : nullptr) {}

unsigned DecapStage::apply(PacketView* batch, unsigned n) {
  unsigned out = 0, stripped = 0, dropped = 0, kept = 0;
  for (unsigned i = 0; i < n; i++) {
    PacketView v = batch[i];
    const DecapResult r = decap_.decap(v.data, v.caplen, v.wire_len);
    if (!r.ok()) [[unlikely]] {
      counters_.errors[static_cast<unsigned>(r.error_tunnel)].add(1);
      if (!keep_errors_) {
        dropped++;
        continue;
      }
      batch[out++] = v;  // the outer frame as it arrived, on interface 0
      continue;
    }
    if (r.depth) {
      stripped++;
      kept += r.inner_error != DecapError::None;
      v.data = r.data;
      v.caplen = r.caplen;
      v.wire_len = r.wire_len;
      // A raw IP inner frame always sits behind at least an outer Ethernet, IP and tunnel
      // header, so the bytes before it are the frame's own: 14 of them are free to overwrite.
      LinkType link = r.link_type;
      if (link == LinkType::Raw && synthesize_ethernet_ && r.caplen) {
        v.data = synthesize_ethernet(const_cast<uint8_t*>(r.data));
        v.caplen += kEthHeaderLen;
        v.wire_len += kEthHeaderLen;
        link = LinkType::Ethernet;  // one interface per source, whatever its frames carried
      }
      v.link_type = static_cast<uint16_t>(linktype_value(link));
      if (sources_) v.iface_id = sources_->iface_for(r.source, link);
    }
    batch[out++] = v;
  }
  if (stripped) counters_.decapsulated.add(stripped);
  if (dropped) counters_.dropped.add(dropped);
  if (kept) counters_.inner_kept.add(kept);
  return out;
}

}  // namespace xcap::worker
