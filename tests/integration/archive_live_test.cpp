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
// the test's.
struct LiveArchive {
  Lab lab{"xcarc", "198.18.70"};
  S3Store store{{kBucket}};
  TempDir dir;
  CredentialsFile creds{dir / "credentials"};
  int metrics_port = free_port();
  std::unique_ptr<Subprocess> xcap;
  std::vector<Bytes> sent;

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
  // Sends n unique 1000-byte frames (first.. first+n-1) at 20,000/s; true when xcap-gen did.
  bool send(int n, int first) {
    std::vector<Bytes> frames;
    for (int i = first; i < first + n; i++)
      frames.push_back(FrameBuilder()
                           .eth(lab.cap_mac_bytes())
                           .ipv4("198.18.70.1", "198.18.70.2")
                           .udp(uint16_t(1024 + i % 50000), uint16_t(2000 + i / 50000))
                           .payload(958, uint8_t(i))
                           .build());
    const std::string pcap = dir / ("send" + std::to_string(first) + ".pcap");
    write_pcap(pcap, frames);
    sent.insert(sent.end(), frames.begin(), frames.end());
    RunResult r = lab.send({"--pcap", pcap, "--rate", "20000", "--quiet"});
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
  // The frames of every object in the bucket, decompressed, sorted.
  std::vector<Bytes> bucket_frames(size_t* objects = nullptr) const {
    std::vector<Bytes> out;
    const auto list = store.list(kBucket, "live/s1/all/");
    if (objects) *objects = list.size();
    int n = 0;
    for (const StoredObject& o : list) {
      const std::string got = dir / ("obj" + std::to_string(n++) + ".pcap.zst");
      EXPECT_TRUE(store.download(kBucket, o.key, got)) << o.key;
      EXPECT_EQ(sh("zstd -q -dc " + got + " > " + got + ".pcap"), 0);
      for (PcapRecord& r : read_pcap_records(got + ".pcap")) out.push_back(std::move(r.data));
    }
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

}  // namespace
}  // namespace xcap::test
