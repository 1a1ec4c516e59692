#include "common/frame_builder.h"

#include <arpa/inet.h>

#include <stdexcept>

namespace xcap {
namespace {
constexpr uint16_t kEtherIpv4 = 0x0800, kEtherIpv6 = 0x86dd, kEtherTeb = 0x6558;
}

uint32_t checksum_add(const uint8_t* p, size_t n, uint32_t sum) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += (uint32_t(p[i]) << 8) | p[i + 1];
  if (n & 1) sum += uint32_t(p[n - 1]) << 8;
  return sum;
}

uint16_t checksum_fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return uint16_t(sum);
}

// Tells the enclosing layer what follows it (ethertype for L2, protocol for IP).
void FrameBuilder::set_next_type(uint16_t ethertype, uint8_t ipproto) {
  if (layers_.empty()) return;
  const Layer& l = layers_.back();
  switch (l.kind) {
    case Kind::Eth:
      if (buf_[l.offset + 12] == 0 && buf_[l.offset + 13] == 0) put16(l.offset + 12, ethertype);
      break;
    case Kind::Vlan:
      if (buf_[l.offset + 2] == 0 && buf_[l.offset + 3] == 0) put16(l.offset + 2, ethertype);
      break;
    case Kind::Ipv4:
      if (buf_[l.offset + 9] == 0) buf_[l.offset + 9] = ipproto;
      break;
    case Kind::Ipv6:
      if (buf_[l.offset + 6] == 0) buf_[l.offset + 6] = ipproto;
      break;
    case Kind::Gre:
      if (ethertype && buf_[l.offset + 2] == 0 && buf_[l.offset + 3] == 0)
        put16(l.offset + 2, ethertype);
      break;
    case Kind::Geneve:
      if (ethertype && buf_[l.offset + 2] == 0 && buf_[l.offset + 3] == 0)
        put16(l.offset + 2, ethertype);
      break;
    default:
      break;
  }
}

FrameBuilder& FrameBuilder::eth(MacAddr dst, MacAddr src, uint16_t ethertype) {
  set_next_type(kEtherTeb, 0);
  layers_.push_back({Kind::Eth, buf_.size()});
  buf_.insert(buf_.end(), dst.begin(), dst.end());
  buf_.insert(buf_.end(), src.begin(), src.end());
  append({uint8_t(ethertype >> 8), uint8_t(ethertype)});
  return *this;
}

FrameBuilder& FrameBuilder::vlan(uint16_t vid, uint16_t tpid) {
  // The tag sits between the MAC addresses and the ethertype: rewrite the previous type
  // field as the TPID and carry the inner type in the tag.
  if (layers_.empty() || (layers_.back().kind != Kind::Eth && layers_.back().kind != Kind::Vlan))
    throw std::logic_error("FrameBuilder: vlan() must follow eth() or vlan()");
  size_t type_off = buf_.size() - 2;
  put16(type_off, tpid);
  layers_.push_back({Kind::Vlan, buf_.size()});  // the tag: TCI, then the inner ethertype
  append({uint8_t(vid >> 8 & 0x0f), uint8_t(vid), 0, 0});
  return *this;
}

FrameBuilder& FrameBuilder::ipv4(const std::string& src, const std::string& dst, uint8_t proto,
                                 uint8_t ttl) {
  set_next_type(kEtherIpv4, 4);
  layers_.push_back({Kind::Ipv4, buf_.size()});
  append({0x45, 0, 0, 0, 0, 1, 0x40, 0, ttl, proto, 0, 0});
  uint8_t a[4], b[4];
  if (inet_pton(AF_INET, src.c_str(), a) != 1 || inet_pton(AF_INET, dst.c_str(), b) != 1)
    throw std::invalid_argument("FrameBuilder: bad IPv4 address " + src + " / " + dst);
  buf_.insert(buf_.end(), a, a + 4);
  buf_.insert(buf_.end(), b, b + 4);
  return *this;
}

FrameBuilder& FrameBuilder::ipv6(const std::string& src, const std::string& dst, uint8_t next) {
  set_next_type(kEtherIpv6, 41);
  layers_.push_back({Kind::Ipv6, buf_.size()});
  append({0x60, 0, 0, 0, 0, 0, next, 64});
  uint8_t a[16], b[16];
  if (inet_pton(AF_INET6, src.c_str(), a) != 1 || inet_pton(AF_INET6, dst.c_str(), b) != 1)
    throw std::invalid_argument("FrameBuilder: bad IPv6 address " + src + " / " + dst);
  buf_.insert(buf_.end(), a, a + 16);
  buf_.insert(buf_.end(), b, b + 16);
  return *this;
}

