// Reading the archive back (xcap archive ls/get): times on the command line, object keys read
// back into facts, stored objects decompressed and decoded (pcap in both magics, pcapng, zstd,
// gzip, and what is broken), and the merge of a window over several objects.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include "archive/capture_reader.h"
#include "archive/compressor.h"
#include "archive/object_name.h"
#include "archive/time_arg.h"
#include "archive/window_merge.h"
#include "common/frame_builder.h"
#include "common/pcap_file.h"
#include "common/pcapng_records.h"
#include "common/temp_dir.h"
#include "sink/file/file_namer.h"

namespace xcap::archive {
namespace {

using test::PcapRecord;
using test::TempDir;
using test::write_pcap_records;
constexpr uint64_t kS = 1'000'000'000ull;
const uint64_t kNow = 1'764'460'800ull * kS;  // 2025-11-30T00:00:00Z

TEST(ArchiveTimes, Rfc3339InEveryFormAnOperatorWrites) {
  EXPECT_EQ(*parse_time_arg("2025-11-30T00:00:00Z", 0), kNow);
  EXPECT_EQ(*parse_time_arg("2025-11-30t00:00:00z", 0), kNow);
  EXPECT_EQ(*parse_time_arg("2025-11-30 00:00:00Z", 0), kNow);
  EXPECT_EQ(*parse_time_arg("2025-11-30", 0), kNow);
  EXPECT_EQ(*parse_time_arg("2025-11-30T01:30:00+01:30", 0), kNow);
  EXPECT_EQ(*parse_time_arg("2025-11-29T19:00:00-05:00", 0), kNow);
  EXPECT_EQ(*parse_time_arg("2025-11-30T00:00:00.5Z", 0), kNow + kS / 2);
  EXPECT_EQ(*parse_time_arg("2025-11-30T00:00:00.123456789Z", 0), kNow + 123456789);
  EXPECT_EQ(*parse_time_arg("2025-11-30T00:00:00.1234567891Z", 0), kNow + 123456789);
  EXPECT_EQ(*parse_time_arg("2024-02-29T00:00:00Z", 0), 1'709'164'800ull * kS);
  EXPECT_EQ(rfc3339(kNow + 5), "2025-11-30T00:00:00.000000005Z");
  EXPECT_EQ(*parse_time_arg(rfc3339(kNow + 123), 0), kNow + 123);
}

TEST(ArchiveTimes, RelativeToNowAndDurations) {
  EXPECT_EQ(*parse_time_arg("now", kNow), kNow);
  EXPECT_EQ(*parse_time_arg("-15m", kNow), kNow - 900 * kS);
  EXPECT_EQ(*parse_time_arg("-1h30m", kNow), kNow - 5400 * kS);
  EXPECT_EQ(*parse_time_arg("-2d", kNow), kNow - 2 * 86400 * kS);
  EXPECT_EQ(*parse_time_arg("-90s", kNow), kNow - 90 * kS);
  EXPECT_EQ(*parse_duration_ns("1d"), 86400 * kS);
  EXPECT_EQ(*parse_duration_ns("1h1m1s"), 3661 * kS);
}

TEST(ArchiveTimes, AnythingElseIsRefusedWithTheFormsItTakes) {
  for (const char* bad : {"", "yesterday", "-15", "-15x", "15m", "-m", "2025-02-30", "2025-13-01",
                          "2025-11-30T24:00:00Z", "2025-11-30T00:00:00", "2025-11-30T00:00:00+1",
                          "2025-11-30T00:00:00.Z", "1969-12-31", "2025-11-30T00:00:60Z",
                          "2025-11-30T00:00:00Zjunk", "-99999999999999999999d"}) {
    auto t = parse_time_arg(bad, kNow);
    ASSERT_FALSE(t) << bad;
    EXPECT_EQ(t.error().kind, ErrorKind::InvalidInput);
    EXPECT_NE(t.error().message.find("RFC 3339"), std::string::npos) << t.error().message;
    EXPECT_NE(t.error().message.find(std::string("'") + bad + "'"), std::string::npos);
  }
  for (const char* bad : {"", "d", "1", "1x", "-1m", "1m-", "1.5h"})
    EXPECT_FALSE(parse_duration_ns(bad)) << bad;
}

TEST(ArchiveKeys, EveryKeyObjectKeyWritesReadsBack) {
  for (Compression c : {Compression::Zstd, Compression::Gzip, Compression::None})
    for (const char* prefix : {"", "vtap", "a/b/c"}) {
      const ObjectFacts f{"vxlan_198.18.0.10_vni100", kNow + 1, kNow + 86400 * kS + 7, 1234567,
                          "pcapng"};
      const std::string key = object_key(prefix, "sink-a", f, c);
      auto o = parse_object_key(key, prefix);
      ASSERT_TRUE(o) << key;
      EXPECT_EQ(o->key, key);
      EXPECT_EQ(o->sink_id, "sink-a");
      EXPECT_EQ(o->facts.source, f.source);
      EXPECT_EQ(o->facts.first_ns, f.first_ns);
      EXPECT_EQ(o->facts.last_ns, f.last_ns);
      EXPECT_EQ(o->facts.seq, f.seq);
      EXPECT_EQ(o->facts.ext, "pcapng");
      EXPECT_EQ(o->compression, c);
    }
  EXPECT_EQ(sink::parse_utc_stamp(sink::utc_stamp(kNow + 42)), kNow + 42);
}

TEST(ArchiveKeys, KeysXcapDidNotWriteAreNotObjects) {
  const std::string good =
      "p/s/all/2025/11/30/20251130T000000.000000000Z_20251130T000001.000000000Z_000001.pcap.zst";
  ASSERT_TRUE(parse_object_key(good, "p"));
  EXPECT_FALSE(parse_object_key(good, "q"));
  EXPECT_FALSE(parse_object_key(good, "p/s"));
  for (const char* bad :
       {"p/s/all/2025/11/29/20251130T000000.000000000Z_20251130T000001.000000000Z_000001.pcap",
        "p/s/all/2025/11/30/20251130T000001.000000000Z_20251130T000000.000000000Z_000001.pcap",
        "p/s/all/2025/11/30/20251130T000000.000000000Z_20251130T000001.000000000Z_01.pcap",
        "p/s/all/2025/11/30/20251130T000000.000000000Z_20251130T000001.000000000Z_000001.txt",
        "p/s/all/2025/11/30/20251130T000000.000000000Z_20251130T000001.000000000Z_000001.pcap.xz",
        "p/s/all/2025/11/30/20251131T000000.000000000Z_20251131T000001.000000000Z_000001.pcap",
        "p/s/2025/11/30/20251130T000000.000000000Z_20251130T000001.000000000Z_000001.pcap",
        "p/s/a/l/l/2025/11/30/20251130T000000.000000000Z_20251130T000001.000000000Z_000001.pcap",
        "p/s/all/2025/11/30/notes.txt", "p/README"})
    EXPECT_FALSE(parse_object_key(bad, "p")) << bad;
}

// Ethernet/IPv4/UDP frames in 198.18.96.0/24, port 53 for every third.
Bytes frame(int i) {
  return FrameBuilder()
      .eth()
      .ipv4("198.18.96.1", "198.18.96.2")
      .udp(uint16_t(1024 + i), i % 3 == 0 ? 53 : 2000)
      .payload(40 + size_t(i % 50), uint8_t(i))
      .build();
}

std::vector<PcapRecord> records(int n, uint64_t first_ns, uint64_t step_ns, int id0 = 0) {
  std::vector<PcapRecord> out;
  for (int i = 0; i < n; i++) {
    Bytes f = frame(id0 + i);
    out.push_back({first_ns + uint64_t(i) * step_ns, uint32_t(f.size()), uint32_t(f.size()), f});
  }
  return out;
}

Fd open_file(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_TRUE(fd.valid()) << path;
  return fd;
}

// Compresses path as the archiver does (compress_file) into path + suffix.
std::string compressed(const std::string& path, Compression c) {
  if (c == Compression::None) return path;
  Fd in = open_file(path);
  auto z = compress_file(in.get(), std::filesystem::path(path).parent_path(), c, 0);
  EXPECT_TRUE(z) << z.error().message;
  const std::string out = path + std::string(compression_suffix(c));
  std::ofstream f(out, std::ios::binary);
  std::vector<char> buf(z->bytes);
  EXPECT_EQ(::pread(z->fd.get(), buf.data(), buf.size(), 0), ssize_t(buf.size()));
  f.write(buf.data(), std::streamsize(buf.size()));
  return out;
}

std::vector<PcapRecord> read_all(const std::string& path, Compression c, std::string* error,
                                 std::string* iface_name = nullptr) {
  CaptureReader reader(Decompressor(open_file(path), c));
  std::vector<PcapRecord> out;
  for (;;) {
    auto r = reader.next();
    if (!r) {
      *error = r.error().message;
      return out;
    }
    if (!*r) return out;
    const CaptureRecord& rec = **r;
    if (iface_name) *iface_name = rec.iface->name;
    out.push_back({rec.ts_ns, rec.caplen, rec.origlen,
                   std::vector<uint8_t>(rec.data, rec.data + rec.caplen)});
  }
}

// A pcapng of records on one interface, written by the merge's own output writer.
void write_pcapng(const std::string& path, const std::string& iface,
                  const std::vector<PcapRecord>& recs) {
  auto out = stream::MergedOutput::open(path, true);
  ASSERT_TRUE(out);
  auto id = out->add_interface(iface, 1, 262144);
  ASSERT_TRUE(id);
  for (const PcapRecord& r : recs)
    ASSERT_TRUE(out->write(out->encode_packet(*id, r.ts_ns, r.caplen, r.len, r.data.data())));
  ASSERT_TRUE(out->close());
}

TEST(ArchiveObjects, PcapAndPcapngComeBackWholeThroughEveryCodec) {
  TempDir dir;
  const auto recs = records(3000, kNow, 1000);  // ~300 KiB: more than one read piece
  write_pcap_records(dir / "a.pcap", recs);
  write_pcapng(dir / "a.pcapng", "vxlan:198.18.96.10:vni7", recs);
  for (Compression c : {Compression::Zstd, Compression::Gzip, Compression::None}) {
    std::string err, name;
    EXPECT_EQ(read_all(compressed(dir / "a.pcap", c), c, &err), recs);
    EXPECT_EQ(err, "");
    EXPECT_EQ(read_all(compressed(dir / "a.pcapng", c), c, &err, &name), recs);
    EXPECT_EQ(err, "");
    EXPECT_EQ(name, "vxlan:198.18.96.10:vni7");
  }
}

TEST(ArchiveObjects, MicrosecondAndSwappedPcapAreRead) {
  TempDir dir;
  const Bytes f = frame(1);
  // Big-endian microsecond pcap, as a tool on another machine writes it.
  std::vector<uint8_t> b;
  auto be32 = [&](uint32_t v) {
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(v >> s));
  };
  auto be16 = [&](uint16_t v) {
    b.push_back(uint8_t(v >> 8));
    b.push_back(uint8_t(v));
  };
  be32(0xa1b2c3d4), be16(2), be16(4), be32(0), be32(0), be32(65535), be32(1);
  be32(1764460800), be32(250000), be32(uint32_t(f.size())), be32(uint32_t(f.size()) + 10);
  b.insert(b.end(), f.begin(), f.end());
  std::ofstream(dir / "be.pcap", std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), std::streamsize(b.size()));
  std::string err;
  auto got = read_all(dir / "be.pcap", Compression::None, &err);
  EXPECT_EQ(err, "");
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].ts_ns, kNow + 250'000'000);
  EXPECT_EQ(got[0].len, f.size() + 10);
  EXPECT_EQ(got[0].data, f);
}

