// libpcap's own interpreter, bpf_filter, on a CbpfInsn program: the reference that tests hold
// xcap's evaluators to (CbpfInterpreter, the XDP translation). Test support, not in xcap.
// Declared without <pcap/pcap.h>, so translation units that include <linux/bpf.h> (the BPF
// tests) can call it.
#pragma once

#include <cstdint>
#include <span>

#include "filter/cbpf_insn.h"

namespace xcap {

// bpf_filter(program, pkt, wire_len, caplen): 0 rejects, anything else accepts.
uint32_t libpcap_bpf_filter(std::span<const CbpfInsn> program, const uint8_t* pkt,
                            uint32_t wire_len, uint32_t caplen);

}  // namespace xcap
