// The file sink under the failures an appliance meets (issue 8, sections 3 and 4), with the
// real xcap binary, real files and real signals: kill -9 mid-capture and a restart (with and
// without rotation) keeps every packet of the first run readable; a crash-restart loop with
// -W does not grow the ring; a full disk (a small tmpfs) leaves a complete, renamed file whose
// records are exactly the captured count, or with -W costs the oldest files instead of the
// capture; a reader that closes the pipe of -w - is a normal end.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace fs = std::filesystem;

namespace xcap::test {
namespace {

constexpr const char* kLab = "xcfint";
constexpr const char* kNet = "198.18.44";
constexpr uint32_t kFrame = 1000;  // bytes per generated frame

// A tmpfs of a given size mounted on a fresh directory, unmounted (lazily, so a still-open
// file cannot keep it) in the destructor: a disk that fills up on demand.
class SmallDisk {
 public:
  explicit SmallDisk(const std::string& size) {
    if (sh("mount -t tmpfs -o size=" + size + ",mode=0755 xcap-test-tmpfs " + dir_.path()) != 0)
      throw std::runtime_error("cannot mount a tmpfs on " + dir_.path());
  }
  ~SmallDisk() { umount2(dir_.path().c_str(), MNT_DETACH); }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;
  std::string operator/(const std::string& name) const { return dir_ / name; }
  const std::string& path() const { return dir_.path(); }

