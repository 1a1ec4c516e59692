// pcapng with one interface per mirror source: interfaces appear at run time, each file
// carries the IDB of every interface its records name, before the first such record, and
// tshark attributes every record to the right interface with the right link type.
#include <gtest/gtest.h>

#include <sstream>
#include <thread>

#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "sink/file/file_ring.h"

namespace xcap::sink {
namespace {

struct Line {
  uint32_t iface_id;
  std::string iface_name;
  uint32_t len;
  std::string encap;
};

std::vector<Line> tshark_lines(const std::string& path) {
  auto r = test::run({"/usr/bin/tshark", "-r", path, "-T", "fields", "-E", "separator=|", "-e",
                      "frame.interface_id", "-e", "frame.interface_name", "-e", "frame.len", "-e",
                      "frame.encap_type"},
                     60);
  EXPECT_EQ(r.status, 0) << r.output;
  std::vector<Line> out;
  std::istringstream in(r.output);
  std::string s;
  while (std::getline(in, s)) {
    std::istringstream f(s);
    std::string id, name, len, encap;
    if (!std::getline(f, id, '|') || !std::getline(f, name, '|') || !std::getline(f, len, '|'))
      continue;
    std::getline(f, encap, '|');
    if (id.empty() || !isdigit(static_cast<unsigned char>(id[0]))) continue;  // warnings
    out.push_back({uint32_t(std::stoul(id)), name, uint32_t(std::stoul(len)), encap});
  }
  return out;
}

TEST(FileRingInterfaces, SourcesAppearAtRunTimeAndEveryFileDescribesThem) {
  test::TempDir dir;
  auto table = std::make_shared<InterfaceTable>(InterfaceInfo{"eth9", 1});
  FileRingConfig cfg;
  cfg.path = dir / "src.pcapng";
  cfg.format = FileFormat::Pcapng;
  cfg.iface_name = "eth9";
  cfg.interfaces = table;
  cfg.rotate_bytes = 200'000;  // several files: each needs its own IDBs
  auto ring = FileRing::open(cfg, 2);
  ASSERT_TRUE(ring) << ring.error().message;

  std::vector<uint8_t> eth(100, 0xee), raw(80, 0x45);
  raw[0] = 0x45;
  const uint64_t t0 = 1'800'000'000'000'000'000ull;
  auto worker = [&](unsigned w) {
    FileRingProducer& p = (*ring)->producer(w);
    for (unsigned i = 0; i < 6000; i++) {
      PacketView v;
      v.ts_ns = t0 + i * 1000 + w;
      // Sources are met one after another, from both workers.
      uint32_t src = i < 2000 ? 0 : i < 4000 ? 1 : 2;
      if (src == 0) {
        v.iface_id = 0;
      } else if (src == 1) {
        v.iface_id = table->add("vxlan:198.18.0.1" + std::to_string(w) + ":vni100", 1);
      } else {
        v.iface_id = table->add("geneve:198.18.0.20:vni7", 101);
      }
      const auto& bytes = src == 2 ? raw : eth;
      v.data = bytes.data();
      v.caplen = v.wire_len = uint32_t(bytes.size());
      p.append(v);
    }
    p.seal();
  };
  std::thread a(worker, 0), b(worker, 1);
  a.join();
  b.join();
  ASSERT_TRUE((*ring)->close().ok());
  EXPECT_EQ(table->published(), 4u);  // eth9, two VXLAN sources, one GENEVE source

  auto files = (*ring)->completed_files();
  ASSERT_GE(files.size(), 3u);
  size_t total = 0;
  std::map<std::string, size_t> per_name;
  for (const auto& f : files) {
    auto lines = tshark_lines(f);
    ASSERT_FALSE(lines.empty()) << f;
    for (const auto& l : lines) {
      per_name[l.iface_name]++;
      // The link type travels with the interface: raw IP for the L3 GENEVE source.
      if (l.iface_name.rfind("geneve:", 0) == 0) {
        EXPECT_EQ(l.len, 80u);
        EXPECT_NE(l.encap, "1") << "raw IP source written as Ethernet";
      } else {
        EXPECT_EQ(l.len, 100u);
      }
    }
    total += lines.size();
  }
  EXPECT_EQ(total, 12000u);
  EXPECT_EQ(per_name["eth9"], 4000u);
  EXPECT_EQ(per_name["vxlan:198.18.0.10:vni100"], 2000u);
  EXPECT_EQ(per_name["vxlan:198.18.0.11:vni100"], 2000u);
  EXPECT_EQ(per_name["geneve:198.18.0.20:vni7"], 4000u);
}

TEST(InterfaceTable, AddIsIdempotentAndIdsAreDense) {
  InterfaceTable t({"eth0", 1});
  EXPECT_EQ(t.published(), 1u);
  EXPECT_EQ(t.add("a", 1), 1u);
  EXPECT_EQ(t.add("b", 101), 2u);
  EXPECT_EQ(t.add("a", 1), 1u);
  EXPECT_EQ(t.published(), 3u);
  EXPECT_EQ(t.at(2).name, "b");
  EXPECT_EQ(t.at(2).link_type, 101u);
  EXPECT_FALSE(t.full());
}

}  // namespace
}  // namespace xcap::sink
