// The archive under a live capture (veth lab 198.18.70.0/24, span mode, -C 1): every packet
// sent ends up in the bucket; a 30 s store outage, a full spool and a secret that turns wrong
// at run time are survived, counted and shown in the metrics. The store is s3rver behind the
// SigV4-verifying front (tests/s3store); credentials come from a shared credentials file the
// test rewrites.
#include <gtest/gtest.h>
#include <signal.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <thread>

#include "common/frame_builder.h"
#include "common/lab.h"
#include "common/pcap_file.h"
#include "common/s3_store.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

namespace fs = std::filesystem;
const char* const kBucket = "xcarc-live";

// The test's credentials: a shared credentials file, the AWS variables unset while it lives.
class CredentialsFile {
 public:
  explicit CredentialsFile(std::string path) : path_(std::move(path)) {
    for (const char* n : kVars) {
      const char* v = getenv(n);
      saved_.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
      unsetenv(n);
    }
    setenv("AWS_SHARED_CREDENTIALS_FILE", path_.c_str(), 1);
    write(kStoreSecret);
  }
  ~CredentialsFile() {
    for (const auto& [n, v] : saved_)
      if (v)
        setenv(n.c_str(), v->c_str(), 1);
      else
        unsetenv(n.c_str());
  }
  void write(const std::string& secret) const {
    const std::string tmp = path_ + ".new";
    std::ofstream(tmp) << "[default]\naws_access_key_id = " << kStoreKey
                       << "\naws_secret_access_key = " << secret << "\n";
    fs::rename(tmp, path_);
  }

 private:
  static constexpr const char* kVars[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                                          "AWS_SESSION_TOKEN", "AWS_PROFILE",
                                          "AWS_SHARED_CREDENTIALS_FILE"};
  std::string path_;
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// One live archiving capture: lab, store, spool, credentials, xcap with --metrics. Only UDP
// is captured: the kernel's own frames on the new link (IPv6 router solicitations) are not
// the test's. The suite's lab is xcarc (198.18.70.0/24) unless a test names its own;
// store_delay_ms makes the store slow (every request held that long).
struct LiveArchive {
  explicit LiveArchive(const std::string& lab_name = "xcarc", const std::string& net = "198.18.70",
                       int store_delay_ms = 0)
      : lab(lab_name, net), store({kBucket}, store_delay_ms) {}
  Lab lab;
  S3Store store;
  TempDir dir;
  CredentialsFile creds{dir / "credentials"};
  int metrics_port = free_port();
  std::unique_ptr<Subprocess> xcap;
  std::vector<Bytes> sent;
  mutable int downloads = 0;  // names the downloaded objects' files

