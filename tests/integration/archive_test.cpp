// The archive (--archive): completed ring files compressed and uploaded to a real S3 store
// (s3rver behind a front that verifies every SigV4 signature and payload hash with AWS's own
// signer, tests/s3store), checked with the Debian awscli, tshark/capinfos and zstd. These
// replay a generated capture (-r) through the file ring; the live-capture cases are in
// archive_live_test.cpp.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "common/capture_readers.h"
#include "common/fd.h"
#include "common/frame_builder.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/pcapng_records.h"
#include "common/s3_store.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

namespace fs = std::filesystem;
const char* const kBucket = "xcarc-bkt";

// Unique frames (the ports and size say which), 198.18.70.0/24, 1 ms apart.
std::vector<PcapRecord> frames(int n, int first = 0, size_t min_len = 100, size_t spread = 700) {
  std::vector<PcapRecord> out;
  for (int i = first; i < first + n; i++) {
    Bytes f = FrameBuilder()
                  .eth()
                  .ipv4("198.18.70.1", "198.18.70.2")
                  .udp(uint16_t(1024 + i % 50000), uint16_t(2000 + i / 50000))
                  .payload(min_len + size_t(i) % spread, uint8_t(i))
                  .build();
    out.push_back({1'700'000'000'000'000'000ull + uint64_t(i) * 1'000'000, uint32_t(f.size()),
                   uint32_t(f.size()), f});
  }
  return out;
}

std::vector<std::string> good_env() {
  return {"-u",
          "AWS_SESSION_TOKEN",
          "-u",
          "AWS_PROFILE",
          std::string("AWS_ACCESS_KEY_ID=") + kStoreKey,
          std::string("AWS_SECRET_ACCESS_KEY=") + kStoreSecret,
          "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"};
}

// xcap capture -r input --mode span -w spool/m.pcap --archive s3://kBucket/vtap ... extra
std::vector<std::string> replay_args(const S3Store& store, const std::string& input,
                                     const std::string& spool, std::vector<std::string> extra) {
  std::vector<std::string> a{bin("xcap"),
                             "capture",
                             "-r",
                             input,
                             "--mode",
                             "span",
                             "-w",
                             spool + "/m.pcap",
                             "--archive",
                             std::string("s3://") + kBucket + "/vtap",
                             "--s3-endpoint",
                             store.endpoint(),
                             "--s3-path-style",
                             "--stats-json"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

std::vector<std::string> capture_files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Downloads every object under prefix with awscli, decompresses it (zstd -dc / gzip -dc) and
// returns the records of them all, sorted; *objects gets their keys.
std::vector<PcapRecord> bucket_records(const S3Store& store, const TempDir& dir,
                                       const std::string& prefix,
                                       std::vector<std::string>* keys = nullptr) {
  std::vector<PcapRecord> all;
  int n = 0;
  for (const StoredObject& o : store.list(kBucket, prefix)) {
    if (keys) keys->push_back(o.key);
    const std::string got = dir / ("obj" + std::to_string(n++));
    EXPECT_TRUE(store.download(kBucket, o.key, got)) << o.key;
    std::string plain = got;
    if (o.key.ends_with(".zst") || o.key.ends_with(".gz")) {
      plain = got + ".pcap";
      const char* tool = o.key.ends_with(".zst") ? "zstd -q -dc " : "gzip -dc ";
      EXPECT_EQ(sh(std::string(tool) + got + " > " + plain), 0) << o.key;
    }
    for (PcapRecord& r : read_pcap_records(plain)) all.push_back(std::move(r));
  }
  std::sort(all.begin(), all.end());
  return all;
}

// Every record of got is one of want's, and none comes twice (want has no duplicates).
void expect_unique_subset(const std::vector<PcapRecord>& got, std::vector<PcapRecord> want) {
  std::sort(want.begin(), want.end());
  EXPECT_TRUE(std::adjacent_find(got.begin(), got.end()) == got.end()) << "a record came twice";
  EXPECT_TRUE(std::includes(want.begin(), want.end(), got.begin(), got.end()));
}

// The ring's files are in the bucket, each once, zstd-compressed, named from their own
// records; tshark and capinfos read the objects as stored; the awscli download, decompressed,
// equals the local file byte for byte (--keep-local); together they hold every packet.
TEST(Archive, RingFilesLandInTheBucketCompressedWholeAndReadable) {
  S3Store store({kBucket});
  TempDir dir;
  fs::create_directory(dir / "spool");
  const std::vector<PcapRecord> in = frames(16000);
  write_pcap_records(dir / "in.pcap", in);
  RunResult r =
      run(with_env(good_env(), replay_args(store, dir / "in.pcap", dir / "spool",
                                           {"-C", "1", "--sink-id", "sink-a", "--keep-local"})),
          120);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto stats = parse_stats_json(r.output);
  ASSERT_TRUE(stats) << r.output;
  const std::vector<std::string> local = capture_files(dir / "spool");
  ASSERT_GE(local.size(), 4u) << r.output;
  std::vector<std::string> keys;
  const std::vector<PcapRecord> got = bucket_records(store, dir, "vtap/", &keys);
  ASSERT_EQ(keys.size(), local.size()) << r.output;
  const std::regex name(
      R"(vtap/sink-a/all/2023/11/14/(\d{8}T\d{6}\.\d{9}Z)_(\d{8}T\d{6}\.\d{9}Z)_(\d{6})\.pcap\.zst)");
  for (size_t i = 0; i < keys.size(); i++) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(keys[i], m, name)) << keys[i];
    // m-<first>-<seq>.pcap: the same first packet and seq as the local file.
    EXPECT_EQ(local[i], "m-" + m[1].str() + "-" + m[3].str() + ".pcap");
    const std::string obj = dir / ("obj" + std::to_string(i));
    RunResult cap = run({"/usr/bin/capinfos", "-c", "-M", obj});
    const auto records = read_pcap_records(dir / ("spool/" + local[i]));
    EXPECT_NE(cap.output.find("Number of packets:   " + std::to_string(records.size())),
              std::string::npos)
        << cap.output;
    EXPECT_EQ(read_file(obj + ".pcap"), read_file(dir / ("spool/" + local[i]))) << keys[i];
  }
  RunResult tshark =
      run({"/usr/bin/tshark", "-r", dir / "obj0", "-T", "fields", "-e", "udp.srcport"});
  EXPECT_EQ(tshark.status, 0) << tshark.output;
  EXPECT_NE(tshark.output.find("1024\n"), std::string::npos);
  EXPECT_EQ(got.size(), stats->captured);
  EXPECT_EQ(stats->captured + stats->writer, in.size());
  expect_unique_subset(got, in);
  EXPECT_EQ(store.log().find("store: 403"), std::string::npos) << store.log();
}

