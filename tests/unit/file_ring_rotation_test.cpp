// FileRing rotation: -C by size, -G by epoch-aligned time, -W by count; file names follow the
// contract <base>-<YYYYmmddTHHMMSS.nnnnnnnnnZ>-<seq>.<ext>, a file is <name>.part while open
// and renamed when complete, and no record is lost or duplicated across files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <regex>

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

// Byte 0: worker; bytes 1..4: sequence number. ts advances by step_ns +- jitter.
struct Traffic {
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<PacketView> views;
  Traffic(uint8_t worker, uint32_t n, uint64_t ts0, uint64_t step_ns, uint32_t max_len = 1000) {
    std::mt19937_64 rng(worker * 31 + n);
    bufs.reserve(n);
    uint64_t ts = ts0;
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t caplen = 8 + static_cast<uint32_t>(rng() % (max_len - 7));
      std::vector<uint8_t> b(caplen);
      for (auto& c : b) c = static_cast<uint8_t>(rng());
      b[0] = worker;
      std::memcpy(&b[1], &i, 4);
      bufs.push_back(std::move(b));
      views.push_back({bufs.back().data(), caplen, caplen + 4, ts, false, 0});
      ts += step_ns / 2 + rng() % step_ns;
    }
  }
  std::vector<PcapRecord> expected() const {
    std::vector<PcapRecord> out;
    for (const auto& v : views) {
      out.push_back(
          {v.ts_ns, v.caplen, v.wire_len, std::vector<uint8_t>(v.data, v.data + v.caplen)});
    }
    return out;
  }
};

// Completed files of a directory, by sequence number, checked against the name contract.
struct RingFile {
  std::string path;
  uint64_t seq;
  std::string stamp;
};
std::vector<RingFile> ring_files(const std::string& dir, const std::string& base,
                                 const std::string& ext) {
  const std::regex re(base + R"(-(\d{8}T\d{6}\.\d{9}Z)-(\d{6})\.)" + ext);
  std::vector<RingFile> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    std::smatch m;
    EXPECT_TRUE(std::regex_match(name, m, re)) << "unexpected file " << name;
    if (m.empty()) continue;
    out.push_back({e.path().string(), std::stoull(m[2]), m[1]});
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  return out;
}

std::vector<std::string> paths(const std::vector<RingFile>& files) {
  std::vector<std::string> out;
  for (const auto& f : files) out.push_back(f.path);
  return out;
}

