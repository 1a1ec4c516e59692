// Template frames for xcap-gen: one Ethernet frame of an exact size, plus where the BPF side
// should stamp the sequence number and which checksum it must keep valid while doing so.
#pragma once

#include <cstdint>
#include <string>

#include "common/frame_builder.h"
#include "common/result.h"

namespace xcap::gen {

enum class TemplateKind { Udp, Vxlan, Tcp };

struct TemplateSpec {
  TemplateKind kind = TemplateKind::Udp;
  size_t size = 64;  // whole frame incl. the Ethernet header, excl. FCS
  MacAddr src_mac{0x02, 0, 0, 0, 0, 1};
  MacAddr dst_mac{0x02, 0, 0, 0, 0, 2};
  std::string src = "198.18.0.1";  // outer source (IPv4 or IPv6, same family as dst)
  std::string dst = "198.18.0.2";
  uint16_t sport = 1234;  // for vxlan: the inner flow's ports
  uint16_t dport = 5678;
  uint32_t vni = 100;
  bool seq = false;  // leave room for, and describe, the 4-byte sequence stamp
};

// What the BPF program needs to stamp frames; all offsets from the Ethernet header, 0 = none.
struct StampPlan {
  uint32_t seq_offset = 0;
  uint32_t csum_offset = 0;  // checksum covering the stamp
  uint32_t csum_seed = 0;    // folded sum of the covered bytes with the stamp zero
  bool csum_odd = false;     // stamp at an odd distance from the checksum's header
};

struct TemplateFrame {
  Bytes bytes;
  StampPlan stamp;
};

// Smallest --size the template can be built at (headers, plus the stamp when seq is set),
// never below the 60-byte Ethernet minimum.
size_t template_min_size(const TemplateSpec& spec);

// Builds the frame; errors name the flag at fault (--size, --src, --dst).
Result<TemplateFrame> build_template(const TemplateSpec& spec);

}  // namespace xcap::gen