// Above --s3-part-size a file goes up in parts (the ETag of a multipart object ends in -N)
// and comes back equal; without --keep-local the spool is empty afterwards; gzip objects are
// .pcap.gz and read as they are.
TEST(Archive, MultipartAndGzipRoundTripAndEmptyTheSpool) {
  S3Store store({kBucket});
  TempDir dir;
  fs::create_directory(dir / "spool");
  fs::create_directory(dir / "spool2");
  const std::vector<PcapRecord> in = frames(24000, 0, 800, 700);  // ~27 MB
  write_pcap_records(dir / "in.pcap", in);
  RunResult r = run(with_env(good_env(), replay_args(store, dir / "in.pcap", dir / "spool",
                                                     {"-C", "12", "--compress", "none",
                                                      "--s3-part-size", "5", "--sink-id", "mp"})),
                    180);
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_TRUE(capture_files(dir / "spool").empty()) << r.output;
  std::vector<std::string> keys;
  const std::vector<PcapRecord> got = bucket_records(store, dir, "vtap/mp/", &keys);
  ASSERT_GE(keys.size(), 2u);
  // Parts of 5 MiB: the first file (> 10 MiB) went up in 3, each checked by the front.
  EXPECT_NE(store.log().find("ok POST /xcarc-bkt/" + keys[0] + "?uploads="), std::string::npos)
      << store.log();
  EXPECT_NE(store.log().find("ok PUT /xcarc-bkt/" + keys[0] + "?partNumber=3&uploadId="),
            std::string::npos);
  RunResult head = store.aws({"s3api", "head-object", "--bucket", kBucket, "--key", keys[0]});
  EXPECT_NE(head.output.find("\"xcap-sink\": \"mp\""), std::string::npos) << head.output;
  EXPECT_TRUE(keys[0].ends_with(".pcap")) << keys[0];
  const auto stats = parse_stats_json(r.output);
  ASSERT_TRUE(stats);
  EXPECT_EQ(got.size(), stats->captured);
  expect_unique_subset(got, in);

  const std::vector<PcapRecord> small = frames(3000, 100000);
  write_pcap_records(dir / "small.pcap", small);
  RunResult g =
      run(with_env(good_env(), replay_args(store, dir / "small.pcap", dir / "spool2",
                                           {"-C", "1", "--compress", "gzip", "--sink-id", "gz"})),
          120);
  ASSERT_EQ(g.status, 0) << g.output;
  std::vector<std::string> gz_keys;
  const std::vector<PcapRecord> gz = bucket_records(store, dir, "vtap/gz/", &gz_keys);
  ASSERT_FALSE(gz_keys.empty());
  for (const std::string& k : gz_keys) EXPECT_TRUE(k.ends_with(".pcap.gz")) << k;
  RunResult cap = run({"/usr/bin/capinfos", "-c", "-M", dir / "obj0"});
  EXPECT_EQ(cap.status, 0) << cap.output;
  expect_unique_subset(gz, small);
  EXPECT_EQ(gz.size(), parse_stats_json(g.output)->captured);
  EXPECT_EQ(store.log().find("store: 403"), std::string::npos) << store.log();
}

