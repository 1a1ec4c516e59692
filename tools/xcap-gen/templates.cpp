#include "templates.h"

#include <stdexcept>

namespace xcap::gen {
namespace {

constexpr size_t kEth = 14, kIpv4 = 20, kIpv6 = 40, kUdp = 8, kTcp = 20, kVxlan = 8;
constexpr size_t kEthMin = 60;
constexpr uint16_t kVxlanPort = 4789;
// Outer source port of the VXLAN template: a fixed ephemeral port, as a VTEP hashing one
// inner flow would pick. Not 49152: tcpdump decodes that port as Broadcom's LI shim.
constexpr uint16_t kVxlanSport = 50000;

bool is_v6(const std::string& addr) {
  return addr.find(':') != std::string::npos;
}
size_t ip_len(const TemplateSpec& s) {
  return is_v6(s.src) ? kIpv6 : kIpv4;
}

// Where the L4 header that carries the payload (and the stamp) starts.
size_t inner_l4_offset(const TemplateSpec& s) {
  size_t l4 = kEth + ip_len(s);
  if (s.kind == TemplateKind::Vxlan) l4 += kUdp + kVxlan + kEth + ip_len(s);
  return l4;
}

size_t header_len(const TemplateSpec& s) {
  return inner_l4_offset(s) + (s.kind == TemplateKind::Tcp ? kTcp : kUdp);
}

FrameBuilder& add_ip(FrameBuilder& b, const std::string& src, const std::string& dst) {
  return is_v6(src) ? b.ipv6(src, dst) : b.ipv4(src, dst);
}

uint16_t get16(const Bytes& b, size_t off) {
  return uint16_t(b[off] << 8 | b[off + 1]);
}

}  // namespace

size_t template_min_size(const TemplateSpec& spec) {
  size_t need = header_len(spec) + (spec.seq ? 4 : 0);
  return need < kEthMin ? kEthMin : need;
}

Result<TemplateFrame> build_template(const TemplateSpec& s) {
  if (is_v6(s.src) != is_v6(s.dst))
    return invalid_input("--src " + s.src + " and --dst " + s.dst + " are not the same IP family");
  if (s.size < template_min_size(s))
    return invalid_input("--size " + std::to_string(s.size) + " is too small for this template (" +
                         std::to_string(template_min_size(s)) + " bytes at least)");
  size_t payload = s.size - header_len(s);
  // The stamp's bytes stay zero in the template, so the checksum computed here is the
  // seed the BPF program adds each sequence number to.
  size_t stamp = s.seq ? 4 : 0;
  FrameBuilder b;
  try {
    b.eth(s.dst_mac, s.src_mac);
    add_ip(b, s.src, s.dst);
    if (s.kind == TemplateKind::Vxlan) {
      // Inner flow from the same test ranges, a different /24 (or /48) so it is told apart.
      bool v6 = is_v6(s.src);
      b.udp(kVxlanSport, kVxlanPort).vxlan(s.vni).eth(s.dst_mac, s.src_mac);
      add_ip(b, v6 ? "2001:db8:1::1" : "198.18.1.1", v6 ? "2001:db8:1::2" : "198.18.1.2");
    }
    if (s.kind == TemplateKind::Tcp)
      b.tcp(s.sport, s.dport);
    else
      b.udp(s.sport, s.dport);
    b.payload(payload - stamp).payload(stamp, 0);
  } catch (const std::invalid_argument& e) {  // FrameBuilder refuses a bad address or option
    return invalid_input(e.what());
  }
  TemplateFrame t{b.build(), {}};
  if (s.kind == TemplateKind::Vxlan) {
    // RFC 7348: the outer UDP checksum SHOULD be zero (RFC 6935 allows it for IPv6 tunnels);
    // it also keeps the stamp from having to patch two checksums.
    size_t outer_udp = kEth + ip_len(s);
    t.bytes[outer_udp + 6] = t.bytes[outer_udp + 7] = 0;
  }
  if (s.seq) {
    size_t l4 = inner_l4_offset(s);
    StampPlan& p = t.stamp;
    p.seq_offset = uint32_t(s.size - 4);
    p.csum_offset = uint32_t(l4 + (s.kind == TemplateKind::Tcp ? 16 : 6));
    p.csum_seed = uint16_t(~get16(t.bytes, p.csum_offset));
    p.csum_odd = ((p.seq_offset - l4) & 1) != 0;
  }
  return t;
}

}  // namespace xcap::gen
