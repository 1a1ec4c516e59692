// -r FILE replays a capture through the same decapsulation, filter and sinks as a live capture:
// a mirrored capture (as tcpdump on a sink VM writes it: mirror traffic and the host's own)
// replayed with --split source gives the files a live capture of the same frames gives, and
// every record keeps its timestamp and true length.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <set>

#include "common/frame_builder.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

const char* const kNet = "198.18.32";

// Three VXLAN mirror sources (one over IPv6) and a GENEVE one with bare IP inside, carrying
// TCP segments, some cut by the mirror at 200 bytes; between them the sink's own traffic.
std::vector<Bytes> mirrored(const MacAddr& dst) {
  struct Src {
    const char* ip;
    uint32_t vni;
  } const srcs[] = {{"198.18.0.10", 100}, {"198.18.0.11", 200}, {"2001:db8::12", 300}};
  std::vector<Bytes> out;
  for (int i = 0; i < 1200; i++) {
    Bytes inner = FrameBuilder()
                      .eth({0x02, 0xaa, 0, 0, 0, uint8_t(i % 4)}, {0x02, 0xbb, 0, 0, 0, 1})
                      .ipv4("198.19.3." + std::to_string(1 + i % 4), "198.19.4.1")
                      .tcp(uint16_t(30000 + i % 9), 443, 0x18, uint32_t(i) * 1000)
                      .payload(size_t(100 + i % 1200), uint8_t(i))
                      .build();
    if (i % 5 == 0) inner.resize(std::min<size_t>(inner.size(), 200));  // the mirror cut it
    FrameBuilder b;
    b.eth(dst, {0x02, 0, 0, 0, 0, 0x20});
    if (i % 4 == 3) {
      Bytes ip(inner.begin() + 14, inner.end());
      b.ipv4("198.18.0.13", std::string(kNet) + ".2").udp(50001, 6081).geneve(7, 0x0800).bytes(ip);
    } else {
      const Src& s = srcs[i % 4];
      if (std::string(s.ip).find(':') != std::string::npos)
        b.ipv6(s.ip, "2001:db8::2");
      else
        b.ipv4(s.ip, std::string(kNet) + ".2");
      b.udp(uint16_t(50000 + i % 50), 4789).vxlan(s.vni).bytes(inner);
    }
    out.push_back(b.build());
    if (i % 10 == 0)  // the sink VM's own traffic, which mirror mode leaves to the host
      out.push_back(FrameBuilder()
                        .eth(dst, {0x02, 0, 0, 0, 0, 0x21})
                        .ipv4("198.18.0.14", std::string(kNet) + ".2")
                        .udp(5000, 5001)
                        .payload(40)
                        .build());
  }
  return out;
}

// File name -> records' bytes, for every file in dir.
std::map<std::string, std::multiset<Bytes>> files_in(const std::string& dir) {
  std::map<std::string, std::multiset<Bytes>> m;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    auto& set = m[e.path().filename().string()];
    for (const auto& r : read_pcap_records(e.path().string())) set.insert(r.data);
  }
  return m;
}

TEST(Replay, MirroredCaptureReplayedEqualsLiveCaptureBySource) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcreplay", kNet);
  TempDir dir;
  const std::string in = dir / "mirrored.pcap", live = dir / "live", replayed = dir / "replayed";
  write_pcap(in, mirrored(lab.cap_mac_bytes()));
  ASSERT_EQ(sh("mkdir " + live + " " + replayed), 0);

  auto cap = capture_replay(lab, {"-w", live + "/m.pcap", "--split", "source"}, in);
  ASSERT_EQ(cap.why, "");
  EXPECT_EQ(cap.stats->dropped, 0u) << cap.err;

  auto r =
      run({bin("xcap"), "capture", "-r", in, "-w", replayed + "/m.pcap", "--split", "source"}, 60);
  ASSERT_EQ(r.status, 0) << r.output;
  auto stats = parse_stats_line(r.output);
  ASSERT_TRUE(stats) << r.output;
  EXPECT_EQ(stats->captured, cap.stats->captured) << r.output;
  EXPECT_EQ(stats->dropped, 0u) << r.output;

  const auto want = files_in(live), got = files_in(replayed);
  ASSERT_EQ(want.size(), 4u) << "one file per mirror source";
  EXPECT_EQ(got.size(), want.size());
  for (const auto& [name, records] : want) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(got.count(name)) << "missing from the replay";
    EXPECT_EQ(got.at(name).size(), records.size());
    EXPECT_TRUE(got.at(name) == records) << "the replay's records differ from the live ones";
  }
}

