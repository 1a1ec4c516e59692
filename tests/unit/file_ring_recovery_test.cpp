// The file sink's on-disk rules (file_recovery.h): torn pcap/pcapng files are cut back to their
// last complete record; .part files a dead run left are sealed and renamed at the next open,
// while one a live writer holds is left alone; nothing is overwritten (x.pcap exists: the run
// writes x.1.pcap); a ring adopts earlier runs' files for -W and seq; a write error leaves a
// complete, renamed file whose records are exactly the counted ones.
#include "sink/file/file_recovery.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>

#include "common/pcap_file.h"
#include "common/temp_dir.h"
#include "sink/file/file_namer.h"
#include "sink/file/file_ring.h"
#include "sink/file/pcap_format.h"

namespace xcap::sink {
namespace {

namespace fs = std::filesystem;
using test::PcapRecord;
using test::TempDir;

struct Packets {
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<PacketView> views;
  explicit Packets(uint32_t n, uint32_t seed = 1, uint32_t max_len = 1500) {
    std::mt19937 rng(seed);
    bufs.reserve(n);
    for (uint32_t i = 0; i < n; i++) {
      std::vector<uint8_t> b(60 + rng() % (max_len - 59));
      for (auto& c : b) c = uint8_t(rng());
      bufs.push_back(std::move(b));
      views.push_back({bufs.back().data(), uint32_t(bufs.back().size()),
                       uint32_t(bufs.back().size()), 1'700'000'000'000'000'000ull + i * 1000ull, 0,
                       0});
    }
  }
  std::vector<PcapRecord> records(size_t n) const {
    std::vector<PcapRecord> out;
    for (size_t i = 0; i < n; i++)
      out.push_back({views[i].ts_ns, views[i].caplen, views[i].wire_len, bufs[i]});
    return out;
  }
};

// A whole capture file as xcap writes it.
std::vector<uint8_t> encode(const Packets& p, bool pcapng) {
  std::vector<uint8_t> out =
      pcapng ? pcapng_file_header("eth0", 262144, 1) : pcap_file_header(262144, 1);
  for (const PacketView& v : p.views) {
    const RecordLengths len = record_lengths(v, 262144);
    const size_t at = out.size();
    out.resize(at + (pcapng ? pcapng_record_bytes(len.caplen) : pcap_record_bytes(len.caplen)));
    if (pcapng)
      encode_pcapng_record(out.data() + at, v, len);
    else
      encode_pcap_record(out.data() + at, v, len);
  }
  return out;
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
}

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

CaptureScan scan(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0) << path;
  auto s = scan_capture_file(fd);
  ::close(fd);
  EXPECT_TRUE(s) << s.error().message;
  return s ? *s : CaptureScan{};
}

class TornFile : public ::testing::TestWithParam<bool> {};  // pcapng?

TEST_P(TornFile, ScanFindsTheLastCompleteRecordWhereverTheFileIsCut) {
  const bool pcapng = GetParam();
  TempDir dir;
  Packets p(40, 7);
  const std::vector<uint8_t> whole = encode(p, pcapng);
  // Where each complete record ends.
  std::vector<size_t> ends;
  {
    size_t off = pcapng ? pcapng_file_header("eth0", 262144, 1).size() : 24;
    ends.push_back(off);
    for (const PacketView& v : p.views) {
      off += pcapng ? pcapng_record_bytes(v.caplen) : pcap_record_bytes(v.caplen);
      ends.push_back(off);
    }
    ASSERT_EQ(off, whole.size());
  }
  std::mt19937 rng(3);
  for (int i = 0; i < 200; i++) {
    const size_t cut = i == 0 ? whole.size() : rng() % whole.size();
    const std::string path = dir / "t";
    write_bytes(path, std::vector<uint8_t>(whole.begin(), whole.begin() + long(cut)));
    const CaptureScan s = scan(path);
    ASSERT_EQ(s.file_bytes, cut);
    if (cut == 0) {
      EXPECT_EQ(s.kind, CaptureScan::Kind::Empty);
      continue;
    }
    EXPECT_EQ(s.kind, CaptureScan::Kind::Capture) << cut;
    EXPECT_EQ(s.pcapng, pcapng);
    // The last record end at or before the cut.
    auto it = std::upper_bound(ends.begin(), ends.end(), cut);
    if (it == ends.begin()) {
      EXPECT_EQ(s.records, 0u) << cut;
      if (!pcapng) {
        EXPECT_EQ(s.complete_bytes, 0u) << cut;
      }
      continue;
    }
    const size_t n = size_t(it - ends.begin()) - 1;
    EXPECT_EQ(s.complete_bytes, ends[n]) << "cut at " << cut;
    EXPECT_EQ(s.records, n) << "cut at " << cut;
  }
}

TEST_P(TornFile, ZerosAfterTheLastRecordAreNotRecords) {
  // A power cut can leave a file longer than what reached the disk, the rest zeros.
  const bool pcapng = GetParam();
  TempDir dir;
  Packets p(10, 9);
  std::vector<uint8_t> b = encode(p, pcapng);
  const size_t good = b.size();
  b.resize(b.size() + 8192, 0);
  write_bytes(dir / "z", b);
  const CaptureScan s = scan(dir / "z");
  EXPECT_EQ(s.complete_bytes, good);
  EXPECT_EQ(s.records, 10u);
}

INSTANTIATE_TEST_SUITE_P(Formats, TornFile, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "pcapng" : "pcap"; });

