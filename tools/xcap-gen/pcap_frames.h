// Frames read from a capture file for xcap-gen --pcap. Kept in its own translation unit:
// <pcap/pcap.h> and <linux/bpf.h> both define struct bpf_insn.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/frame_builder.h"
#include "common/result.h"

namespace xcap::gen {

struct PcapFrames {
  std::vector<Bytes> frames;  // in file order, as captured (caplen bytes)
  uint64_t skipped = 0;       // shorter than an Ethernet header or longer than max_len
};

// Reads every frame of an Ethernet (DLT_EN10MB) pcap or pcapng file into memory.
Result<PcapFrames> read_pcap_frames(const std::string& path, size_t max_len);

}  // namespace xcap::gen