TEST(Replay, RecordsKeepTheirTimestampsAndTrueLengths) {
  XCAP_REQUIRE_PRIVILEGED();  // no privilege needed, but it runs xcap like the others
  TempDir dir;
  const std::string in = dir / "mirrored.pcap", out = dir / "inner.pcapng";
  std::vector<PcapRecord> records;
  const MacAddr dst{0x02, 0, 0, 0, 0, 2};
  const auto frames = mirrored(dst);
  for (size_t i = 0; i < frames.size(); i++)
    records.push_back({1'700'000'000'123'456'789ull + i * 1'000'003ull, uint32_t(frames[i].size()),
                       uint32_t(frames[i].size()), frames[i]});
  write_pcap_records(in, records);
  auto r =
      run({bin("xcap"), "capture", "-r", in, "-w", out, "--format", "pcapng", "-s", "150"}, 60);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto got = read_pcap_records(out);
  // Mirror mode takes the tunnel frames only: the sink's own traffic is left out, as live.
  size_t tunnels = 0;
  std::set<uint64_t> want_ts;
  for (size_t i = 0; i < frames.size(); i++)
    if (frames[i][12] != 0x08 || frames[i][23] != 17 || frames[i][36] != 0x13)  // not UDP 5001
      tunnels++, want_ts.insert(records[i].ts_ns);
  ASSERT_EQ(got.size(), tunnels);
  size_t cut_by_mirror = 0;
  for (const auto& rec : got) {
    EXPECT_TRUE(want_ts.count(rec.ts_ns)) << rec.ts_ns;
    EXPECT_LE(rec.caplen, 150u);  // -s 150
    EXPECT_GE(rec.len, rec.caplen);
    cut_by_mirror += rec.len > 200 && rec.caplen == 150;
  }
  EXPECT_GT(cut_by_mirror, 0u) << "true lengths beyond the mirror's 200-byte cut";
}

// A file xcap cannot replay is refused with its name and why, before anything is written.
TEST(Replay, UnreadableOrNonEthernetFilesAreRefused) {
  TempDir dir;
  auto missing = run({bin("xcap"), "capture", "-r", dir / "missing.pcap"}, 30);
  EXPECT_NE(missing.status, 0);
  EXPECT_NE(missing.output.find(dir / "missing.pcap"), std::string::npos) << missing.output;
  // A pcap of `tcpdump -i any` (Linux cooked, link type 113): no Ethernet header to decap.
  const uint8_t sll_header[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2,    0,    4, 0, 0,   0, 0, 0,
                                  0,    0,    0,    0,    0xff, 0xff, 0, 0, 113, 0, 0, 0};
  const std::string sll = dir / "any.pcap";
  FILE* f = fopen(sll.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(fwrite(sll_header, 1, sizeof sll_header, f), sizeof sll_header);
  fclose(f);
  auto cooked = run({bin("xcap"), "capture", "-r", sll, "-w", dir / "out.pcap"}, 30);
  EXPECT_NE(cooked.status, 0);
  EXPECT_NE(cooked.output.find("is not Ethernet"), std::string::npos) << cooked.output;
  EXPECT_FALSE(std::filesystem::exists(dir / "out.pcap")) << "nothing may be written";
}

// A file cut in the middle of a record (a tcpdump that died): every whole record is replayed,
// the cut is reported with the count, and the exit status says the input was not whole.
TEST(Replay, TruncatedFileKeepsEveryWholeRecord) {
  TempDir dir;
  const std::string in = dir / "cut.pcap", out = dir / "out.pcap";
  const auto frames = mirrored({0x02, 0, 0, 0, 0, 2});
  write_pcap(in, frames);
  const auto whole = read_pcap_records(in);
  std::filesystem::resize_file(in, std::filesystem::file_size(in) - 7);  // into the last one
  auto r =
      run({bin("xcap"), "capture", "-r", in, "-w", out, "--decap", "none", "--mode", "span"}, 60);
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("read error after " + std::to_string(whole.size() - 1) + " records"),
            std::string::npos)
      << r.output;
  const auto got = read_pcap_records(out);
  ASSERT_EQ(got.size(), whole.size() - 1);
  for (size_t i = 0; i < got.size(); i++) ASSERT_EQ(got[i], whole[i]) << "record " << i;
}

}  // namespace
}  // namespace xcap::test
