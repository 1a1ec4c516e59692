// The Archiver's thread and queue (src/archive/archiver.h) without a store: -z runs on every
// handed-over file in order; a store that refuses connections leaves every file in the spool,
// counted as connect failures and as backlog; --spool-max deletes the oldest waiting files,
// never the one in flight; the drain timeout bounds the stop. Also under ThreadSanitizer
// (tsan_tests): file_completed comes from another thread than the archiver's.
#include "archive/archiver.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "common/temp_dir.h"
#include "common/wait_until.h"

namespace xcap::archive {
namespace {

namespace fs = std::filesystem;

// A ring file of n (>= 40) bytes: a nanosecond pcap holding one record.
std::string ring_file(const test::TempDir& dir, int seq, size_t n) {
  if (n < 40) throw std::invalid_argument("ring_file: n < 40");
  char name[80];
  snprintf(name, sizeof name, "m-20240101T000000.%09dZ-%06d.pcap", seq, seq);
  const std::string path = dir / name;
  const uint32_t len = uint32_t(n - 40);
  const uint32_t header[] = {0xa1b23c4d, 0x00040002, 0, 0, 262144, 1};
  const uint32_t record[] = {1704067200, uint32_t(seq), len, len};
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(header), sizeof header);
  out.write(reinterpret_cast<const char*>(record), sizeof record);
  out << std::string(len, 'x');
  return path;
}

// n ring files of bytes each, completed in order from another thread, as the file writer
// hands them over; their paths.
std::vector<std::string> complete_files(Archiver& a, const test::TempDir& dir, int n,
                                        size_t bytes) {
  std::vector<std::string> files;
  std::thread writer([&] {
    for (int i = 0; i < n; i++) {
      files.push_back(ring_file(dir, i, bytes));
      a.file_completed(files.back());
    }
  });
  writer.join();
  return files;
}

TEST(Archiver, HookRunsOnEveryFileInOrder) {
  test::TempDir dir;
  const std::string seen = dir / "seen", hook = dir / "hook.sh";
  std::ofstream(hook) << "#!/bin/sh\necho \"$1\" >> " << seen << "\n";
  fs::permissions(hook, fs::perms::owner_all);
  ArchiveConfig cfg;
  cfg.hook = hook;
  auto a = Archiver::create(cfg, dir / "m");
  a->start();
  const std::vector<std::string> files = complete_files(*a, dir, 8, 100);
  EXPECT_TRUE(a->drain_and_stop(30));
  std::ifstream in(seen);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  EXPECT_EQ(lines, files);
  for (const std::string& f : files) EXPECT_TRUE(fs::exists(f)) << "-z alone keeps " << f;
  EXPECT_EQ(a->stats().backlog_files, 0u);
}

TEST(Archiver, StoreRefusingConnectionsKeepsFilesAndTheCapDropsTheOldest) {
  test::TempDir dir;
  setenv("AWS_ACCESS_KEY_ID", "k", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "s", 1);
  ArchiveConfig cfg;
  cfg.url = "s3://bkt/p";
  cfg.bucket = "bkt";
  cfg.endpoint = "http://127.0.0.1:1";  // nothing listens: connection refused at once
  cfg.path_style = true;
  cfg.sink_id = "t";
  cfg.spool_max = 3000;
  cfg.retry_base_s = 0.01;
  cfg.retry_cap_s = 0.05;
  auto a = Archiver::create(cfg, dir / "m");
  a->start();
  const std::vector<std::string> files = complete_files(*a, dir, 8, 1000);
  ASSERT_TRUE(test::wait_until([&] { return a->stats().failures["connect"] >= 3; },
                               std::chrono::seconds(20), std::chrono::milliseconds(10)));
  const metrics::ArchiveSnapshot s = a->stats();
  EXPECT_EQ(s.spool_dropped_files, 5u);
  EXPECT_EQ(s.backlog_files, 3u);
  EXPECT_EQ(s.backlog_bytes, 3000u);
  EXPECT_EQ(s.uploaded_files, 0u);
  EXPECT_FALSE(a->drain_and_stop(0.1));
  // The newest two stay, and one older: the oldest waiting one, unless the file in flight
  // (never dropped) was older.
  size_t kept = 0;
  for (const std::string& f : files) kept += fs::exists(f);
  EXPECT_EQ(kept, 3u);
  EXPECT_TRUE(fs::exists(files[6]) && fs::exists(files[7]));
  unsetenv("AWS_ACCESS_KEY_ID");
  unsetenv("AWS_SECRET_ACCESS_KEY");
}

// Files of earlier runs in the spool are queued at start, oldest first; other files are not.
TEST(Archiver, StartQueuesTheSpoolsRingFilesOnly) {
  test::TempDir dir;
  ring_file(dir, 2, 100);
  ring_file(dir, 1, 100);
  std::ofstream(dir / "m-20240101T000000.000000003Z-000003.pcap.part") << "x";
  std::ofstream(dir / "other.pcap") << "x";
  const std::string seen = dir / "seen", hook = dir / "hook.sh";
  std::ofstream(hook) << "#!/bin/sh\necho \"$1\" >> " << seen << "\n";
  fs::permissions(hook, fs::perms::owner_all);
  ArchiveConfig cfg;
  cfg.hook = hook;
  auto a = Archiver::create(cfg, dir / "m");
  a->start();
  ASSERT_TRUE(test::wait_until([&] { return fs::exists(seen) && fs::file_size(seen) > 0; },
                               std::chrono::seconds(10)));
  EXPECT_TRUE(a->drain_and_stop(30));
  std::ifstream in(seen);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(fs::path(l).filename().string());
  EXPECT_EQ(lines, (std::vector<std::string>{"m-20240101T000000.000000001Z-000001.pcap",
                                             "m-20240101T000000.000000002Z-000002.pcap"}));
}

}  // namespace
}  // namespace xcap::archive