// What cannot work is said before the capture starts (exit 2), and no file is written: a
// wrong secret (the verifying front answers 403), an unknown bucket, no credentials.
TEST(Archive, BadStoreSettingsStopBeforeCapture) {
  S3Store store({kBucket});
  TempDir dir;
  fs::create_directory(dir / "spool");
  write_pcap_records(dir / "in.pcap", frames(100));
  auto run_with = [&](std::vector<std::string> env, std::vector<std::string> extra) {
    return run(with_env(env, replay_args(store, dir / "in.pcap", dir / "spool", extra)), 60);
  };
  std::vector<std::string> wrong = good_env();
  wrong.push_back("AWS_SECRET_ACCESS_KEY=not-the-secret");
  RunResult w = run_with(wrong, {"-C", "1"});
  EXPECT_EQ(w.status, 2) << w.output;
  EXPECT_NE(w.output.find("SignatureDoesNotMatch"), std::string::npos) << w.output;
  EXPECT_NE(w.output.find("wrong access key or secret"), std::string::npos) << w.output;
  EXPECT_NE(store.log().find("403 SignatureDoesNotMatch"), std::string::npos) << store.log();

  RunResult b = run(
      with_env(good_env(), {bin("xcap"), "capture", "-r", dir / "in.pcap", "--mode", "span", "-w",
                            dir / "spool/m.pcap", "-C", "1", "--archive", "s3://no-such-bucket/p",
                            "--s3-endpoint", store.endpoint(), "--s3-path-style"}),
      60);
  EXPECT_EQ(b.status, 2) << b.output;
  EXPECT_NE(b.output.find("no bucket 'no-such-bucket'"), std::string::npos) << b.output;

  RunResult c = run_with({"-u", "AWS_ACCESS_KEY_ID", "-u", "AWS_SECRET_ACCESS_KEY", "-u",
                          "AWS_PROFILE", "AWS_SHARED_CREDENTIALS_FILE=" + (dir / "none")},
                         {"-C", "1"});
  EXPECT_EQ(c.status, 2) << c.output;
  EXPECT_NE(c.output.find("no credentials"), std::string::npos) << c.output;
  EXPECT_NE(c.output.find("AWS_ACCESS_KEY_ID"), std::string::npos) << c.output;
  EXPECT_TRUE(capture_files(dir / "spool").empty());
}

// The issue's own command line, -w m.pcapng without --format: the ring is pcapng, and so are
// the objects (.pcapng.zst), which capinfos reads as they are stored.
TEST(Archive, APcapngPathMakesAPcapngRingAndPcapngObjects) {
  S3Store store({kBucket});
  TempDir dir;
  fs::create_directory(dir / "spool");
  write_pcap_records(dir / "in.pcap", frames(3000));
  std::vector<std::string> args = replay_args(store, dir / "in.pcap", dir / "spool", {"-C", "1"});
  for (std::string& a : args)
    if (a == dir / "spool/m.pcap") a += "ng";
  RunResult r = run(with_env(good_env(), args), 120);
  ASSERT_EQ(r.status, 0) << r.output;
  const auto objects = store.list(kBucket, "vtap/");
  ASSERT_GE(objects.size(), 2u);
  for (const StoredObject& o : objects) {
    EXPECT_TRUE(o.key.ends_with(".pcapng.zst")) << o.key;
    ASSERT_TRUE(store.download(kBucket, o.key, dir / "o.pcapng.zst"));
    const RunResult info = run({"/usr/bin/capinfos", "-t", dir / "o.pcapng.zst"});
    EXPECT_NE(info.output.find("pcapng"), std::string::npos) << info.output;
  }
}