  std::string spool() const { return dir / "spool"; }
  void start(std::vector<std::string> extra, std::string* why) {
    fs::create_directory(spool());
    std::vector<std::string> args{"--mode",
                                  "span",
                                  "-w",
                                  spool() + "/m.pcap",
                                  "-C",
                                  "1",
                                  "--archive",
                                  std::string("s3://") + kBucket + "/live",
                                  "--s3-endpoint",
                                  store.endpoint(),
                                  "--s3-path-style",
                                  "--sink-id",
                                  "s1",
                                  "-f",
                                  "udp",
                                  "--metrics",
                                  "127.0.0.1:" + std::to_string(metrics_port)};
    args.insert(args.end(), extra.begin(), extra.end());
    xcap = start_capture(lab.cap_if(), args, why);
  }
  // Writes n unique 1000-byte frames (first.. first+n-1) for xcap-gen, counts them as sent
  // and returns the xcap-gen arguments that send them at rate frames/s.
  std::vector<std::string> frames_to_send(int n, int first, int rate) {
    std::vector<Bytes> frames;
    for (int i = first; i < first + n; i++)
      frames.push_back(FrameBuilder()
                           .eth(lab.cap_mac_bytes())
                           .ipv4(lab.gen_ip(), lab.cap_ip())
                           .udp(uint16_t(1024 + i % 50000), uint16_t(2000 + i / 50000))
                           .payload(958, uint8_t(i))
                           .build());
    const std::string pcap = dir / ("send" + std::to_string(first) + ".pcap");
    write_pcap(pcap, frames);
    sent.insert(sent.end(), frames.begin(), frames.end());
    return {"--pcap", pcap, "--rate", std::to_string(rate), "--quiet"};
  }
  // Sends n unique frames (frames_to_send) at 20,000/s; true when xcap-gen did.
  bool send(int n, int first) {
    RunResult r = lab.send(frames_to_send(n, first, 20000));
    EXPECT_EQ(r.status, 0) << r.output;
    return r.status == 0;
  }
  double metric_value(const std::string& series) const {
    auto v = metric(scrape_metrics(metrics_port), series);
    return v ? double(*v) : -1;
  }
  bool wait_metric(const std::string& series, const std::function<bool(double)>& ok,
                   int seconds) const {
    return wait_until([&] { return ok(metric_value(series)); }, std::chrono::seconds(seconds),
                      std::chrono::milliseconds(200));
  }
  // SIGINT, exit 0 expected; returns stderr.
  std::string stop() {
    xcap->signal(SIGINT);
    EXPECT_EQ(xcap->wait(60), 0) << xcap->err();
    return xcap->err();
  }
  // The records of one object, downloaded and decompressed.
  std::vector<PcapRecord> object_records(const std::string& key) const {
    const std::string got = dir / ("obj" + std::to_string(downloads++) + ".pcap.zst");
    EXPECT_TRUE(store.download(kBucket, key, got)) << key;
    EXPECT_EQ(sh("zstd -q -dc " + got + " > " + got + ".pcap"), 0);
    return read_pcap_records(got + ".pcap");
  }
  // The frames of every object in the bucket, sorted.
  std::vector<Bytes> bucket_frames(size_t* objects = nullptr) const {
    std::vector<Bytes> out;
    const auto list = store.list(kBucket, "live/s1/all/");
    if (objects) *objects = list.size();
    for (const StoredObject& o : list)
      for (PcapRecord& r : object_records(o.key)) out.push_back(std::move(r.data));
    std::sort(out.begin(), out.end());
    return out;
  }
  std::vector<Bytes> sent_sorted() const {
    std::vector<Bytes> s = sent;
    std::sort(s.begin(), s.end());
    return s;
  }
};

size_t capture_files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".pcap") n++;
  return n;
}

// -C 1 under live traffic: every completed file is in the bucket, and together they hold
// every packet sent (compared as a multiset of frames).
TEST(ArchiveLive, EveryPacketSentIsInTheBucket) {
  XCAP_REQUIRE_PRIVILEGED();
  LiveArchive t;
  std::string why;
  t.start({}, &why);
  ASSERT_TRUE(t.xcap) << why;
  ASSERT_TRUE(t.send(5000, 0));
  // The archiver's thread is named and lowered to nice 10: background work to the capture.
  std::optional<long> archiver_nice;
  for (const auto& task :
       fs::directory_iterator("/proc/" + std::to_string(t.xcap->pid()) + "/task")) {
    std::string comm, stat;
    std::getline(std::ifstream(task.path() / "comm"), comm);
    std::getline(std::ifstream(task.path() / "stat"), stat);
    if (comm != "xcap-archive") continue;
    std::istringstream fields(stat.substr(stat.rfind(')') + 2));  // after "pid (comm) "
    std::string f;
    for (int i = 3; i <= 19 && fields >> f; i++)  // field 19: nice
      if (i == 19) archiver_nice = std::stol(f);
  }
  EXPECT_EQ(archiver_nice, 10) << "no xcap-archive thread at nice 10";
  const std::string err = t.stop();
  EXPECT_NE(err.find("spool empty"), std::string::npos) << err;
  size_t objects = 0;
  EXPECT_TRUE(t.bucket_frames(&objects) == t.sent_sorted()) << err;
  EXPECT_GE(objects, 4u);
  EXPECT_EQ(capture_files_in(t.spool()), 0u);
  // Read back as one window, the last hour: every packet, in time order.
  RunResult get = run({bin("xcap"), "archive", "get", std::string("s3://") + kBucket + "/live",
                       "--from", "-1h", "--s3-endpoint", t.store.endpoint(), "--s3-path-style",
                       "-w", t.dir / "hour.pcap", "--format", "pcap"},
                      120);
  ASSERT_EQ(get.status, 0) << get.output;
  std::vector<Bytes> back;
  uint64_t last_ts = 0;
  for (PcapRecord& r : read_pcap_records(t.dir / "hour.pcap")) {
    EXPECT_LE(last_ts, r.ts_ns);
    last_ts = r.ts_ns;
    back.push_back(std::move(r.data));
  }
  std::sort(back.begin(), back.end());
  EXPECT_TRUE(back == t.sent_sorted()) << back.size() << " packets read back\n" << get.output;
}

