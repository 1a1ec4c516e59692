// FrameBuilder: composes Ethernet frames layer by layer for tests, the BPF test runner and
// xcap-gen's templates. Lengths and checksums of every IPv4/IPv6/UDP/TCP layer are fixed up
// in build(), innermost first, so tunnels (VXLAN inside UDP inside IPv4) come out consistent.
//
//   auto f = FrameBuilder().eth().ipv4("198.18.0.1", "198.18.0.2").udp(1000, 4789)
//                .vxlan(100).eth().ipv4(...).tcp(1234, 443).payload(64).build();
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xcap {

using Bytes = std::vector<uint8_t>;
using MacAddr = std::array<uint8_t, 6>;

// Optional GRE fields (RFC 2784/2890): each present field sets its flag bit.
struct GreFields {
  std::optional<uint32_t> key;  // K bit
  std::optional<uint32_t> seq;  // S bit (ERSPAN II and III set it)
  bool checksum = false;        // C bit; the checksum is computed in build()
  uint16_t extra_flags = 0;     // ORed into the flags/version word (tests of bad flags)
};

// ERSPAN header fields (draft-foschiano-erspan); unused ones stay zero.
struct ErspanFields {
  uint16_t vlan = 0;
  uint8_t cos = 0;
  bool truncated = false;  // T bit: the mirrored frame was cut
  uint32_t index = 0;      // type II: port index (20 bits); type III: timestamp
  uint16_t sgt = 0;        // type III: security group tag
  bool subheader = false;  // type III: O bit and an 8-byte platform-specific subheader
  uint8_t version = 0;     // 0: the type's own (1 for type II, 2 for type III)
};

class FrameBuilder {
 public:
  FrameBuilder& eth(MacAddr dst = {0x02, 0, 0, 0, 0, 2}, MacAddr src = {0x02, 0, 0, 0, 0, 1},
                    uint16_t ethertype = 0);  // 0: set by the next layer
  FrameBuilder& vlan(uint16_t vid, uint16_t tpid = 0x8100);
  FrameBuilder& ipv4(const std::string& src, const std::string& dst, uint8_t proto = 0,
                     uint8_t ttl = 64);
  FrameBuilder& ipv6(const std::string& src, const std::string& dst, uint8_t next = 0);
  FrameBuilder& udp(uint16_t sport, uint16_t dport);
  FrameBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags = 0x18, uint32_t seq = 1,
                    uint32_t ack = 1);
  FrameBuilder& icmp_echo(uint16_t id = 1, uint16_t seq = 1);
  FrameBuilder& vxlan(uint32_t vni, uint8_t flags = 0x08);
  FrameBuilder& gre(uint16_t proto);  // 0: set by the next layer (eth, ipv4, ipv6)
  FrameBuilder& gre(uint16_t proto, const GreFields& fields);
  // GENEVE (RFC 8926): options are whole option TLVs (see geneve_option), a multiple of 4
  // bytes, at most 252. protocol 0: set by the next layer.
  FrameBuilder& geneve(uint32_t vni, uint16_t protocol = 0x6558, const Bytes& options = {},
                       uint8_t version = 0);
  // One GENEVE option TLV: class, type, then data padded to a multiple of 4 bytes.
  static Bytes geneve_option(uint16_t cls, uint8_t type, const Bytes& data);
  // ERSPAN type II (8 bytes) and type III (12, or 20 with the subheader) headers. They follow
  // gre(0x88be, {.seq = n}) and gre(0x22eb, {.seq = n}); the mirrored frame follows them.
  FrameBuilder& erspan2(uint16_t session, const ErspanFields& fields = {});
  FrameBuilder& erspan3(uint16_t session, const ErspanFields& fields = {});
  FrameBuilder& payload(size_t n, uint8_t fill = 0xab);
  FrameBuilder& bytes(const Bytes& raw);

  // Finishes lengths and checksums. Pads to the 60-byte Ethernet minimum unless pad is false.
  Bytes build(bool pad = true) const;

  // Bytes so far: the offset at which the next layer will start.
  size_t size() const { return buf_.size(); }

 private:
  enum class Kind { Eth, Vlan, Ipv4, Ipv6, Udp, Tcp, Icmp, Gre, Geneve, Other };
  struct Layer {
    Kind kind;
    size_t offset;
  };
  void set_next_type(uint16_t ethertype, uint8_t ipproto);
  // The IP layer in front of layer i, whose addresses an L4 checksum covers; nullptr if none.
  const Layer* enclosing_ip(size_t i) const;
  // Fills in layer i's lengths and checksum in out, whose layers after i are finished.
  void finish(Bytes& out, size_t i) const;
  void put16(size_t off, uint16_t v) { buf_[off] = v >> 8, buf_[off + 1] = v & 0xff; }
  void append(std::initializer_list<uint8_t> b) { buf_.insert(buf_.end(), b); }

  Bytes buf_;
  std::vector<Layer> layers_;
};

// Internet checksum over a byte range, folded, not inverted.
uint32_t checksum_add(const uint8_t* p, size_t n, uint32_t sum = 0);
uint16_t checksum_fold(uint32_t sum);

}  // namespace xcap