TEST(FileRingRotation, BySizeTwoWorkers) {
  TempDir dir;
  FileRingConfig cfg;
  cfg.path = dir / "cap.pcap";
  cfg.snaplen = 1500;
  cfg.rotate_bytes = 64'000;  // blocks are capped at 16'000 bytes for this
  cfg.blocks_per_worker = 64;
  Traffic t0(0, 1500, 1'700'000'000'000'000'000ull, 1'000'000);
  Traffic t1(1, 1500, 1'700'000'000'000'000'500ull, 1'000'000);
  auto ring = FileRing::open(cfg, 2);
  ASSERT_TRUE(ring) << ring.error().message;
  auto feed = [&](unsigned w, const Traffic& t) {
    for (const auto& v : t.views) (*ring)->producer(w).append(v);
    (*ring)->producer(w).seal();
  };
  std::thread a(feed, 0, std::cref(t0)), b(feed, 1, std::cref(t1));
  a.join();
  b.join();
  ASSERT_TRUE((*ring)->close());

  const auto files = ring_files(dir.path(), "cap", "pcap");  // no .part left: regex says so
  ASSERT_GE(files.size(), 10u);
  const FileRingStats s = (*ring)->stats();
  EXPECT_EQ(s.files_completed, files.size());
  EXPECT_EQ(s.files_deleted, 0u);
  EXPECT_EQ(s.backpressure_drops, 0u);
  EXPECT_EQ((*ring)->completed_files(), paths(files));
  uint64_t bytes = 0;
  std::vector<PcapRecord> all;
  std::vector<PcapRecord> per_worker[2];
  for (size_t i = 0; i < files.size(); ++i) {
    EXPECT_EQ(files[i].seq, i);
    const uint64_t size = fs::file_size(files[i].path);
    bytes += size;
    EXPECT_LE(size, cfg.rotate_bytes) << files[i].path;
    if (i + 1 < files.size()) {
      // Rotated because the next block did not fit: within one block (16,000 bytes) of -C.
      EXPECT_GT(size, cfg.rotate_bytes - 16'000) << files[i].path;
    }
    const auto recs = test::read_pcap_records(files[i].path);
    ASSERT_FALSE(recs.empty()) << files[i].path;
    EXPECT_EQ(files[i].stamp, utc_stamp(recs.front().ts_ns)) << files[i].path;
    for (const PcapRecord& r : recs) per_worker[r.data[0]].push_back(r), all.push_back(r);
  }
  EXPECT_EQ(bytes, s.written_bytes);
  // Nothing lost or duplicated, and each worker's order survives across files.
  EXPECT_EQ(per_worker[0], t0.expected());
  EXPECT_EQ(per_worker[1], t1.expected());
  EXPECT_EQ(s.written_packets, 3000u);
}

TEST(FileRingRotation, PartFileWhileOpenRenamedAtCloseAndNoEmptyFiles) {
  TempDir dir;
  FileRingConfig cfg;
  cfg.path = dir / "cap.pcapng";
  cfg.format = FileFormat::Pcapng;
  cfg.rotate_bytes = 1'000'000;
  {
    auto ring = FileRing::open(cfg, 1);
    ASSERT_TRUE(ring) << ring.error().message;
    ASSERT_TRUE((*ring)->close());
    EXPECT_TRUE(fs::is_empty(dir.path())) << "a ring with no packets creates no file";
  }
  auto ring = FileRing::open(cfg, 1);
  ASSERT_TRUE(ring) << ring.error().message;
  Traffic t(0, 10, 1'700'000'000'123'456'789ull, 1000);
  for (const auto& v : t.views) (*ring)->producer(0).append(v);
  (*ring)->producer(0).seal();
  ASSERT_TRUE(wait_until([&] { return (*ring)->stats().written_packets == 10; }));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir.path())) names.push_back(e.path().string());
  ASSERT_EQ(names.size(), 1u);
  EXPECT_EQ(names[0], dir / "cap-20231114T221320.123456789Z-000000.pcapng.part");
  EXPECT_TRUE((*ring)->completed_files().empty());

  ASSERT_TRUE((*ring)->close());
  const auto files = ring_files(dir.path(), "cap", "pcapng");
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].path, dir / "cap-20231114T221320.123456789Z-000000.pcapng");
  EXPECT_EQ(test::read_pcap_records(files[0].path), t.expected());
}