// The store stopped for 30 s: capture goes on into the spool, the backlog metric rises and
// connect failures are counted; once the store is back, the backlog falls to 0 and nothing is
// lost.
TEST(ArchiveLive, StoreOutageOf30sLosesNothing) {
  XCAP_REQUIRE_PRIVILEGED();
  LiveArchive t;
  std::string why;
  t.start({}, &why);
  ASSERT_TRUE(t.xcap) << why;
  t.store.stop();
  const auto outage = std::chrono::steady_clock::now();
  ASSERT_TRUE(t.send(4000, 0));
  EXPECT_TRUE(t.wait_metric(
      "xcap_archive_backlog_files", [](double v) { return v >= 3; }, 20));
  EXPECT_GT(t.metric_value("xcap_archive_upload_failures_total{reason=\"connect\"}"), 0);
  EXPECT_GT(t.metric_value("xcap_archive_oldest_backlog_age_seconds"), -1);
  EXPECT_GE(capture_files_in(t.spool()), 3u);
  std::this_thread::sleep_until(outage + std::chrono::seconds(30));
  t.store.start();
  ASSERT_TRUE(t.send(1000, 10000));
  EXPECT_TRUE(t.wait_metric(
      "xcap_archive_backlog_files", [](double v) { return v == 0; }, 90));
  EXPECT_EQ(t.metric_value("xcap_archive_backlog_bytes"), 0);
  const std::string err = t.stop();
  EXPECT_TRUE(t.bucket_frames() == t.sent_sorted()) << err;
}

// --spool-max while the store is down: the oldest files not yet uploaded are deleted, logged
// and counted, the capture goes on, and what is left goes up when the store is back.
TEST(ArchiveLive, SpoolCapDropsTheOldestWhileTheStoreIsDown) {
  XCAP_REQUIRE_PRIVILEGED();
  LiveArchive t;
  std::string why;
  t.start({"--spool-max", "2"}, &why);
  ASSERT_TRUE(t.xcap) << why;
  t.store.stop();
  ASSERT_TRUE(t.send(8000, 0));
  EXPECT_TRUE(t.wait_metric(
      "xcap_archive_spool_dropped_files_total", [](double v) { return v >= 4; }, 20));
  EXPECT_LE(t.metric_value("xcap_archive_backlog_bytes"), 2'000'000);
  const double dropped = t.metric_value("xcap_archive_spool_dropped_files_total");
  t.store.start();
  EXPECT_TRUE(t.wait_metric(
      "xcap_archive_backlog_files", [](double v) { return v == 0; }, 60));
  const double written =
      t.metric_value("xcap_files_written_total{iface=\"" + t.lab.cap_if() + "\"}");
  const std::string err = t.stop();
  size_t logged = 0;
  for (size_t p = 0; (p = err.find("before upload", p)) != std::string::npos; p++) logged++;
  EXPECT_EQ(double(logged), dropped) << err;
  size_t objects = 0;
  const std::vector<Bytes> got = t.bucket_frames(&objects);
  EXPECT_GT(objects, 0u);
  // Files completed after the scrape (the last one, at stop) went up too.
  EXPECT_GE(double(objects), written - dropped);
  const std::vector<Bytes> sent = t.sent_sorted();
  EXPECT_TRUE(std::includes(sent.begin(), sent.end(), got.begin(), got.end()));
  EXPECT_LT(got.size(), sent.size());
  auto stats = parse_stats_json(err);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->captured, sent.size()) << "the capture itself lost nothing";
}