// A store that takes the connection and then never answers (a listener nobody accepts from:
// the kernel completes the handshake) does not hold up the start: after the bounded check the
// capture runs, and its files wait in the spool.
TEST(Archive, AStoreThatNeverAnswersDoesNotHoldUpTheStart) {
  TempDir dir;
  fs::create_directory(dir / "spool");
  write_pcap_records(dir / "in.pcap", frames(3000));
  Fd mute(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ASSERT_EQ(::bind(mute.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  ASSERT_EQ(::listen(mute.get(), 64), 0);
  ASSERT_EQ(::getsockname(mute.get(), reinterpret_cast<sockaddr*>(&a), &len), 0);
  const std::string endpoint = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port));
  const auto t0 = std::chrono::steady_clock::now();
  RunResult r =
      run(with_env(good_env(), {bin("xcap"), "capture", "-r", dir / "in.pcap", "--mode", "span",
                                "-w", dir / "spool/m.pcap", "-C", "1", "--archive",
                                std::string("s3://") + kBucket + "/p", "--s3-endpoint", endpoint,
                                "--s3-path-style", "--archive-drain-timeout", "1"}),
          60);
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status, 0) << r.output;  // the files stay in the spool: not an error
  EXPECT_NE(r.output.find("the store does not answer"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("left in the spool for the next start"), std::string::npos) << r.output;
  EXPECT_LT(took, 20) << r.output;  // 5 s check + 1 s drain, far below curl's 30 s stall limit
  EXPECT_EQ(spool_records(dir / "spool").size(), 3000u);
}

// The store down for a whole run: capture goes on into the spool, the exit log says what is
// left. The next start (a new run into the same spool) uploads those files too; a file that
// is already in the bucket (--keep-local kept it) is found by HEAD and not sent again.
TEST(Archive, SpoolSurvivesAStoreOutageAndTheNextStartUploadsItOnce) {
  S3Store store({kBucket});
  TempDir dir;
  fs::create_directory(dir / "spool");
  const std::vector<PcapRecord> first = frames(6000), second = frames(2000, 200000);
  write_pcap_records(dir / "first.pcap", first);
  write_pcap_records(dir / "second.pcap", second);
  store.stop();
  RunResult down =
      run(with_env(good_env(),
                   replay_args(store, dir / "first.pcap", dir / "spool",
                               {"-C", "1", "--sink-id", "s", "--archive-drain-timeout", "1"})),
          60);
  ASSERT_EQ(down.status, 0) << down.output;
  EXPECT_NE(down.output.find("does not answer"), std::string::npos) << down.output;
  EXPECT_NE(down.output.find("left in the spool for the next start"), std::string::npos)
      << down.output;
  const size_t left = capture_files(dir / "spool").size();
  ASSERT_GE(left, 2u);
  store.start();
  RunResult up =
      run(with_env(good_env(), replay_args(store, dir / "second.pcap", dir / "spool",
                                           {"-C", "1", "--sink-id", "s", "--keep-local"})),
          120);
  ASSERT_EQ(up.status, 0) << up.output;
  EXPECT_NE(up.output.find("file(s) of earlier runs in the spool"), std::string::npos) << up.output;
  std::vector<std::string> keys;
  std::vector<PcapRecord> got = bucket_records(store, dir, "vtap/s/", &keys);
  EXPECT_EQ(keys.size(), capture_files(dir / "spool").size());
  EXPECT_GT(keys.size(), left);
  std::vector<PcapRecord> both = first;
  both.insert(both.end(), second.begin(), second.end());
  expect_unique_subset(got, both);
  EXPECT_EQ(got.size(),
            parse_stats_json(down.output)->captured + parse_stats_json(up.output)->captured);
  // Again, with every file kept and in the bucket: HEAD finds each, nothing goes up twice.
  const std::vector<PcapRecord> none;
  write_pcap_records(dir / "empty.pcap", frames(1, 300000));
  RunResult again =
      run(with_env(good_env(), replay_args(store, dir / "empty.pcap", dir / "spool",
                                           {"-C", "1", "--sink-id", "s", "--keep-local"})),
          120);
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("already in the bucket"), std::string::npos) << again.output;
  EXPECT_EQ(store.list(kBucket, "vtap/s/").size(), keys.size() + 1);
}