TEST(FileRingRotation, ByAlignedTimeOneFilePerPeriod) {
  TempDir dir;
  FileRingConfig cfg;
  cfg.path = dir / "t.pcap";
  cfg.rotate_seconds = 1;
  cfg.block_bytes = 64 << 10;
  cfg.blocks_per_worker = 64;  // one block per period at least: room for all, no drops
  // 0.7 s into a second, ~37 ms apart: crosses about 11 aligned one-second boundaries.
  Traffic t(0, 300, 1'700'000'000'700'000'000ull, 37'000'000);
  auto ring = FileRing::open(cfg, 1);
  ASSERT_TRUE(ring) << ring.error().message;
  for (const auto& v : t.views) (*ring)->producer(0).append(v);
  (*ring)->producer(0).seal();
  ASSERT_TRUE((*ring)->close());

  std::map<uint64_t, size_t> per_second;
  for (const auto& v : t.views) per_second[v.ts_ns / 1'000'000'000u]++;
  const auto files = ring_files(dir.path(), "t", "pcap");
  ASSERT_EQ(files.size(), per_second.size());
  std::vector<PcapRecord> all;
  auto period = per_second.begin();
  for (const auto& f : files) {
    const auto recs = test::read_pcap_records(f.path);
    ASSERT_FALSE(recs.empty());
    EXPECT_EQ(f.stamp, utc_stamp(recs.front().ts_ns)) << f.path;
    EXPECT_EQ(recs.size(), period->second) << f.path;
    for (const PcapRecord& r : recs) {
      EXPECT_EQ(r.ts_ns / 1'000'000'000u, period->first) << f.path << " holds another period";
      all.push_back(r);
    }
    ++period;
  }
  EXPECT_EQ(all, t.expected());
}

TEST(FileRingRotation, LateBlockOfAnOlderPeriodGoesIntoTheCurrentFile) {
  TempDir dir;
  FileRingConfig cfg;
  cfg.path = dir / "late.pcap";
  cfg.rotate_seconds = 10;
  const uint64_t p0 = 1'700'000'000'000'000'000ull;  // a multiple of 10 s
  auto ring = FileRing::open(cfg, 2);
  ASSERT_TRUE(ring) << ring.error().message;
  std::vector<uint8_t> data(60, 0x5a);
  auto put = [&](unsigned w, uint64_t ts, uint64_t expect_written) {
    (*ring)->producer(w).append(PacketView{data.data(), 60, 60, ts, 0, 0});
    (*ring)->producer(w).seal();
    ASSERT_TRUE(wait_until([&] { return (*ring)->stats().written_packets == expect_written; }));
  };
  put(0, p0 + 9'000'000'000, 1);   // period 0
  put(0, p0 + 10'000'000'000, 2);  // period 1: new file
  put(1, p0 + 9'500'000'000, 3);   // late, period 0: current file, no new one
  ASSERT_TRUE((*ring)->close());
  const auto files = ring_files(dir.path(), "late", "pcap");
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[1].stamp, utc_stamp(p0 + 10'000'000'000));
  const auto second = test::read_pcap_records(files[1].path);
  ASSERT_EQ(second.size(), 2u);
  EXPECT_EQ(second[1].ts_ns, p0 + 9'500'000'000);
}

TEST(FileRingRotation, ByCountKeepsTheNewestFiles) {
  TempDir dir;
  FileRingConfig cfg;
  cfg.path = dir / "w.pcapng";
  cfg.format = FileFormat::Pcapng;
  cfg.snaplen = 1500;
  cfg.rotate_bytes = 40'000;
  cfg.max_files = 3;
  cfg.blocks_per_worker = 128;
  Traffic t(0, 1500, 1'700'000'000'000'000'000ull, 1'000'000);
  auto ring = FileRing::open(cfg, 1);
  ASSERT_TRUE(ring) << ring.error().message;
  for (const auto& v : t.views) (*ring)->producer(0).append(v);
  (*ring)->producer(0).seal();
  ASSERT_TRUE((*ring)->close());

  const FileRingStats s = (*ring)->stats();
  const auto files = ring_files(dir.path(), "w", "pcapng");
  ASSERT_EQ(files.size(), 3u);
  ASSERT_GT(s.files_completed, 5u);
  EXPECT_EQ(s.files_deleted, s.files_completed - 3);
  EXPECT_EQ(s.written_packets, t.views.size());
  EXPECT_EQ((*ring)->completed_files(), paths(files));
  // The survivors are the newest three, and together the tail of what was appended.
  EXPECT_EQ(files[0].seq, s.files_completed - 3);
  std::vector<PcapRecord> kept;
  for (const auto& f : files) {
    auto recs = test::read_pcap_records(f.path);
    kept.insert(kept.end(), recs.begin(), recs.end());
  }
  const auto want = t.expected();
  ASSERT_LT(kept.size(), want.size());
  EXPECT_TRUE(std::equal(kept.begin(), kept.end(), want.end() - kept.size()));
}

}  // namespace
}  // namespace xcap::sink