TEST(ArchiveObjects, BrokenObjectsAreErrorsNotGuesses) {
  TempDir dir;
  const auto recs = records(100, kNow, 1000);
  write_pcap_records(dir / "a.pcap", recs);
  const std::string z = compressed(dir / "a.pcap", Compression::Zstd);
  const std::string gz = compressed(dir / "a.pcap", Compression::Gzip);
  std::string err;
  // A record cut short (a torn last write): what came before it, then an error naming it.
  std::filesystem::copy_file(dir / "a.pcap", dir / "cut.pcap");
  std::filesystem::resize_file(dir / "cut.pcap", std::filesystem::file_size(dir / "a.pcap") - 5);
  EXPECT_EQ(read_all(dir / "cut.pcap", Compression::None, &err).size(), 99u);
  EXPECT_NE(err.find("record 100"), std::string::npos) << err;
  // Truncated compressed streams.
  for (auto [path, c] : {std::pair{z, Compression::Zstd}, std::pair{gz, Compression::Gzip}}) {
    std::filesystem::resize_file(path, std::filesystem::file_size(path) / 2);
    err.clear();
    read_all(path, c, &err);
    EXPECT_NE(err.find("truncated"), std::string::npos) << err;
  }
  // Not a capture; not the codec it claims.
  std::ofstream(dir / "text.pcap") << "hello, this is not a capture file at all\n";
  err.clear();
  read_all(dir / "text.pcap", Compression::None, &err);
  EXPECT_NE(err.find("neither pcap nor pcapng"), std::string::npos) << err;
  err.clear();
  read_all(dir / "a.pcap", Compression::Zstd, &err);
  EXPECT_NE(err.find("zstd"), std::string::npos) << err;
  // An empty object is an empty capture.
  std::ofstream(dir / "empty.pcap").close();
  err.clear();
  EXPECT_TRUE(read_all(dir / "empty.pcap", Compression::None, &err).empty());
  EXPECT_EQ(err, "");
}