// The secret turns wrong at run time (the credentials file is read again for every request):
// each attempt gets 403, counted as forbidden, the files stay in the spool; once the file is
// right again they go up.
TEST(ArchiveLive, WrongSecretAtRunTimeKeepsFilesAndRetries) {
  XCAP_REQUIRE_PRIVILEGED();
  LiveArchive t;
  std::string why;
  t.start({}, &why);
  ASSERT_TRUE(t.xcap) << why;
  t.creds.write("not-the-secret");
  ASSERT_TRUE(t.send(3000, 0));
  EXPECT_TRUE(t.wait_metric(
      "xcap_archive_upload_failures_total{reason=\"forbidden\"}", [](double v) { return v >= 1; },
      20));
  EXPECT_GE(t.metric_value("xcap_archive_backlog_files"), 1);
  EXPECT_GE(capture_files_in(t.spool()), 1u);
  EXPECT_NE(t.store.log().find("store: 403 SignatureDoesNotMatch"), std::string::npos);
  t.creds.write(kStoreSecret);
  EXPECT_TRUE(t.wait_metric(
      "xcap_archive_backlog_files", [](double v) { return v == 0; }, 60));
  const std::string err = t.stop();
  EXPECT_NE(err.find(": HTTP 403"), std::string::npos) << err;  // HEAD: a status, no body
  EXPECT_TRUE(t.bucket_frames() == t.sent_sorted()) << err;
}