// kill -9 while uploads are in flight (a slow store), then a new start into the same spool:
// the bucket ends up with every record that was on disk at the kill, each once, and nothing
// in the spool. wait_for says when to kill.
using StoreCheck = std::function<void(const S3Store&, const std::string& xcap_stderr)>;
void kill_during_upload_then_restart(
    const std::vector<std::string>& extra,
    const std::function<bool(const S3Store&, const std::string&)>& wait_for,
    const StoreCheck& after_restart = [](const S3Store&, const std::string&) {}) {
  S3Store store({kBucket}, 150);
  TempDir dir;
  fs::create_directory(dir / "spool");
  const std::vector<PcapRecord> in = frames(16000, 0, 400, 700), late = frames(1, 400000);
  write_pcap_records(dir / "in.pcap", in);
  write_pcap_records(dir / "late.pcap", late);
  std::vector<std::string> args = {"--sink-id", "k"};
  args.insert(args.end(), extra.begin(), extra.end());
  {
    Subprocess xcap(with_env(good_env(), replay_args(store, dir / "in.pcap", dir / "spool", args)));
    ASSERT_TRUE(wait_until([&] { return wait_for(store, dir / "spool") || !xcap.running(); },
                           std::chrono::seconds(60), std::chrono::milliseconds(20)));
    ASSERT_TRUE(xcap.running()) << "xcap ended before the kill: " << xcap.err();
    xcap.signal(SIGKILL);
    ASSERT_EQ(xcap.wait(10), 128 + SIGKILL);
  }
  // What must end up in the bucket: what is there already, what is on disk, the late frame.
  // A file uploaded but not yet deleted at the kill is in both: a set, then.
  std::vector<PcapRecord> want = spool_records(dir / "spool");
  ASSERT_FALSE(want.empty());
  std::vector<std::string> before;
  for (PcapRecord& r : bucket_records(store, dir, "vtap/k/", &before)) want.push_back(r);
  for (const PcapRecord& r : late) want.push_back(r);
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());
  RunResult again =
      run(with_env(good_env(), replay_args(store, dir / "late.pcap", dir / "spool", args)), 180);
  ASSERT_EQ(again.status, 0) << again.output;
  std::vector<std::string> keys;
  const std::vector<PcapRecord> got = bucket_records(store, dir, "vtap/k/", &keys);
  EXPECT_TRUE(got == want) << got.size() << " records in the bucket, " << want.size()
                           << " on disk or stored at the kill and after; " << before.size()
                           << " objects before the restart\n"
                           << again.output;
  EXPECT_TRUE(std::adjacent_find(got.begin(), got.end()) == got.end()) << "a record came twice";
  EXPECT_TRUE(capture_files(dir / "spool").empty()) << again.output;  // no marker left either
  after_restart(store, again.output);
  EXPECT_EQ(store.log().find("store: 403"), std::string::npos) << store.log();
}

TEST(ArchiveRestart, KillDuringUploadsThenEachFileOnceAfterRestart) {
  kill_during_upload_then_restart({"-C", "1"}, [](const S3Store& store, const std::string&) {
    return store.list(kBucket, "vtap/k/").size() >= 2;
  });
}

// A multipart upload cut by kill -9 is aborted at the next start (the marker file says which;
// s3rver answers 405 to the abort, which xcap logs) and the file goes up again whole.
TEST(ArchiveRestart, KillDuringAMultipartUploadAbortsItAtRestart) {
  kill_during_upload_then_restart(
      {"-C", "12", "--compress", "none", "--s3-part-size", "5"},
      [](const S3Store& store, const std::string&) {
        return store.log().find("?partNumber=1&uploadId=") != std::string::npos;
      },
      [](const S3Store& store, const std::string& out) {
        EXPECT_NE(store.log().find("ok DELETE /xcarc-bkt/vtap/k/"), std::string::npos);
        EXPECT_NE(out.find("cannot abort the upload"), std::string::npos) << out;
      });
}

// Two sinks with different ids (two runs on the same capture, as two VMs behind one load
// balancer could write the same times and seqs) share one bucket without a collision.
TEST(Archive, TwoSinksShareABucketWithoutCollision) {
  S3Store store({kBucket});
  TempDir dir;
  const std::vector<PcapRecord> in = frames(6000);
  write_pcap_records(dir / "in.pcap", in);
  size_t files = 0;
  for (const char* sink : {"sink-a", "sink-b"}) {
    const std::string spool = dir / sink;
    fs::create_directory(spool);
    RunResult r =
        run(with_env(good_env(), replay_args(store, dir / "in.pcap", spool,
                                             {"-C", "1", "--sink-id", sink, "--keep-local"})),
            120);
    ASSERT_EQ(r.status, 0) << r.output;
    files += capture_files(spool).size();
  }
  const auto a = store.list(kBucket, "vtap/sink-a/"), b = store.list(kBucket, "vtap/sink-b/");
  EXPECT_EQ(a.size() + b.size(), files);
  EXPECT_EQ(store.list(kBucket, "vtap/").size(), files);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); i++)  // the same files, under each sink's own name
    EXPECT_EQ(a[i].key.substr(strlen("vtap/sink-a/")), b[i].key.substr(strlen("vtap/sink-b/")));
}

