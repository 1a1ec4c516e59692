// apply_filter: keeps the frames of a batch that the tcpdump expression selects, in order, in
// place. Runs after decapsulation, so the expression sees the inner frame with its own link
// type (Ethernet, or bare IP in pcapng), and the true wire length (`len`, `greater`). Frames
// the XDP filter already selected (PacketView::xdp_selected) are kept without a second run.
#pragma once

#include "common/packet_view.h"
#include "filter/filter_set.h"

namespace xcap::worker {

inline unsigned apply_filter(const FilterSet& filter, PacketView* batch, unsigned n) {
  unsigned out = 0;
  for (unsigned i = 0; i < n; i++) {
    const PacketView& v = batch[i];
    if (v.xdp_selected ||
        filter.matches(static_cast<LinkType>(v.link_type), v.data, v.caplen, v.wire_len))
      batch[out++] = v;
  }
  return out;
}

}  // namespace xcap::worker