// kill -9 while the writer has a .part open with records in it and uploads are going on (a
// slow store), then a restart into the same spool (issue 11): the restart seals the dead
// run's .part at its last complete record and uploads it and every completed file, each once.
//
// What "every packet sent" can mean after kill -9: frames still in xcap's memory at the kill
// (the socket's rings, the workers' record buffers, a block on its way to the writer) die with
// the process; nothing can keep them. What survives is what had reached the disk. So the
// bucket must end up with exactly the records that were on disk at the kill (the completed
// files, and the .part up to its last complete record: a record the kill tore is cut) or
// already in the bucket, each once, plus every frame sent after the restart; and what was on
// disk must be frames that were sent. Frames sent while no xcap ran went nowhere.
TEST(ArchiveLive, KillDuringWritingThenRestartShipsWhatWasOnDiskOnce) {
  XCAP_REQUIRE_PRIVILEGED();
  // Its own lab. Every store request is held 600 ms: a file (HEAD, PUT) takes ~1.3 s to go
  // up while the writer completes one a second, so completed files wait in the spool.
  LiveArchive t("xckw", "198.18.93", 600);
  std::string why;
  t.start({}, &why);
  ASSERT_TRUE(t.xcap) << why;
  // 1000 frames/s of 1000 bytes for 10 s: a 1 MB (-C 1) file a second, still going at the kill.
  Subprocess gen(t.lab.gen_argv(t.frames_to_send(10000, 0, 1000)));
  const std::string spool = t.spool();
  auto names = [&] {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(spool, ec)) out.push_back(e.path().filename());
    std::sort(out.begin(), out.end());
    return out;
  };
  // The moment: a file is in the bucket, a completed one waits in the spool, and the .part
  // holds 100 to 600 KB (records written, its rotation at 1 MB far enough off that it is still
  // the file being written when the signal lands).
  auto moment = [&] {
    bool completed = false, part = false;
    for (const std::string& n : names()) {
      std::error_code ec;
      const uintmax_t size = fs::file_size(spool + "/" + n, ec);
      completed |= n.ends_with(".pcap");
      part |= n.ends_with(".pcap.part") && !ec && size >= 100'000 && size <= 600'000;
    }
    return completed && part && t.metric_value("xcap_archive_uploaded_files_total") >= 1;
  };
  ASSERT_TRUE(wait_until([&] { return moment() || !gen.running(); }, std::chrono::seconds(60),
                         std::chrono::milliseconds(10)));
  ASSERT_TRUE(gen.running()) << "the sender ended before the moment to kill came: "
                             << ::testing::PrintToString(names()) << t.xcap->err();
  t.xcap->signal(SIGKILL);
  ASSERT_EQ(t.xcap->wait(10), 128 + SIGKILL);
  gen.signal(SIGKILL);  // the rest of its frames would go nowhere
  gen.wait(10);

  // What was on disk at the kill; the .part files' records, each what its sealed file holds.
  std::vector<std::pair<std::string, std::vector<PcapRecord>>> parts;
  size_t completed = 0, part_records = 0;
  for (const std::string& n : names()) {
    if (n.ends_with(".pcap")) completed++;
    if (!n.ends_with(".part")) continue;
    parts.emplace_back(n, read_pcap(spool + "/" + n).records);
    part_records += parts.back().second.size();
  }
  ASSERT_GT(part_records, 0u) << "no .part with a complete record at the kill: nothing tested";
  ASSERT_GE(completed, 1u) << ::testing::PrintToString(names());
  const std::vector<PcapRecord> on_disk = spool_records(spool);
  size_t objects_before = 0;
  const std::vector<Bytes> stored_before = t.bucket_frames(&objects_before);
  ASSERT_GE(objects_before, 1u);
  std::vector<Bytes> want;
  for (const PcapRecord& r : on_disk) want.push_back(r.data);
  EXPECT_TRUE(std::adjacent_find(want.begin(), want.end()) == want.end()) << "twice on disk";
  const std::vector<Bytes> sent_before = t.sent_sorted();
  EXPECT_TRUE(std::includes(sent_before.begin(), sent_before.end(), want.begin(), want.end()))
      << "on disk but never sent";
  // A file uploaded but not yet deleted at the kill is in both.
  want.insert(want.end(), stored_before.begin(), stored_before.end());
  std::sort(want.begin(), want.end());
  want.erase(std::unique(want.begin(), want.end()), want.end());

  t.metrics_port = free_port();  // the dead run's port may linger
  t.start({}, &why);
  ASSERT_TRUE(t.xcap) << why;
  ASSERT_TRUE(t.send(1500, 100000));
  want.insert(want.end(), t.sent.end() - 1500, t.sent.end());
  std::sort(want.begin(), want.end());
  EXPECT_TRUE(t.wait_metric(
      "xcap_archive_backlog_files", [](double v) { return v == 0; }, 90));
  const std::string err = t.stop();
  EXPECT_NE(err.find("file(s) of earlier runs in the spool"), std::string::npos) << err;
  EXPECT_NE(err.find("spool empty"), std::string::npos) << err;
  const std::vector<Bytes> got = t.bucket_frames();
  EXPECT_TRUE(std::adjacent_find(got.begin(), got.end()) == got.end()) << "a frame came twice";
  EXPECT_TRUE(got == want) << got.size() << " frames in the bucket; " << on_disk.size()
                           << " on disk at the kill (" << part_records << " in the .part), "
                           << stored_before.size() << " in " << objects_before
                           << " objects then, 1500 sent after the restart\n"
                           << err;
  EXPECT_TRUE(names().empty()) << ::testing::PrintToString(names());  // no marker either
  // Each .part with records was sealed under its own name and went up as an object of its
  // own, named from its records (first packet time, seq), holding exactly those records.
  const std::vector<StoredObject> objects = t.store.list(kBucket, "live/s1/all/");
  static const std::regex part_name(R"(m-(\d{8}T\d{6}\.\d{9}Z)-(\d+)\.pcap\.part)");
  for (const auto& [n, records] : parts) {
    if (records.empty()) continue;  // a bare header: removed at start
    EXPECT_NE(err.find("recovered " + spool + "/" + n), std::string::npos) << err;
    std::smatch m;
    ASSERT_TRUE(std::regex_match(n, m, part_name)) << n;
    std::vector<std::string> keys;
    for (const StoredObject& o : objects)
      if (o.key.find("/" + m[1].str() + "_") != std::string::npos &&
          o.key.ends_with("_" + m[2].str() + ".pcap.zst"))
        keys.push_back(o.key);
    ASSERT_EQ(keys.size(), 1u) << n << ": " << objects.size() << " objects";
    EXPECT_TRUE(t.object_records(keys[0]) == records)
        << keys[0] << " does not hold the " << records.size() << " records of " << n;
  }
}

}  // namespace
}  // namespace xcap::test