 private:
  TempDir dir_;  // removed after the unmount
};

std::vector<std::string> names_in(const std::string& dir) {
  std::vector<std::string> out;
  for (auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// The --seq number xcap-gen stamps in the last 4 bytes of each of its frames; nullopt for
// frames that are not the generator's (the kernel's own IPv6 chatter on the veth).
std::optional<uint32_t> gen_seq(const PcapRecord& r) {
  if (r.data.size() != kFrame) return std::nullopt;
  const uint8_t* p = r.data.data() + kFrame - 4;
  return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
}

size_t gen_frames(const std::vector<PcapRecord>& records) {
  return size_t(std::count_if(records.begin(), records.end(),
                              [](const PcapRecord& r) { return gen_seq(r).has_value(); }));
}

// Records of every file in dir whose name matches (a .part may be torn at its end: what
// libpcap reads before the tear counts, without failing the test).
std::vector<PcapRecord> records_in(const std::string& dir, const std::regex& name) {
  std::vector<PcapRecord> out;
  for (const std::string& n : names_in(dir)) {
    if (!std::regex_match(n, name)) continue;
    auto f = read_pcap(dir + "/" + n);
    out.insert(out.end(), f.records.begin(), f.records.end());
  }
  return out;
}

// What a power cut leaves after the last complete record: the first bytes of a record.
void tear(const std::string& path) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  const uint32_t head[4] = {1'700'000'000u, 0, kFrame, kFrame};  // promises 1000 bytes
  f.write(reinterpret_cast<const char*>(head), sizeof head);
  f.write("torn", 4);
}

// Every record of `want` is in `have` (multisets).
::testing::AssertionResult contains_all(std::vector<PcapRecord> have,
                                        std::vector<PcapRecord> want) {
  std::sort(have.begin(), have.end());
  std::sort(want.begin(), want.end());
  std::vector<PcapRecord> missing;
  std::set_difference(want.begin(), want.end(), have.begin(), have.end(),
                      std::back_inserter(missing));
  if (missing.empty()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << missing.size() << " of " << want.size() << " records of the first run are gone";
}

TEST(FileIntegrity, KillDuringCaptureThenRestartKeepsEveryPacketOfTheFirstRun) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab(kLab, kNet);
  TempDir dir;
  const std::string out = dir / "x.pcap";
  std::string why;
  auto first = start_capture(lab.cap_if(), {"--mode", "span", "-w", out}, &why);
  ASSERT_TRUE(first) << why;
  auto gen = lab.send(
      {"--count", "5000", "--size", std::to_string(kFrame), "--rate", "50000", "--seq", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  // All 5000 reached the file (a partial block is flushed within 100 ms), then the crash.
  ASSERT_TRUE(wait_until([&] { return gen_frames(read_pcap(out + ".part").records) >= 5000; },
                         std::chrono::seconds(20)))
      << first->err();
  first->signal(SIGKILL);
  first->wait(10);
  const std::vector<PcapRecord> before = read_pcap(out + ".part").records;
  ASSERT_EQ(gen_frames(before), 5000u);
  tear(out + ".part");

  auto second = start_capture(lab.cap_if(), {"--mode", "span", "-w", out}, &why);
  ASSERT_TRUE(second) << why;
  auto gen2 = lab.send({"--count", "100", "--size", std::to_string(kFrame), "--quiet"});
  ASSERT_EQ(gen2.status, 0) << gen2.output;
  second->signal(SIGINT);
  ASSERT_EQ(second->wait(30), 0) << second->err();

  // The first run's file, sealed at its last complete record under its own name; the second
  // run wrote beside it and said where.
  EXPECT_EQ(names_in(dir.path()), (std::vector<std::string>{"x.1.pcap", "x.pcap"}))
      << second->err();
  EXPECT_NE(second->err().find("recovered " + out + ".part"), std::string::npos) << second->err();
  EXPECT_NE(second->err().find("writing " + dir / "x.1.pcap"), std::string::npos) << second->err();
  auto recovered = read_pcap(out);
  EXPECT_TRUE(recovered.error.empty()) << recovered.error;
  EXPECT_TRUE(recovered.records == before) << "recovered " << recovered.records.size()
                                           << " records, the first run left " << before.size();
  auto next = read_pcap(dir / "x.1.pcap");
  EXPECT_TRUE(next.error.empty()) << next.error;
  EXPECT_GE(gen_frames(next.records), 100u);
}

TEST(FileIntegrity, KillDuringRotationThenRestartKeepsEveryPacketAndContinuesSeq) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab(kLab, kNet);
  TempDir dir;
  const std::vector<std::string> args{"--mode", "span", "-w", dir / "ring.pcap", "-C", "1"};
  static const std::regex any_file(R"(ring-.*)");
  static const std::regex part_re(R"(ring-.*\.part)");
  static const std::regex done_re(R"(ring-\d{8}T\d{6}\.\d{9}Z-(\d{6,})\.pcap)");
  std::string why;
  auto first = start_capture(lab.cap_if(), args, &why);
  ASSERT_TRUE(first) << why;
  auto gen = lab.send(
      {"--count", "4500", "--size", std::to_string(kFrame), "--rate", "50000", "--seq", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  ASSERT_TRUE(wait_until([&] { return gen_frames(records_in(dir.path(), any_file)) >= 4500; },
                         std::chrono::seconds(20)))
      << first->err();
  first->signal(SIGKILL);
  first->wait(10);
  const std::vector<PcapRecord> before = records_in(dir.path(), any_file);
  uint64_t first_max_seq = 0;
  std::string part;
  for (const std::string& n : names_in(dir.path())) {
    std::smatch m;
    if (std::regex_match(n, m, done_re))
      first_max_seq = std::max<uint64_t>(first_max_seq, std::stoull(m[1]));
    if (std::regex_match(n, part_re)) part = dir / n;
  }
  ASSERT_FALSE(part.empty()) << "expected the killed run to leave a .part: "
                             << ::testing::PrintToString(names_in(dir.path()));
  ASSERT_GE(first_max_seq, 2u);
  tear(part);

  auto second = start_capture(lab.cap_if(), args, &why);
  ASSERT_TRUE(second) << why;
  auto gen2 = lab.send({"--count", "1500", "--size", std::to_string(kFrame), "--quiet"});
  ASSERT_EQ(gen2.status, 0) << gen2.output;
  second->signal(SIGINT);
  ASSERT_EQ(second->wait(30), 0) << second->err();

  std::vector<PcapRecord> after;
  std::set<uint64_t> seqs;
  for (const std::string& n : names_in(dir.path())) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(n, m, done_re)) << "not a complete ring file: " << n;
    EXPECT_TRUE(seqs.insert(std::stoull(m[1])).second) << "seq used twice: " << n;
    auto f = read_pcap(dir / n);
    EXPECT_TRUE(f.error.empty()) << n << ": " << f.error;
    after.insert(after.end(), f.records.begin(), f.records.end());
  }
  EXPECT_TRUE(contains_all(after, before));
  EXPECT_EQ(gen_frames(after), 4500u + 1500u);
  // The .part became its final name; the second run's files come after it.
  EXPECT_NE(second->err().find("recovered " + part), std::string::npos) << second->err();
  EXPECT_TRUE(fs::exists(part.substr(0, part.size() - 5)));
  EXPECT_GT(*seqs.rbegin(), first_max_seq + 1);
}

TEST(FileIntegrity, CrashRestartLoopKeepsAtMostWFilesAndOnePart) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab(kLab, kNet);
  TempDir dir;
  static const std::regex done_re(R"(loop-\d{8}T\d{6}\.\d{9}Z-(\d{6,})\.pcap)");
  static const std::regex part_re(R"(loop-\d{8}T\d{6}\.\d{9}Z-(\d{6,})\.pcap\.part)");
  uint64_t last_part_seq = 0;
  std::set<std::string> parts_before;  // the .part files earlier runs left
  for (int run = 0; run < 5; run++) {
    std::string why;
    auto cap = start_capture(
        lab.cap_if(), {"--mode", "span", "-w", dir / "loop.pcap", "-C", "1", "-W", "2"}, &why);
    ASSERT_TRUE(cap) << "run " << run << ": " << why;
    // ~2.5 MB: two 1 MB files complete, the third is half written when the crash comes.
    auto gen = lab.send(
        {"--count", "2500", "--size", std::to_string(kFrame), "--rate", "50000", "--quiet"});
    ASSERT_EQ(gen.status, 0) << gen.output;
    ASSERT_TRUE(wait_until(
        [&] {
          for (const std::string& n : names_in(dir.path())) {
            std::smatch m;
            if (std::regex_match(n, m, part_re) && !parts_before.count(n) &&
                fs::file_size(dir / n) > 100'000)
              return true;
          }
          return false;
        },
        std::chrono::seconds(20)))
        << "run " << run << ": " << ::testing::PrintToString(names_in(dir.path())) << cap->err();
    cap->signal(SIGKILL);
    cap->wait(10);
    size_t done = 0, parts = 0;
    for (const std::string& n : names_in(dir.path())) {
      std::smatch m;
      if (std::regex_match(n, m, done_re)) done++;
      if (std::regex_match(n, m, part_re)) {
        parts++;
        last_part_seq = std::max<uint64_t>(last_part_seq, std::stoull(m[1]));
        parts_before.insert(n);
      }
    }
    EXPECT_LE(done, 2u) << "after run " << run << ": "
                        << ::testing::PrintToString(names_in(dir.path()));
    EXPECT_EQ(parts, 1u) << "after run " << run << ": "
                         << ::testing::PrintToString(names_in(dir.path()));
  }
  EXPECT_LE(names_in(dir.path()).size(), 3u) << ::testing::PrintToString(names_in(dir.path()));
  // seq went on from run to run (five runs of three files each: 14); each run starting from 0
  // again would leave 2.
  EXPECT_GE(last_part_seq, 10u);
}

TEST(FileIntegrity, DiskFullSealsTheFileAndCountsExactlyWhatItHolds) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab(kLab, kNet);
  SmallDisk disk("2m");
  const std::string out = disk / "full.pcap";
  std::string why;
  auto cap = start_capture(lab.cap_if(), {"--mode", "span", "-w", out}, &why);
  ASSERT_TRUE(cap) << why;
  auto gen =
      lab.send({"--count", "4000", "--size", std::to_string(kFrame), "--rate", "50000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  // The disk filled up: xcap stops by itself with the error.
  ASSERT_EQ(cap->wait(30), 1) << cap->err();
  EXPECT_NE(cap->err().find("No space left on device"), std::string::npos) << cap->err();
  EXPECT_EQ(names_in(disk.path()), std::vector<std::string>{"full.pcap"}) << cap->err();
  auto file = read_pcap(out);
  EXPECT_TRUE(file.error.empty()) << file.error;
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_GT(file.records.size(), 1000u);
  EXPECT_EQ(stats->captured, file.records.size()) << cap->err();
  EXPECT_GT(stats->writer, 0u) << cap->err();
}

TEST(FileIntegrity, DiskFullWithARingDeletesTheOldestFileAndKeepsCapturing) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab(kLab, kNet);
  SmallDisk disk("3m");
  std::string why;
  auto cap = start_capture(
      lab.cap_if(), {"--mode", "span", "-w", disk / "ring.pcap", "-C", "1", "-W", "10"}, &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send(
      {"--count", "6000", "--size", std::to_string(kFrame), "--rate", "30000", "--seq", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  // The last frame sent reached a file: the capture went on past the full disk.
  auto last_frame_written = [&] {
    for (const std::string& n : names_in(disk.path()))
      for (const PcapRecord& r : read_pcap(disk / n).records)
        if (gen_seq(r) == 5999u) return true;
    return false;
  };
  ASSERT_TRUE(wait_until(last_frame_written, std::chrono::seconds(20))) << cap->err();
  EXPECT_TRUE(cap->running()) << cap->err();
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  EXPECT_NE(cap->err().find("deleted"), std::string::npos) << cap->err();
  static const std::regex done_re(R"(ring-\d{8}T\d{6}\.\d{9}Z-\d{6,}\.pcap)");
  for (const std::string& n : names_in(disk.path())) {
    EXPECT_TRUE(std::regex_match(n, done_re)) << n;
    auto f = read_pcap(disk / n);
    EXPECT_TRUE(f.error.empty()) << n << ": " << f.error;
  }
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(stats->writer, 0u) << cap->err();
}

TEST(FileIntegrity, AReaderClosingThePipeIsANormalEnd) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab(kLab, kNet);
  // xcap capture ... -w - | tcpdump -c 5; the shell exits with xcap's status.
  const std::string cmd =
      bin("xcap") + " capture -i " + lab.cap_if() +
      " --mode span --stats-json -w - | tcpdump -r - -c 5 -w /dev/null 2>/dev/null;"
      " exit ${PIPESTATUS[0]}";
  Subprocess pipeline({"/bin/bash", "-c", cmd});
  ASSERT_TRUE(pipeline.wait_for_stderr("capturing on", 30)) << pipeline.err();
  // Traffic until xcap notices the reader is gone (at its next write) and ends.
  Subprocess gen(lab.gen_argv({"--count", "0", "--rate", "20000", "--quiet"}));
  const int status = pipeline.wait(30);
  gen.signal(SIGINT);
  gen.wait(10);
  EXPECT_EQ(status, 0) << pipeline.err();
  EXPECT_NE(pipeline.err().find("output closed"), std::string::npos) << pipeline.err();
  EXPECT_EQ(pipeline.err().find("output failed"), std::string::npos) << pipeline.err();
  auto stats = parse_stats_json(pipeline.err());
  ASSERT_TRUE(stats) << pipeline.err();
  EXPECT_GE(stats->captured, 5u) << pipeline.err();
}

}  // namespace
}  // namespace xcap::test