// Objects named as the archive names them, stored as local files; the opener reads those.
struct LocalArchive {
  TempDir dir;
  std::vector<ArchivedObject> objects;
  std::map<std::string, std::string> files;  // key -> path
  int opened = 0;

  void add(const std::string& sink, const std::vector<PcapRecord>& recs, bool pcapng, uint64_t seq,
           Compression c = Compression::Zstd) {
    const std::string path = dir / (sink + std::to_string(seq) + (pcapng ? ".pcapng" : ".pcap"));
    if (pcapng)
      write_pcapng(path, "eth0", recs);
    else
      write_pcap_records(path, recs);
    uint64_t first = recs.front().ts_ns, last = recs.front().ts_ns;
    for (const PcapRecord& r : recs) last = std::max(last, r.ts_ns);
    ArchivedObject o;
    o.sink_id = sink;
    o.facts = {"all", first, last, seq, pcapng ? "pcapng" : "pcap"};
    o.compression = c;
    o.key = object_key("vtap", sink, o.facts, c);
    files[o.key] = compressed(path, c);
    objects.push_back(o);
  }
  ObjectOpener opener() {
    return [this](const ArchivedObject& o) -> Result<Fd> {
      opened++;
      if (!files.count(o.key)) return make_error(ErrorKind::NotFound, "no such object");
      return open_file(files[o.key]);
    };
  }
};

