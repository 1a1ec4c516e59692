// FileRing split by source (--split source): every output id (mirror source; 0 for frames
// not from a tunnel) gets its own ring of files named <base>-<source>[-<stamp>-<seq>].<ext>,
// with its own .part/rename, -C rotation, -W and sequence numbers; each file holds exactly its
// source's records.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <thread>

#include "common/pcap_file.h"
#include "common/temp_dir.h"
#include "common/wait_until.h"
#include "sink/file/file_namer.h"
#include "sink/file/file_ring.h"

namespace xcap::sink {
namespace {

namespace fs = std::filesystem;
using test::PcapRecord;
using test::TempDir;
using test::wait_until;

// Source index 0 is the capture interface (id 0); the others are added to the table.
const char* const kNames[] = {"eth9", "vxlan:198.18.0.10:vni100", "geneve:2001:db8::1:vni7-ip",
                              "erspan:198.18.0.11:session3"};
const char* const kParts[] = {"eth9", "vxlan_198.18.0.10_vni100", "geneve_2001_db8__1_vni7-ip",
                              "erspan_198.18.0.11_session3"};

struct Sources {
  std::shared_ptr<InterfaceTable> table =
      std::make_shared<InterfaceTable>(InterfaceInfo{kNames[0], 1});
  uint32_t ids[4] = {0, 0, 0, 0};
  void add(unsigned s) { ids[s] = table->add(kNames[s], s == 2 ? 101 : 1); }
};

// One worker's packets. Byte 0: worker, byte 1: source index, bytes 2..5: sequence number of
// the packet within (worker, source). The source of each packet is chosen by pick(i).
struct Traffic {
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<PacketView> views;
  std::vector<unsigned> source;  // per view
  Traffic(uint8_t worker, uint32_t n, uint64_t ts0, uint32_t max_len, const Sources& src,
          const std::function<unsigned(uint32_t, std::mt19937_64&)>& pick) {
    std::mt19937_64 rng(worker * 131 + n);
    bufs.reserve(n);
    uint32_t seq[4] = {0, 0, 0, 0};
    uint64_t ts = ts0;
    for (uint32_t i = 0; i < n; ++i) {
      const unsigned s = pick(i, rng);
      const uint32_t caplen = 8 + static_cast<uint32_t>(rng() % (max_len - 7));
      std::vector<uint8_t> b(caplen);
      for (auto& c : b) c = static_cast<uint8_t>(rng());
      b[0] = worker;
      b[1] = static_cast<uint8_t>(s);
      std::memcpy(&b[2], &seq[s], 4);
      seq[s]++;
      bufs.push_back(std::move(b));
      PacketView v;
      v.data = bufs.back().data();
      v.caplen = caplen;
      v.wire_len = caplen + 4;
      v.ts_ns = ts;
      v.iface_id = src.ids[s];
      views.push_back(v);
      source.push_back(s);
      ts += 500 + rng() % 1000;
    }
  }
  // Records of source s, in append order.
  std::vector<PcapRecord> expected(unsigned s) const {
    std::vector<PcapRecord> out;
    for (size_t i = 0; i < views.size(); ++i) {
      if (source[i] != s) continue;
      const PacketView& v = views[i];
      out.push_back(
          {v.ts_ns, v.caplen, v.wire_len, std::vector<uint8_t>(v.data, v.data + v.caplen)});
    }
    return out;
  }
};

std::vector<PcapRecord> sorted(std::vector<PcapRecord> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::set<std::string> names_in(const std::string& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.insert(e.path().filename().string());
  return out;
}

FileRingConfig split_config(const TempDir& dir, const Sources& src) {
  FileRingConfig cfg;
  cfg.path = dir / "cap.pcap";
  cfg.snaplen = 1500;
  cfg.iface_name = kNames[0];
  cfg.interfaces = src.table;
  cfg.split_by_source = true;
  return cfg;
}

// Two workers, their packets spread at random over four outputs.
void feed_two_workers(FileRing& ring, const Traffic& t0, const Traffic& t1) {
  auto feed = [&](unsigned w, const Traffic& t) {
    FileRingProducer& p = ring.producer(w);
    for (size_t i = 0; i < t.views.size(); ++i) {
      p.append(t.views[i]);
      if (i % 64 == 0) p.flush_if_idle(i);  // flush_ns is far away: arms, never seals
    }
    p.seal();
  };
  std::thread a(feed, 0, std::cref(t0)), b(feed, 1, std::cref(t1));
  a.join();
  b.join();
}

unsigned any_source(uint32_t, std::mt19937_64& rng) {
  return static_cast<unsigned>(rng() % 4);
}

TEST(FileRingSplit, NoRotationOneFilePerSourceHoldingExactlyItsRecords) {
  TempDir dir;
  Sources src;
  for (unsigned s = 1; s < 4; ++s) src.add(s);
  const FileRingConfig cfg = split_config(dir, src);
  Traffic t0(0, 4000, 1'700'000'000'000'000'000ull, 1000, src, any_source);
  Traffic t1(1, 4000, 1'700'000'000'000'000'300ull, 1000, src, any_source);
  auto ring = FileRing::open(cfg, 2);
  ASSERT_TRUE(ring) << ring.error().message;
  feed_two_workers(**ring, t0, t1);
  ASSERT_TRUE((*ring)->close());

  std::set<std::string> want_names;
  for (const char* part : kParts) want_names.insert(std::string("cap-") + part + ".pcap");
  EXPECT_EQ(names_in(dir.path()), want_names);  // exactly four, and no .part left

  const FileRingStats s = (*ring)->stats();
  EXPECT_EQ(s.backpressure_drops, 0u);
  EXPECT_EQ(s.write_error_drops, 0u);
  EXPECT_EQ(s.written_packets, 8000u);
  EXPECT_EQ(s.files_completed, 4u);
  uint64_t bytes = 0;
  for (unsigned k = 0; k < 4; ++k) {
    const std::string path = dir / (std::string("cap-") + kParts[k] + ".pcap");
    bytes += fs::file_size(path);
    auto want = t0.expected(k);
    const auto more = t1.expected(k);
    want.insert(want.end(), more.begin(), more.end());
    ASSERT_GT(want.size(), 500u);
    const auto got = test::read_pcap_records(path);
    EXPECT_EQ(got.size(), want.size()) << path;
    EXPECT_EQ(sorted(got), sorted(want)) << path;
  }
  EXPECT_EQ(bytes, s.written_bytes);
  const auto completed = (*ring)->completed_files();
  std::set<std::string> completed_names;
  for (const auto& p : completed) completed_names.insert(fs::path(p).filename().string());
  EXPECT_EQ(completed.size(), 4u);
  EXPECT_EQ(completed_names, want_names);
}

struct SplitFile {
  std::string path;
  unsigned source;
  uint64_t seq;
  std::string stamp;
};

TEST(FileRingSplit, RotationKeepsTheNewestFilesOfEachSource) {
  TempDir dir;
  Sources src;
  for (unsigned s = 1; s < 4; ++s) src.add(s);
  FileRingConfig cfg = split_config(dir, src);
  cfg.rotate_bytes = 20'000;  // blocks are capped at 5'000 bytes
  cfg.max_files = 2;
  cfg.blocks_per_worker = 256;  // room for every block of this traffic: no drops
  Traffic t0(0, 2000, 1'700'000'000'000'000'000ull, 400, src, any_source);
  Traffic t1(1, 2000, 1'700'000'000'000'000'300ull, 400, src, any_source);
  auto ring = FileRing::open(cfg, 2);
  ASSERT_TRUE(ring) << ring.error().message;
  feed_two_workers(**ring, t0, t1);
  ASSERT_TRUE((*ring)->close());
  const FileRingStats s = (*ring)->stats();
  EXPECT_EQ(s.backpressure_drops, 0u);
  EXPECT_EQ(s.written_packets, 4000u);

  // Every file matches <base>-<source>-<stamp>-<seq>.pcap; nothing else (no .part) is left.
  std::vector<SplitFile> files;
  for (const std::string& name : names_in(dir.path())) {
    bool matched = false;
    for (unsigned k = 0; k < 4; ++k) {
      const std::regex re(std::string("cap-") +
                          std::regex_replace(kParts[k], std::regex("\\."), "\\.") +
                          R"(-(\d{8}T\d{6}\.\d{9}Z)-(\d{6})\.pcap)");
      std::smatch m;
      if (std::regex_match(name, m, re)) {
        files.push_back({dir / name, k, std::stoull(m[2]), m[1]});
        matched = true;
      }
    }
    EXPECT_TRUE(matched) << "unexpected file " << name;
  }
  std::sort(files.begin(), files.end(),
            [](auto& a, auto& b) { return std::tie(a.source, a.seq) < std::tie(b.source, b.seq); });

  uint64_t made = 0;  // files made over the run, from each source's own numbering
  for (unsigned k = 0; k < 4; ++k) {
    std::vector<SplitFile> mine;
    for (const auto& f : files)
      if (f.source == k) mine.push_back(f);
    ASSERT_EQ(mine.size(), 2u) << kParts[k] << ": -W 2 keeps two files per source";
    EXPECT_EQ(mine[1].seq, mine[0].seq + 1) << kParts[k];
    EXPECT_GE(mine[0].seq, 2u) << kParts[k] << ": older files were deleted";
    made += mine[1].seq + 1;

    // Only this source's records, and together per worker the tail of what it appended.
    std::vector<PcapRecord> per_worker[2];
    for (const auto& f : mine) {
      const auto recs = test::read_pcap_records(f.path);
      ASSERT_FALSE(recs.empty()) << f.path;
      EXPECT_EQ(f.stamp, utc_stamp(recs.front().ts_ns)) << f.path;
      EXPECT_LE(fs::file_size(f.path), cfg.rotate_bytes) << f.path;
      for (const PcapRecord& r : recs) {
        ASSERT_EQ(r.data[1], k) << f.path << " holds a record of another source";
        per_worker[r.data[0]].push_back(r);
      }
    }
    const Traffic* t[2] = {&t0, &t1};
    size_t kept = 0;
    for (unsigned w = 0; w < 2; ++w) {
      const auto want = t[w]->expected(k);
      const auto& got = per_worker[w];
      kept += got.size();
      ASSERT_LT(got.size(), want.size());
      EXPECT_TRUE(std::equal(got.begin(), got.end(), want.end() - got.size()))
          << kParts[k] << " worker " << w << ": the kept records are not the newest";
    }
    EXPECT_GT(kept, 0u);
  }
  // Per-source numbering: the sources' counts add up to the files made.
  EXPECT_EQ(made, s.files_completed);
  EXPECT_EQ(s.files_deleted, s.files_completed - 8);
  const auto kept = (*ring)->completed_files();
  EXPECT_EQ(kept.size(), 8u);
  const std::set<std::string> completed(kept.begin(), kept.end());
  std::set<std::string> on_disk;
  for (const auto& f : files) on_disk.insert(f.path);
  EXPECT_EQ(completed, on_disk);
}

TEST(FileRingSplit, ASourceThatAppearsLateGetsItsOwnFile) {
  TempDir dir;
  Sources src;
  src.add(1);
  FileRingConfig cfg = split_config(dir, src);
  cfg.path = dir / "late.pcapng";
  cfg.format = FileFormat::Pcapng;
  cfg.flush_ns = 0;  // every flush_if_idle after the first hands the partial blocks over
  auto ring = FileRing::open(cfg, 1);
  ASSERT_TRUE(ring) << ring.error().message;
  FileRingProducer& p = (*ring)->producer(0);
  std::vector<uint8_t> data(100, 0x5a);
  const uint64_t t0 = 1'800'000'000'000'000'000ull;
  std::map<uint32_t, std::vector<PcapRecord>> want;
  uint64_t ts = t0;
  auto put = [&](uint32_t id, unsigned n) {
    for (unsigned i = 0; i < n; ++i, ts += 1000) {
      data[1] = static_cast<uint8_t>(id);
      std::memcpy(&data[2], &i, 4);
      p.append(PacketView{data.data(), 100, 100, ts, 0, 1, id});
      want[id].push_back({ts, 100, 100, data});
    }
    p.flush_if_idle(1);
    p.flush_if_idle(2);
  };
  put(0, 50);
  put(src.ids[1], 50);
  ASSERT_TRUE(wait_until([&] { return (*ring)->stats().written_packets == 100; }));
  EXPECT_EQ(names_in(dir.path()),
            (std::set<std::string>{"late-eth9.pcapng.part",
                                   "late-vxlan_198.18.0.10_vni100.pcapng.part"}));

  src.add(3);  // a new source shows up mid-capture
  put(src.ids[3], 30);
  put(0, 20);
  ASSERT_TRUE(wait_until([&] { return (*ring)->stats().written_packets == 150; }));
  EXPECT_TRUE(names_in(dir.path()).count("late-erspan_198.18.0.11_session3.pcapng.part"));
  p.seal();
  ASSERT_TRUE((*ring)->close());

  EXPECT_EQ(names_in(dir.path()),
            (std::set<std::string>{"late-eth9.pcapng", "late-vxlan_198.18.0.10_vni100.pcapng",
                                   "late-erspan_198.18.0.11_session3.pcapng"}));
  EXPECT_EQ(test::read_pcap_records(dir / "late-eth9.pcapng"), want[0]);
  EXPECT_EQ(test::read_pcap_records(dir / "late-vxlan_198.18.0.10_vni100.pcapng"),
            want[src.ids[1]]);
  EXPECT_EQ(test::read_pcap_records(dir / "late-erspan_198.18.0.11_session3.pcapng"),
            want[src.ids[3]]);
}

TEST(FileRingSplit, ManySourcesFewBlocksKeepFlowing) {
  // More live sources than blocks, and no flush_if_idle: blocks held by some sources must
  // still go back to the writer, or every other source starves.
  TempDir dir;
  Sources src;
  std::vector<uint32_t> ids = {0};
  for (int i = 0; i < 9; ++i)
    ids.push_back(src.table->add("vxlan:198.18.1." + std::to_string(i) + ":vni1", 1));
  FileRingConfig cfg = split_config(dir, src);
  cfg.blocks_per_worker = 4;
  auto ring = FileRing::open(cfg, 1);
  ASSERT_TRUE(ring) << ring.error().message;
  FileRingProducer& p = (*ring)->producer(0);
  std::vector<uint8_t> data(60, 0x11);
  const unsigned n = 3000;
  uint64_t attempts = 0;
  for (unsigned i = 0; i < n; ++i) {
    const PacketView v{data.data(),        60, 60, 1'800'000'000'000'000'000ull + i, 0, 1,
                       ids[i % ids.size()]};
    // No free block is a drop (the writer may be asleep); a held block must come back, so a
    // retry succeeds soon. A starved source would retry until the limit.
    ASSERT_TRUE(wait_until([&] {
      const uint64_t drops = p.backpressure_drops();
      p.append(v);
      ++attempts;
      return p.backpressure_drops() == drops;
    })) << "record "
        << i << " of source " << v.iface_id << " found no block for 5 s";
  }
  p.seal();
  ASSERT_TRUE((*ring)->close());
  const FileRingStats s = (*ring)->stats();
  EXPECT_EQ(s.written_packets, n);
  EXPECT_EQ(s.backpressure_drops, attempts - n);
  EXPECT_EQ(s.files_completed, ids.size());
  for (const auto& f : (*ring)->completed_files())
    EXPECT_EQ(test::read_pcap_records(f).size(), n / ids.size()) << f;
}

TEST(FileRingSplit, NeedsTheInterfaceTableAndAFilePath) {
  TempDir dir;
  Sources src;
  FileRingConfig cfg = split_config(dir, src);
  cfg.interfaces = nullptr;
  auto r = FileRing::open(cfg, 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("split by source"), std::string::npos) << r.error().message;

  cfg = split_config(dir, src);
  cfg.path = "-";
  r = FileRing::open(cfg, 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("stdout"), std::string::npos) << r.error().message;
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

}  // namespace
}  // namespace xcap::sink