TEST(FileRecovery, CompleteRecordsOfABlockStopAtTheCut) {
  for (bool pcapng : {false, true}) {
    Packets p(5, 11);
    std::vector<uint8_t> whole = encode(p, pcapng);
    const size_t hdr = pcapng ? pcapng_file_header("eth0", 262144, 1).size() : 24;
    std::vector<uint8_t> block(whole.begin() + long(hdr), whole.end());
    const size_t first =
        pcapng ? pcapng_record_bytes(p.views[0].caplen) : pcap_record_bytes(p.views[0].caplen);
    EXPECT_EQ(complete_records(block.data(), block.size(), pcapng).records, 5u);
    EXPECT_EQ(complete_records(block.data(), block.size(), pcapng).bytes, block.size());
    EXPECT_EQ(complete_records(block.data(), first - 1, pcapng).records, 0u);
    EXPECT_EQ(complete_records(block.data(), first + 3, pcapng).records, 1u);
    EXPECT_EQ(complete_records(block.data(), first + 3, pcapng).bytes, first);
  }
}

TEST(FileRecovery, DeadRunsPartsAreSealedRenamedOrRemoved) {
  TempDir dir;
  Packets p(30, 5);
  std::vector<uint8_t> pcap = encode(p, false), png = encode(p, true);
  auto torn = [](std::vector<uint8_t> b, size_t minus) {
    b.resize(b.size() - minus);
    return b;
  };
  const std::string stamp = "20240101T000000.000000000Z";
  write_bytes(dir / "x.pcap.part", torn(pcap, 5));                                // single file
  write_bytes(dir / ("x-" + stamp + "-000004.pcap.part"), torn(pcap, 100));       // ring
  write_bytes(dir / ("x-src_a-" + stamp + "-000001.pcapng.part"), torn(png, 7));  // split ring
  write_bytes(dir / "x-src_b.pcap.part", pcap);                                   // split, complete
  write_bytes(dir / "x.3.pcap.part", torn(pcap, pcap.size() - 30));               // header only
  write_bytes(dir / "x-notes.pcap.part", {'h', 'e', 'l', 'l', 'o', ' ', 'w', 'o'});
  write_bytes(dir / "other.pcap.part", pcap);  // another base: not ours
  write_bytes(dir / ("x-" + stamp + "-000005.pcap.part"), pcap);
  // A live writer holds this one.
  const int live = ::open((dir / ("x-" + stamp + "-000005.pcap.part")).c_str(), O_RDWR);
  ASSERT_GE(live, 0);
  ASSERT_EQ(flock(live, LOCK_EX), 0);

  recover_parts(dir / "x.pcap");
  ::close(live);

  const std::vector<std::string> expect = {
      "other.pcap.part",
      "x-" + stamp + "-000004.pcap",
      "x-" + stamp + "-000005.pcap.part",
      "x-notes.pcap.part",
      "x-src_a-" + stamp + "-000001.pcapng",
      "x-src_b.pcap",
      "x.pcap",
  };
  EXPECT_EQ(names_in(dir.path()), expect);
  // Every complete record is still there and libpcap reads each file to the end.
  EXPECT_EQ(test::read_pcap_records(dir / "x.pcap"), p.records(29));
  EXPECT_EQ(test::read_pcap_records(dir / ("x-" + stamp + "-000004.pcap")).size(),
            scan(dir / ("x-" + stamp + "-000004.pcap")).records);
  EXPECT_EQ(test::read_pcap_records(dir / ("x-src_a-" + stamp + "-000001.pcapng")), p.records(29));
  EXPECT_EQ(test::read_pcap_records(dir / "x-src_b.pcap"), p.records(30));
  EXPECT_EQ(fs::file_size(dir / "x-notes.pcap.part"), 8u);
}

TEST(FileRecovery, ARecoveredFileNeverReplacesOne) {
  TempDir dir;
  Packets a(3, 1), b(4, 2);
  write_bytes(dir / "x.pcap", encode(a, false));
  write_bytes(dir / "x.pcap.part", encode(b, false));
  recover_parts(dir / "x.pcap");
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"x.1.pcap", "x.pcap"}));
  EXPECT_EQ(test::read_pcap_records(dir / "x.pcap"), a.records(3));
  EXPECT_EQ(test::read_pcap_records(dir / "x.1.pcap"), b.records(4));
}