FrameBuilder& FrameBuilder::udp(uint16_t sport, uint16_t dport) {
  set_next_type(0, 17);
  layers_.push_back({Kind::Udp, buf_.size()});
  append({uint8_t(sport >> 8), uint8_t(sport), uint8_t(dport >> 8), uint8_t(dport), 0, 0, 0, 0});
  return *this;
}

FrameBuilder& FrameBuilder::tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                                uint32_t ack) {
  set_next_type(0, 6);
  layers_.push_back({Kind::Tcp, buf_.size()});
  append({uint8_t(sport >> 8),
          uint8_t(sport),
          uint8_t(dport >> 8),
          uint8_t(dport),
          uint8_t(seq >> 24),
          uint8_t(seq >> 16),
          uint8_t(seq >> 8),
          uint8_t(seq),
          uint8_t(ack >> 24),
          uint8_t(ack >> 16),
          uint8_t(ack >> 8),
          uint8_t(ack),
          0x50,
          flags,
          0xff,
          0xff,
          0,
          0,
          0,
          0});
  return *this;
}

FrameBuilder& FrameBuilder::icmp_echo(uint16_t id, uint16_t seq) {
  bool v6 = !layers_.empty() && layers_.back().kind == Kind::Ipv6;
  set_next_type(0, v6 ? 58 : 1);
  layers_.push_back({Kind::Icmp, buf_.size()});
  append({uint8_t(v6 ? 128 : 8), 0, 0, 0, uint8_t(id >> 8), uint8_t(id), uint8_t(seq >> 8),
          uint8_t(seq)});
  return *this;
}

FrameBuilder& FrameBuilder::vxlan(uint32_t vni, uint8_t flags) {
  layers_.push_back({Kind::Other, buf_.size()});
  append({flags, 0, 0, 0, uint8_t(vni >> 16), uint8_t(vni >> 8), uint8_t(vni), 0});
  return *this;
}

FrameBuilder& FrameBuilder::gre(uint16_t proto) {
  return gre(proto, GreFields{});
}

FrameBuilder& FrameBuilder::gre(uint16_t proto, const GreFields& f) {
  set_next_type(0, 47);
  uint16_t flags = f.extra_flags;
  if (f.checksum) flags |= 0x8000;
  if (f.key) flags |= 0x2000;
  if (f.seq) flags |= 0x1000;
  layers_.push_back({Kind::Gre, buf_.size()});
  append({uint8_t(flags >> 8), uint8_t(flags), uint8_t(proto >> 8), uint8_t(proto)});
  auto put32 = [&](uint32_t v) {
    append({uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)});
  };
  if (f.checksum) put32(0);  // checksum + reserved1, filled in build()
  if (f.key) put32(*f.key);
  if (f.seq) put32(*f.seq);
  return *this;
}

FrameBuilder& FrameBuilder::geneve(uint32_t vni, uint16_t protocol, const Bytes& options,
                                   uint8_t version) {
  if (options.size() % 4 != 0 || options.size() > 252)
    throw std::invalid_argument("FrameBuilder: GENEVE options must be 4-byte words, <= 252");
  layers_.push_back({Kind::Geneve, buf_.size()});
  append({uint8_t(version << 6 | options.size() / 4), 0, uint8_t(protocol >> 8), uint8_t(protocol),
          uint8_t(vni >> 16), uint8_t(vni >> 8), uint8_t(vni), 0});
  buf_.insert(buf_.end(), options.begin(), options.end());
  return *this;
}

Bytes FrameBuilder::geneve_option(uint16_t cls, uint8_t type, const Bytes& data) {
  const size_t words = (data.size() + 3) / 4;
  if (words > 31) throw std::invalid_argument("FrameBuilder: GENEVE option data > 124 bytes");
  Bytes o = {uint8_t(cls >> 8), uint8_t(cls), type, uint8_t(words)};
  o.insert(o.end(), data.begin(), data.end());
  o.resize(4 + words * 4, 0);
  return o;
}

FrameBuilder& FrameBuilder::erspan2(uint16_t session, const ErspanFields& f) {
  const uint8_t ver = f.version ? f.version : 1;
  layers_.push_back({Kind::Other, buf_.size()});
  // Ver(4) VLAN(12) | COS(3) En(2) T(1) Session(10) | Reserved(12) Index(20)
  append({uint8_t(ver << 4 | (f.vlan >> 8 & 0x0f)), uint8_t(f.vlan),
          uint8_t((f.cos & 7) << 5 | (f.truncated ? 0x04 : 0) | (session >> 8 & 0x03)),
          uint8_t(session), 0, uint8_t(f.index >> 16 & 0x0f), uint8_t(f.index >> 8),
          uint8_t(f.index)});
  return *this;
}

