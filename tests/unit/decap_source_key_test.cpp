// SourceKey: the identity and the name of a mirror source (the pcapng interface name, an
// outside contract), and the names of tunnels, link types and errors.
#include "decap/source_key.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <unordered_set>

#include "decap/decap_error.h"
#include "decap/link_type.h"

namespace xcap {
namespace {

SourceKey key(const char* addr, Tunnel t, uint32_t id) {
  SourceKey k;
  k.ipv6 = std::string_view(addr).find(':') != std::string_view::npos;
  EXPECT_EQ(inet_pton(k.ipv6 ? AF_INET6 : AF_INET, addr, k.addr.data()), 1) << addr;
  k.tunnel = t;
  k.id = id;
  return k;
}

TEST(SourceKey, Names) {
  EXPECT_EQ(key("198.18.0.10", Tunnel::Vxlan, 100).name(), "vxlan:198.18.0.10:vni100");
  EXPECT_EQ(key("2001:db8::1", Tunnel::Geneve, 7).name(), "geneve:2001:db8::1:vni7");
  EXPECT_EQ(key("198.18.0.10", Tunnel::Erspan2, 5).name(), "erspan2:198.18.0.10:session5");
  EXPECT_EQ(key("198.19.255.255", Tunnel::Erspan3, 1023).name(),
            "erspan3:198.19.255.255:session1023");
  EXPECT_EQ(key("198.18.0.10", Tunnel::Erspan1, 0).name(), "erspan1:198.18.0.10:session0");
  EXPECT_EQ(key("198.18.0.10", Tunnel::Gre, 0).name(), "gre:198.18.0.10:key0");
  EXPECT_EQ(key("2001:db8:0:0:1:0:0:1", Tunnel::Gre, 4294967295u).name(),
            "gre:2001:db8::1:0:0:1:key4294967295");
  EXPECT_EQ(SourceKey{}.name(), "none");
}

TEST(SourceKey, NameSplitsAtFirstAndLastColon) {
  const std::string n = key("2001:db8::a:b", Tunnel::Vxlan, 16777215).name();
  EXPECT_EQ(n.substr(0, n.find(':')), "vxlan");
  EXPECT_EQ(n.substr(n.rfind(':') + 1), "vni16777215");
  EXPECT_EQ(n.substr(n.find(':') + 1, n.rfind(':') - n.find(':') - 1), "2001:db8::a:b");
}

TEST(SourceKey, EqualityAndHashSeeEveryField) {
  const SourceKey base = key("198.18.0.10", Tunnel::Vxlan, 100);
  std::vector<SourceKey> distinct = {
      base,
      key("198.18.0.11", Tunnel::Vxlan, 100),
      key("198.18.0.10", Tunnel::Geneve, 100),
      key("198.18.0.10", Tunnel::Vxlan, 101),
      key("2001:db8::1", Tunnel::Vxlan, 100),
      key("2001:db8::2", Tunnel::Vxlan, 100),
  };
  // The same 16 bytes read as IPv4 or IPv6 are different sources.
  SourceKey v6_same_bytes = base;
  v6_same_bytes.ipv6 = true;
  distinct.push_back(v6_same_bytes);

  EXPECT_EQ(base, key("198.18.0.10", Tunnel::Vxlan, 100));
  EXPECT_EQ(base.hash(), key("198.18.0.10", Tunnel::Vxlan, 100).hash());
  std::unordered_set<SourceKey> set(distinct.begin(), distinct.end());
  EXPECT_EQ(set.size(), distinct.size());
  std::unordered_set<uint64_t> hashes;
  for (const SourceKey& k : distinct) hashes.insert(k.hash());
  EXPECT_EQ(hashes.size(), distinct.size());
  for (size_t i = 1; i < distinct.size(); ++i) EXPECT_NE(base, distinct[i]) << i;
}

TEST(SourceKey, HashSpreadsNearbyKeys) {
  // 256 addresses x 16 VNIs: a registry's low bits must not collide in bulk.
  std::unordered_set<uint64_t> low_bits;
  for (unsigned a = 0; a < 256; ++a)
    for (uint32_t vni = 0; vni < 16; ++vni) {
      SourceKey k;
      k.addr = {198, 18, 0, uint8_t(a)};
      k.tunnel = Tunnel::Vxlan;
      k.id = vni;
      low_bits.insert(k.hash() & 0xffff);
    }
  EXPECT_GT(low_bits.size(), 3900u);  // of 4096 keys in 65536 buckets: ~3971 for a random function
}

TEST(DecapNames, TunnelsLinkTypesErrors) {
  EXPECT_EQ(to_string(Tunnel::None), "none");
  EXPECT_EQ(to_string(Tunnel::Vxlan), "vxlan");
  EXPECT_EQ(to_string(Tunnel::Geneve), "geneve");
  EXPECT_EQ(to_string(Tunnel::Erspan1), "erspan1");
  EXPECT_EQ(to_string(Tunnel::Erspan2), "erspan2");
  EXPECT_EQ(to_string(Tunnel::Erspan3), "erspan3");
  EXPECT_EQ(to_string(Tunnel::Gre), "gre");
  EXPECT_EQ(uint32_t(LinkType::Ethernet), 1u);
  EXPECT_EQ(uint32_t(LinkType::Raw), 101u);
  EXPECT_EQ(to_string(DecapError::None), "none");
  EXPECT_EQ(to_string(DecapError::Truncated), "truncated");
  EXPECT_EQ(to_string(DecapError::BadFlags), "bad_flags");
  EXPECT_EQ(to_string(DecapError::BadLength), "bad_length");
  EXPECT_EQ(to_string(DecapError::UnknownProtocol), "unknown_protocol");
  for (unsigned t = 0; t < kTunnelCount; ++t) EXPECT_NE(to_string(Tunnel(t)), "unknown") << t;
  for (unsigned e = 0; e < kDecapErrorCount; ++e)
    EXPECT_NE(to_string(DecapError(e)), "unknown") << e;
}

}  // namespace
}  // namespace xcap