// Appends every packet and closes the ring.
FileRingStats run_ring(const FileRingConfig& cfg, const Packets& p,
                       Result<void>* closed = nullptr) {
  auto ring = FileRing::open(cfg, 1);
  EXPECT_TRUE(ring) << ring.error().message;
  if (!ring) return {};
  for (const PacketView& v : p.views) (*ring)->producer(0).append(v);
  auto r = (*ring)->close();
  if (closed)
    *closed = r;
  else
    EXPECT_TRUE(r) << r.error().message;
  return (*ring)->stats();
}

TEST(FileRecovery, ASecondRunNeverOverwritesTheFirstRunsFile) {
  TempDir dir;
  FileRingConfig cfg;
  cfg.path = dir / "x.pcap";
  Packets first(50, 1), second(20, 2), third(5, 3);
  run_ring(cfg, first);
  run_ring(cfg, second);
  run_ring(cfg, third);
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"x.1.pcap", "x.2.pcap", "x.pcap"}));
  EXPECT_EQ(test::read_pcap_records(dir / "x.pcap"), first.records(50));
  EXPECT_EQ(test::read_pcap_records(dir / "x.1.pcap"), second.records(20));
  EXPECT_EQ(test::read_pcap_records(dir / "x.2.pcap"), third.records(5));
}

TEST(FileRecovery, ARingCountsEarlierRunsFilesAndContinuesTheirSeq) {
  TempDir dir;
  Packets old(3, 4);
  const std::vector<uint8_t> bytes = encode(old, false);
  // Four files of an earlier run (seq 7..10), one of a base that only starts like ours.
  for (int s = 7; s <= 10; s++) {
    char name[64];
    snprintf(name, sizeof name, "r-20240101T0000%02d.000000000Z-%06d.pcap", s, s);
    write_bytes(dir / name, bytes);
  }
  write_bytes(dir / "r-eth1-20240101T000000.000000000Z-000001.pcap", bytes);

  FileRingConfig cfg;
  cfg.path = dir / "r.pcap";
  cfg.rotate_bytes = 40'000;
  cfg.snaplen = 2000;  // blocks of 10 kB: a block holds one record of snaplen at least
  cfg.max_files = 3;
  {
    auto ring = FileRing::open(cfg, 1);
    ASSERT_TRUE(ring) << ring.error().message;
    // -W 3 applies at open: the oldest earlier file is gone before any packet arrives.
    EXPECT_FALSE(fs::exists(dir / "r-20240101T000007.000000000Z-000007.pcap"));
    EXPECT_TRUE(fs::exists(dir / "r-20240101T000008.000000000Z-000008.pcap"));
    EXPECT_EQ((*ring)->stats().files_deleted, 1u);
    ASSERT_TRUE((*ring)->close());
  }
  Packets p(200, 6, 1000);  // ~110 kB: a few files of 40 kB
  run_ring(cfg, p);
  std::vector<std::string> ring_names;
  uint64_t min_seq = ~0ull;
  for (const std::string& n : names_in(dir.path())) {
    auto parsed = parse_ring_file_name(n, "r");
    if (!parsed) continue;
    ring_names.push_back(n);
    min_seq = std::min(min_seq, parsed->seq);
  }
  EXPECT_EQ(ring_names.size(), 3u) << ::testing::PrintToString(names_in(dir.path()));
  EXPECT_GE(min_seq, 11u) << "seq continues after the earlier run's highest (10)";
  EXPECT_TRUE(fs::exists(dir / "r-eth1-20240101T000000.000000000Z-000001.pcap"));
}

// A write that fails part way (the file-size limit gives EFBIG after a short write, as a full
// disk gives ENOSPC): the file is cut back to its last complete record and renamed, and the
// counters hold exactly what it holds.
TEST(FileRecovery, AWriteErrorSealsTheFileAtItsLastCompleteRecord) {
  TempDir dir;
  FileRingConfig cfg;
  cfg.path = dir / "full.pcap";
  cfg.block_bytes = 64 << 10;
  Packets p(2000, 8);  // ~1.5 MB
  struct rlimit old {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit lim = old;
  lim.rlim_cur = 300'001;  // not on a record boundary
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &lim), 0);
  Result<void> closed;
  const FileRingStats s = run_ring(cfg, p, &closed);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(closed);
  EXPECT_NE(closed.error().message.find("full.pcap.part"), std::string::npos)
      << closed.error().message;
  EXPECT_EQ(names_in(dir.path()), std::vector<std::string>{"full.pcap"});
  auto file = test::read_pcap(dir / "full.pcap");
  EXPECT_TRUE(file.error.empty()) << file.error;
  EXPECT_GT(file.records.size(), 0u);
  EXPECT_EQ(file.records, p.records(file.records.size()));
  EXPECT_EQ(s.written_packets, file.records.size());
  EXPECT_EQ(s.written_packets + s.write_error_drops + s.backpressure_drops, 2000u);
  EXPECT_EQ(s.files_completed, 1u);
  EXPECT_LE(fs::file_size(dir / "full.pcap"), 300'001u);
}

}  // namespace
}  // namespace xcap::sink