// -z CMD runs CMD (no shell) with each completed file's path, before the upload; alone, it
// runs on every file and the files stay.
TEST(Archive, PostrotateCommandSeesEveryCompletedFile) {
  S3Store store({kBucket});
  TempDir dir;
  fs::create_directory(dir / "spool");
  fs::create_directory(dir / "hookonly");
  write_pcap_records(dir / "in.pcap", frames(5000));
  const std::string hook = dir / "hook.sh", seen = dir / "seen";
  {
    std::ofstream(hook) << "#!/bin/sh\n[ -f \"$1\" ] && [ $# -eq 1 ] && echo \"$1\" >> " << seen
                        << "\n";
  }
  fs::permissions(hook, fs::perms::owner_all);
  RunResult r = run(with_env(good_env(), replay_args(store, dir / "in.pcap", dir / "spool",
                                                     {"-C", "1", "--sink-id", "z", "-z", hook})),
                    120);
  ASSERT_EQ(r.status, 0) << r.output;
  const size_t objects = store.list(kBucket, "vtap/z/").size();
  EXPECT_GE(objects, 3u);
  std::ifstream in(seen);
  size_t lines = 0;
  for (std::string l; std::getline(in, l); lines++)
    EXPECT_TRUE(l.starts_with(dir / "spool/m-")) << l;
  EXPECT_EQ(lines, objects);

  fs::remove(seen);
  RunResult alone = run({bin("xcap"), "capture", "-r", dir / "in.pcap", "--mode", "span", "-w",
                         dir / "hookonly/m.pcap", "-C", "1", "-z", hook},
                        120);
  ASSERT_EQ(alone.status, 0) << alone.output;
  std::ifstream in2(seen);
  size_t lines2 = 0;
  for (std::string l; std::getline(in2, l); lines2++) EXPECT_TRUE(fs::exists(l)) << l;
  EXPECT_EQ(lines2, capture_files(dir / "hookonly").size());
  EXPECT_GE(lines2, 3u);
}

