// Includes <pcap/pcap.h>, which the header keeps away from its users (see there).
#include "common/libpcap_reference.h"

#include <pcap/pcap.h>

namespace xcap {

static_assert(sizeof(struct bpf_insn) == sizeof(CbpfInsn));

uint32_t libpcap_bpf_filter(std::span<const CbpfInsn> program, const uint8_t* pkt,
                            uint32_t wire_len, uint32_t caplen) {
  // Same layout (cbpf_insn.h): libpcap reads the program in place.
  return bpf_filter(reinterpret_cast<const struct bpf_insn*>(program.data()), pkt, wire_len,
                    caplen);
}

}  // namespace xcap