test::PcapngFile merge(LocalArchive& a, const MergeRequest& req, MergeOutcome* outcome) {
  const std::string out_path = a.dir / "out.pcapng";
  auto out = stream::MergedOutput::open(out_path, true);
  EXPECT_TRUE(out);
  *outcome = merge_window(a.objects, req, a.opener(), *out);
  return test::read_pcapng(out_path);
}

TEST(ArchiveMerge, TwoSinksComeOutInTimeOrderOneInterfaceEach) {
  LocalArchive a;
  // sink-a: 0, 2, 4 ... ms in two files; sink-b (pcapng): 1, 3, 5 ... ms in one.
  const auto a1 = records(500, kNow, 2'000'000), a2 = records(500, kNow + kS, 2'000'000, 500);
  const auto b = records(1000, kNow + 1'000'000, 2'000'000, 1000);
  a.add("sink-a", a1, false, 0);
  a.add("sink-a", a2, false, 1, Compression::Gzip);
  a.add("sink-b", b, true, 0, Compression::None);
  MergeOutcome m;
  const test::PcapngFile f = merge(a, {}, &m);
  EXPECT_EQ(f.error, "");
  EXPECT_EQ(m.failures.size(), 0u);
  EXPECT_EQ(m.objects_read, 3u);
  ASSERT_EQ(f.packets.size(), 2000u);
  EXPECT_EQ(m.packets_written, 2000u);
  EXPECT_EQ(m.out_of_order, 0u);
  ASSERT_EQ(f.interfaces.size(), 2u);
  std::map<std::string, uint32_t> id;
  for (uint32_t i = 0; i < f.interfaces.size(); i++) id[f.interfaces[i]] = i;
  ASSERT_TRUE(id.count("sink-a/all") && id.count("sink-b/eth0"));
  for (size_t i = 0; i < f.packets.size(); i++) {
    EXPECT_EQ(f.packets[i].ts, kNow + i * 1'000'000) << i;
    EXPECT_EQ(f.packets[i].iface, id[i % 2 ? "sink-b/eth0" : "sink-a/all"]) << i;
    const PcapRecord& want = i % 2 ? b[i / 2] : (i < 1000 ? a1[i / 2] : a2[i / 2 - 500]);
    EXPECT_EQ(f.packets[i].data, want.data) << i;
  }
}