// xcap archive push DIR: another tool's files (any name) and another run's ring files go up,
// named from their packets, and are deleted; a second push of kept files sends nothing twice.
TEST(ArchivePush, UploadsADirectoryOfForeignFiles) {
  S3Store store({kBucket});
  TempDir dir;
  fs::create_directory(dir / "d");
  const std::vector<PcapRecord> a = frames(500), b = frames(700, 10000);
  write_pcap_records(dir / "d/tcpdump-capture.pcap", a);
  write_pcap_records(dir / "d/old-20231114T221320.000000000Z-000123.pcap", b);
  { std::ofstream(dir / "d/notes.txt") << "not a capture\n"; }
  auto push = [&](std::vector<std::string> extra) {
    std::vector<std::string> argv{bin("xcap"),
                                  "archive",
                                  "push",
                                  dir / "d",
                                  "--archive",
                                  std::string("s3://") + kBucket + "/pushed",
                                  "--s3-endpoint",
                                  store.endpoint(),
                                  "--s3-path-style",
                                  "--sink-id",
                                  "p"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return run(with_env(good_env(), argv), 120);
  };
  RunResult r = push({"--keep-local"});
  ASSERT_EQ(r.status, 0) << r.output;
  std::vector<std::string> keys;
  std::vector<PcapRecord> got = bucket_records(store, dir, "pushed/", &keys);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_TRUE(keys[0].ends_with("_000000.pcap.zst")) << keys[0];  // tcpdump's: seq 0
  EXPECT_TRUE(keys[1].ends_with("_000123.pcap.zst")) << keys[1];  // the ring file's seq
  std::vector<PcapRecord> both = a;
  both.insert(both.end(), b.begin(), b.end());
  std::sort(both.begin(), both.end());
  EXPECT_TRUE(got == both);
  RunResult again = push({});
  ASSERT_EQ(again.status, 0) << again.output;
  EXPECT_NE(again.output.find("already in the bucket"), std::string::npos) << again.output;
  EXPECT_EQ(store.list(kBucket, "pushed/").size(), 2u);
  EXPECT_EQ(capture_files(dir / "d"), std::vector<std::string>{"notes.txt"});
  EXPECT_EQ(run({bin("xcap"), "archive", "push", dir / "d"}).status, 2);
  EXPECT_EQ(run({bin("xcap"), "archive", "ls"}).status, 2);
}

// xcap archive ls|get s3://kBucket/vtap ARGS..., with the good credentials unless env says
// otherwise; stdout to stdout_path when given.
struct ReadRun {
  int status;
  std::string out, err;
};
ReadRun archive_read(const S3Store& store, const std::string& verb,
                     const std::vector<std::string>& args, const std::string& stdout_path = "",
                     std::vector<std::string> env = good_env()) {
  std::vector<std::string> argv{bin("xcap"),
                                "archive",
                                verb,
                                std::string("s3://") + kBucket + "/vtap",
                                "--s3-endpoint",
                                store.endpoint(),
                                "--s3-path-style"};
  argv.insert(argv.end(), args.begin(), args.end());
  Subprocess p(with_env(env, argv), stdout_path);
  const int status = p.wait(120);
  return {status, p.out(), p.err()};
}

struct LsLine {
  uint64_t first_ns, last_ns;
  std::string key;
};
// ls's lines: FIRST LAST BYTES s3://BUCKET/KEY, the times RFC 3339 with nanoseconds.
std::vector<LsLine> ls_lines(const std::string& out) {
  static const std::regex line(
      R"((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z +\d+ s3://([^/]+)/(\S+))");
  auto ns = [](const std::string& secs, const std::string& frac) {
    std::tm tm{};
    strptime(secs.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
    return uint64_t(timegm(&tm)) * 1'000'000'000ull + std::stoull(frac);
  };
  std::vector<LsLine> v;
  std::istringstream in(out);
  for (std::string l; std::getline(in, l);) {
    std::smatch m;
    EXPECT_TRUE(std::regex_match(l, m, line)) << l;
    if (m.empty()) continue;
    EXPECT_EQ(m[5], kBucket);
    v.push_back({ns(m[1], m[2]), ns(m[3], m[4]), m[6]});
  }
  return v;
}

// Two sinks archive one bucket (the same traffic seen half a millisecond apart, as two mirror
// sinks behind a load balancer might). ls lists what awscli lists, by time; get merges a
// window of both, filtered, into one pcapng in time order with one interface per sink, which
// tshark reads; -w - writes the same bytes.
TEST(ArchiveRead, LsListsEverySinkAndGetMergesAWindowInTimeOrder) {
  S3Store store({kBucket});
  TempDir dir;
  std::map<std::string, std::vector<PcapRecord>> in;
  in["sink-a"] = frames(6000);
  in["sink-b"] = frames(6000, 6000);
  for (PcapRecord& r : in["sink-b"]) r.ts_ns -= 6000 * 1'000'000ull - 500'000;
  for (auto& [sink, recs] : in) {
    write_pcap_records(dir / (sink + ".pcap"), recs);
    fs::create_directory(dir / sink);
    RunResult r = run(with_env(good_env(), replay_args(store, dir / (sink + ".pcap"), dir / sink,
                                                       {"-C", "1", "--sink-id", sink})),
                      120);
    ASSERT_EQ(r.status, 0) << r.output;
  }
  // ls: every object of both sinks, as awscli sees them, in time order; pages of any size.
  std::set<std::string> aws_keys;
  for (const StoredObject& o : store.list(kBucket, "vtap/")) aws_keys.insert(o.key);
  ASSERT_GE(aws_keys.size(), 8u);
  const ReadRun all = archive_read(store, "ls", {});
  ASSERT_EQ(all.status, 0) << all.err;
  const std::vector<LsLine> lines = ls_lines(all.out);
  std::set<std::string> ls_keys;
  for (size_t i = 0; i < lines.size(); i++) {
    ls_keys.insert(lines[i].key);
    if (i) EXPECT_LE(lines[i - 1].first_ns, lines[i].first_ns);
  }
  EXPECT_EQ(ls_keys, aws_keys);
  EXPECT_EQ(ls_lines(archive_read(store, "ls", {"--page-size", "1"}).out).size(), lines.size());
  EXPECT_EQ(archive_read(store, "ls", {"--from", "-20000d", "--to", "now"}).out, all.out);
  const ReadRun only_b = archive_read(store, "ls", {"--sink", "sink-b", "--source", "all"});
  EXPECT_EQ(ls_lines(only_b.out).size(), lines.size() / 2);
  EXPECT_EQ(only_b.out.find("/sink-a/"), std::string::npos);
  // A window from the middle of the third second to the middle of the fifth: ls lists exactly
  // the objects that overlap it.
  const uint64_t t0 = in["sink-a"].front().ts_ns, from = t0 + 2'500'000'000,
                 to = t0 + 4'500'000'000;
  const std::string from_s = "2023-11-14T22:13:22.5Z", to_s = "2023-11-14T22:13:24.5Z";
  ASSERT_EQ(t0, 1'700'000'000'000'000'000ull);  // 2023-11-14T22:13:20Z
  const std::vector<LsLine> window =
      ls_lines(archive_read(store, "ls", {"--from", from_s, "--to", to_s}).out);
  size_t overlapping = 0;
  for (const LsLine& l : lines) overlapping += l.first_ns <= to && l.last_ns >= from;
  EXPECT_EQ(window.size(), overlapping);
  for (const LsLine& l : window) EXPECT_TRUE(l.first_ns <= to && l.last_ns >= from) << l.key;
  // get: the window's packets of both sinks that the filter selects, each once, in order.
  const std::string filter = "udp src port 1030 or greater 600";
  const ReadRun got = archive_read(
      store, "get", {"--from", from_s, "--to", to_s, "-f", filter, "-w", dir / "win.pcapng"});
  ASSERT_EQ(got.status, 0) << got.err;
  const PcapngFile f = read_pcapng(dir / "win.pcapng");
  ASSERT_EQ(f.error, "");
  ASSERT_EQ(f.interfaces.size(), 2u);
  std::vector<std::pair<uint64_t, std::vector<uint8_t>>> want, seen;
  for (auto& [sink, recs] : in)
    for (const PcapRecord& r : recs) {
      const uint16_t sport = uint16_t(r.data[34] << 8 | r.data[35]);
      if (r.ts_ns >= from && r.ts_ns <= to && (sport == 1030 || r.len >= 600))
        want.emplace_back(r.ts_ns, r.data);
    }
  ASSERT_GT(want.size(), 100u);
  std::sort(want.begin(), want.end());
  for (size_t i = 0; i < f.packets.size(); i++) {
    const PcapngPacket& p = f.packets[i];
    if (i) EXPECT_LE(f.packets[i - 1].ts, p.ts) << "packet " << i << " out of time order";
    // The interface says which sink: sink-b's frames are the ones shifted by half a ms.
    EXPECT_EQ(f.interfaces[p.iface], p.ts % 1'000'000 ? "sink-b/all" : "sink-a/all");
    seen.emplace_back(p.ts, p.data);
  }
  EXPECT_TRUE(seen == want) << seen.size() << " packets merged, " << want.size() << " wanted";
  EXPECT_EQ(tshark({"-r", dir / "win.pcapng", "-T", "fields", "-e", "frame.interface_name"}).size(),
            want.size());
  EXPECT_EQ(archive_read(store, "get", {"--from", from_s, "--to", to_s, filter, "-w", "-"},
                         dir / "stdout.pcapng")
                .status,
            0);
  EXPECT_EQ(read_file(dir / "stdout.pcapng"), read_file(dir / "win.pcapng"));
}

// A command line, credentials or bucket that cannot work: exit 2 and a message that names
// what is wrong, before anything is fetched.
TEST(ArchiveRead, BadInputIsRefusedWithAClearMessage) {
  S3Store store({kBucket});
  auto refused = [&](const std::string& verb, const std::vector<std::string>& args,
                     const std::string& says, std::vector<std::string> env = good_env()) {
    const ReadRun r = archive_read(store, verb, args, "", env);
    EXPECT_EQ(r.status, 2) << verb << " " << args.size() << ": " << r.err;
    EXPECT_NE(r.err.find(says), std::string::npos) << r.err;
  };
  refused("ls", {"--from", "yesterday"}, "--from 'yesterday': expected an RFC 3339 time");
  refused("ls", {"--from", "2023-11-14T22:13:24Z", "--to", "2023-11-14T22:13:22Z"},
          "is before --from");
  refused("ls", {"--lookback", "1 day"}, "--lookback '1 day'");
  refused("ls", {"--sink", "a/b"}, "--sink 'a/b'");
  refused("get", {"-w", "/dev/null"}, "--from T is required");
  refused("get", {"--from", "-1h", "-f", "tcp port 99999", "-w", "/dev/null"},
          "-f invalid filter \"tcp port 99999\"");
  refused("get", {"--from", "-1h", "--format", "erf", "-w", "/dev/null"}, "--format 'erf'");
  refused("ls", {}, "the store refused the credentials",
          {"AWS_ACCESS_KEY_ID=S3RVER", "AWS_SECRET_ACCESS_KEY=wrong",
           "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"});
  refused("ls", {}, "AWS_ACCESS_KEY_ID",
          {"-u", "AWS_ACCESS_KEY_ID", "-u", "AWS_SECRET_ACCESS_KEY", "-u", "AWS_PROFILE",
           "AWS_SHARED_CREDENTIALS_FILE=/nonexistent"});
  EXPECT_EQ(store.log().find("store: 403 SignatureDoesNotMatch"), store.log().rfind("store: 403"))
      << "only the wrong secret reached the store: " << store.log();
  std::vector<std::string> argv{
      bin("xcap"),      "archive",        "ls", "s3://no-such-bucket/vtap", "--s3-endpoint",
      store.endpoint(), "--s3-path-style"};
  RunResult r = run(with_env(good_env(), argv));
  EXPECT_EQ(r.status, 2) << r.output;
  EXPECT_NE(r.output.find("no bucket 'no-such-bucket'"), std::string::npos) << r.output;
  r = run(with_env(good_env(), {bin("xcap"), "archive", "get", "s3://UPPER/x", "--from", "-1h"}));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.output.find("UPPER"), std::string::npos) << r.output;
}

}  // namespace
}  // namespace xcap::test
