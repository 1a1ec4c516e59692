// The frame corpus and tcpdump expressions of the filter's differential tests: the worker's
// filter against libpcap (tests/unit/filter_differential_test.cpp) and the XDP translation
// (tests/bpf/xdp_filter_test.cpp). Frames are made from a fixed seed: TCP/UDP/ICMP/ICMPv6 over
// IPv4 and IPv6 with extension headers, single and double VLAN tags, ARP, 802.3/LLC, IPv4
// options and fragments, odd TCP flags, cut frames, random bytes. Each field is drawn from a
// small pool most of the time, so that host, port and flag expressions match a fair share of
// frames, and at random otherwise.
//
// Addresses are the test ranges only: 198.18.0.0/15, 2001:db8::/32 (and random bytes).
// Declared without <pcap/pcap.h>, so the BPF tests (which include <linux/bpf.h>) can use it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace xcap::test {

// 60 expressions that do not use the wire length: ports, hosts and nets (v4 and v6),
// protocols, VLAN, TCP flags and byte offsets, link layer, nesting.
const std::vector<std::string>& filter_expressions();
// 5 that do (len, less, greater): only the worker knows the wire length.
const std::vector<std::string>& len_filter_expressions();

struct CapturedFrame {
  std::vector<uint8_t> data;  // the captured bytes: caplen is data.size()
  uint32_t wire_len;          // length on the wire
};

// The worker's corpus: n Ethernet frames as a capture may hold them (whole mostly; cut by a
// snap length, cut anywhere, tiny: caplen below the wire length), and for each one carrying IP
// its IP packet alone (raw IP, what GENEVE and GRE deliver bare), cut the same ways, followed
// by 200 random IP-ish packets.
void make_captured_corpus(uint64_t seed, size_t n, std::vector<CapturedFrame>& ethernet,
                          std::vector<CapturedFrame>& raw);

// Frames as XDP sees them: what arrived is all there is (caplen == wire length), at least an
// Ethernet header long (test_run refuses shorter input). Besides the captured corpus's frames,
// length fields that disagree with the bytes (IPv4 total length, UDP length, IPv6 payload
// length), Ethernet trailers after the packet and up to 4 IPv6 extension headers.
std::vector<std::vector<uint8_t>> make_xdp_corpus(uint64_t seed, size_t n);

// The first max_bytes of b in hex, for failure messages.
std::string hex_prefix(const std::vector<uint8_t>& b, size_t max_bytes);

}  // namespace xcap::test