FrameBuilder& FrameBuilder::erspan3(uint16_t session, const ErspanFields& f) {
  const uint8_t ver = f.version ? f.version : 2;
  layers_.push_back({Kind::Other, buf_.size()});
  // Ver(4) VLAN(12) | COS(3) BSO(2) T(1) Session(10) | Timestamp(32) |
  // SGT(16) P(1) FT(5) HW ID(6) D(1) Gra(2) O(1)
  append({uint8_t(ver << 4 | (f.vlan >> 8 & 0x0f)), uint8_t(f.vlan),
          uint8_t((f.cos & 7) << 5 | (f.truncated ? 0x04 : 0) | (session >> 8 & 0x03)),
          uint8_t(session), uint8_t(f.index >> 24), uint8_t(f.index >> 16), uint8_t(f.index >> 8),
          uint8_t(f.index), uint8_t(f.sgt >> 8), uint8_t(f.sgt),
          0x00 /* P 0, FT 0 (Ethernet), HW ID high bits */,
          uint8_t(0x56 /* HW ID 5, D 0, Gra 3 */ | (f.subheader ? 1 : 0))});
  // Platform-specific subheader: Platf ID 3 (an 8-byte example: port ID + timestamp).
  if (f.subheader) append({0x0c, 0, 0, 0x2a, 0x12, 0x34, 0x56, 0x78});
  return *this;
}

FrameBuilder& FrameBuilder::payload(size_t n, uint8_t fill) {
  buf_.insert(buf_.end(), n, fill);
  return *this;
}

FrameBuilder& FrameBuilder::bytes(const Bytes& raw) {
  buf_.insert(buf_.end(), raw.begin(), raw.end());
  return *this;
}

namespace {

// The sum over an L4 checksum's pseudo-header: the enclosing IP header's addresses, the
// protocol and the L4 length.
uint32_t pseudo_header_sum(const Bytes& out, size_t ip_offset, bool ipv6, uint8_t proto,
                           size_t len) {
  const uint32_t s = ipv6 ? checksum_add(&out[ip_offset + 8], 32)  // source, destination
                          : checksum_add(&out[ip_offset + 12], 8);
  return s + proto + uint32_t(len);
}

}  // namespace

const FrameBuilder::Layer* FrameBuilder::enclosing_ip(size_t i) const {
  for (size_t j = i; j-- > 0;)
    if (layers_[j].kind == Kind::Ipv4 || layers_[j].kind == Kind::Ipv6) return &layers_[j];
  return nullptr;
}

void FrameBuilder::finish(Bytes& out, size_t i) const {
  const Layer& l = layers_[i];
  const size_t len = out.size() - l.offset;
  auto put16 = [&](size_t off, uint16_t v) { out[off] = v >> 8, out[off + 1] = v & 0xff; };
  const Layer* ip = enclosing_ip(i);
  auto pseudo = [&](uint8_t proto) {
    return ip ? pseudo_header_sum(out, ip->offset, ip->kind == Kind::Ipv6, proto, len) : 0;
  };
  switch (l.kind) {
    case Kind::Ipv4: {
      put16(l.offset + 2, uint16_t(len));
      put16(l.offset + 10, 0);
      put16(l.offset + 10, uint16_t(~checksum_fold(checksum_add(&out[l.offset], 20))));
      break;
    }
    case Kind::Ipv6:
      put16(l.offset + 4, uint16_t(len - 40));
      break;
    case Kind::Udp: {
      put16(l.offset + 4, uint16_t(len));
      put16(l.offset + 6, 0);
      uint16_t c = ~checksum_fold(checksum_add(&out[l.offset], len, pseudo(17)));
      put16(l.offset + 6, c == 0 ? 0xffff : c);
      break;
    }
    case Kind::Tcp: {
      put16(l.offset + 16, 0);
      put16(l.offset + 16, uint16_t(~checksum_fold(checksum_add(&out[l.offset], len, pseudo(6)))));
      break;
    }
    case Kind::Gre: {
      if (out[l.offset] & 0x80) {  // C bit: checksum over the GRE header and payload
        put16(l.offset + 4, 0);
        put16(l.offset + 4, uint16_t(~checksum_fold(checksum_add(&out[l.offset], len))));
      }
      break;
    }
    case Kind::Icmp: {
      bool v6 = ip && ip->kind == Kind::Ipv6;
      put16(l.offset + 2, 0);
      uint32_t s = checksum_add(&out[l.offset], len, v6 ? pseudo(58) : 0);
      put16(l.offset + 2, uint16_t(~checksum_fold(s)));
      break;
    }
    default:
      break;
  }
}

Bytes FrameBuilder::build(bool pad) const {
  Bytes out = buf_;
  // Innermost first, so an outer UDP checksum covers the finished inner packet.
  for (size_t i = layers_.size(); i-- > 0;) finish(out, i);
  if (pad && out.size() < 60) out.resize(60, 0);
  return out;
}

}  // namespace xcap