TEST(ArchiveMerge, TheWindowAndTheFilterChooseThePackets) {
  LocalArchive a;
  a.add("s", records(3000, kNow, 1'000'000), false, 0);
  MergeOutcome m;
  // [1.002 s, 1.998 s], both ends included (both port 53), port 53 (every third frame).
  const uint64_t ms = 1'000'000;
  const test::PcapngFile f = merge(a, {kNow + 1002 * ms, kNow + 1998 * ms, "udp port 53"}, &m);
  EXPECT_EQ(f.error, "");
  size_t want = 0;
  for (int i = 1002; i <= 1998; i++) want += i % 3 == 0;
  ASSERT_EQ(f.packets.size(), want);
  EXPECT_EQ(f.packets.front().ts, kNow + 1002 * ms);
  EXPECT_EQ(f.packets.back().ts, kNow + 1998 * ms);
  EXPECT_EQ(m.packets_read, 3000u);
}

TEST(ArchiveMerge, RecordsOutOfOrderInsideAFileAreSorted) {
  LocalArchive a;
  // A ring file as two workers' blocks interleave it: 0-99 ms, then 0.5-99.5 ms.
  auto recs = records(100, kNow, 1'000'000);
  const auto other = records(100, kNow + 500'000, 1'000'000, 100);
  recs.insert(recs.end(), other.begin(), other.end());
  a.add("s", recs, false, 0);
  MergeOutcome m;
  const test::PcapngFile f = merge(a, {}, &m);
  ASSERT_EQ(f.packets.size(), 200u);
  for (size_t i = 1; i < f.packets.size(); i++) EXPECT_LT(f.packets[i - 1].ts, f.packets[i].ts);
  EXPECT_EQ(m.out_of_order, 0u);
}

TEST(ArchiveMerge, AnObjectThatCannotBeReadIsNamedAndTheRestWritten) {
  LocalArchive a;
  a.add("s", records(10, kNow, 1'000'000), false, 0);
  a.add("s", records(10, kNow + kS, 1'000'000, 10), false, 1);
  a.files.erase(a.objects[0].key);                              // gone from the store
  std::filesystem::resize_file(a.files[a.objects[1].key], 30);  // cut short
  a.add("s", records(10, kNow + 2 * kS, 1'000'000, 20), false, 2);
  MergeOutcome m;
  const test::PcapngFile f = merge(a, {}, &m);
  EXPECT_EQ(f.error, "");
  EXPECT_EQ(f.packets.size(), 10u);
  ASSERT_EQ(m.failures.size(), 2u);
  EXPECT_NE(m.failures[0].find(a.objects[0].key + ": no such object"), std::string::npos);
  EXPECT_NE(m.failures[1].find(a.objects[1].key), std::string::npos);
  EXPECT_EQ(m.objects_read, 1u);
}

// How many of these files the process holds open now (/proc/self/fd).
int open_among(const std::map<std::string, std::string>& files) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(e.path(), ec);
    for (const auto& [key, path] : files) n += !ec && target == path;
  }
  return n;
}

TEST(ArchiveMerge, ObjectsAreOpenedOnlyWhenTheMergeReachesThem) {
  LocalArchive a;
  for (uint64_t s = 0; s < 5; s++) a.add("s", records(10, kNow + s * kS, 1'000'000), false, s);
  // One lane of five files in time order: each is done before the next is needed.
  int most = 0;
  ObjectOpener open = [&](const ArchivedObject& o) -> Result<Fd> {
    most = std::max(most, open_among(a.files));
    return open_file(a.files[o.key]);
  };
  auto out = stream::MergedOutput::open(a.dir / "o.pcapng", true);
  ASSERT_TRUE(out);
  MergeOutcome m = merge_window(a.objects, {}, open, *out);
  EXPECT_EQ(m.packets_written, 50u);
  EXPECT_EQ(most, 0);
  EXPECT_EQ(open_among(a.files), 0);
}

}  // namespace
}  // namespace xcap::archive
