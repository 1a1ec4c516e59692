// deploy/prometheus and deploy/grafana against the real thing: promtool checks and unit-tests
// the rules; every metric the rules and the dashboard name exists in a live scrape of a
// running capture (a renamed metric fails here, not on a dashboard at 3 am); a real
// Prometheus scrapes a capture and its PromQL answer equals xcap's own stats line.
#include <gtest/gtest.h>

#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "common/lab.h"
#include "common/s3_store.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {
namespace {

const std::string kDeploy = XCAP_SOURCE_DIR "/deploy/";

TEST(PrometheusRules, PromtoolChecksAndUnitTestsThem) {
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"check", "rules", kDeploy + "prometheus/alerts.yml"},
           {"test", "rules", kDeploy + "prometheus/alerts_test.yml"},
           {"check", "config", kDeploy + "prometheus/prometheus.yml"}}) {
    std::vector<std::string> argv{"/usr/bin/promtool"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = run(argv);
    EXPECT_EQ(r.status, 0) << args[0] << " " << args[1] << ": " << r.output;
    EXPECT_NE(r.output.find("SUCCESS"), std::string::npos) << r.output;
  }
}

// Every xcap_* metric name in a file (recording rules, xcap:..., are not metrics xcap serves).
std::set<std::string> metric_names(const std::string& text) {
  std::set<std::string> out;
  const std::regex name(R"(\bxcap_[a-z0-9_]+)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it)
    out.insert(it->str());
  return out;
}

// The metric names of a scrape ("xcap_x{...}" -> "xcap_x"; histograms have none).
std::set<std::string> scraped_names(const Scrape& s) {
  std::set<std::string> out;
  for (const auto& [series, v] : s) out.insert(series.substr(0, series.find('{')));
  return out;
}

// The test's store credentials in the environment xcap inherits, for the test's duration.
class StoreCredentials {
 public:
  StoreCredentials() {
    for (const char* n : {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
      const char* v = getenv(n);
      saved_.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
      setenv(n, kStoreKey, 1);
    }
    setenv("AWS_SECRET_ACCESS_KEY", kStoreSecret, 1);
  }
  ~StoreCredentials() {
    for (const auto& [n, v] : saved_)
      v ? (void)setenv(n.c_str(), v->c_str(), 1) : (void)unsetenv(n.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST(Dashboards, EveryMetricTheyNameExistsInALiveScrape) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcobs", "198.18.85");
  S3Store store{{"xcobs"}};
  StoreCredentials credentials;
  TempDir dir;
  const int metrics = free_port(), listen = free_port();
  std::string why;
  // Mirror mode with decapsulation, pcapng files archived to the test's store and a stream
  // client: every family a sink shows.
  auto cap = start_capture(
      lab.cap_if(),
      {"-w", dir / "m.pcapng", "--format", "pcapng", "-C", "1", "--metrics",
       "127.0.0.1:" + std::to_string(metrics), "--listen", "127.0.0.1:" + std::to_string(listen),
       "--archive", "s3://xcobs/obs", "--s3-endpoint", store.endpoint(), "--s3-path-style"},
      &why);
  ASSERT_TRUE(cap) << why;
  Subprocess client({"/usr/bin/curl", "-s", "-N", "-m", "2", "-o", "/dev/null",
                     "http://127.0.0.1:" + std::to_string(listen) + "/capture"});
  ASSERT_TRUE(wait_until(
      [&] {
        return metric(scrape_metrics(metrics), "xcap_streams{iface=\"" + lab.cap_if() + "\"}") ==
               1u;
      },
      std::chrono::seconds(10), std::chrono::milliseconds(20)));
  auto gen = lab.send({"--template", "vxlan", "--count", "20000", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  client.wait(10);
  const std::set<std::string> served = scraped_names(scrape_metrics(metrics));
  cap->signal(SIGINT);
  EXPECT_EQ(cap->wait(60), 0) << cap->err();

  for (const char* file : {"prometheus/alerts.yml", "grafana/xcap.json"})
    for (const auto& name : metric_names(read_file(kDeploy + file)))
      EXPECT_TRUE(served.count(name))
          << file << " names " << name << ", which a running capture does not serve";
}

TEST(Dashboards, ARealPrometheusScrapesTheCountTheStatsLineReports) {
  XCAP_REQUIRE_PRIVILEGED();
  Lab lab("xcprom", "198.18.86");
  TempDir dir;
  const int metrics = free_port(), web = free_port();
  std::ofstream(dir / "prometheus.yml")
      << "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: xcap\n"
         "    static_configs:\n      - targets: ['127.0.0.1:"
      << metrics << "']\n";
  Subprocess prom({"/usr/bin/prometheus", "--config.file=" + dir / "prometheus.yml",
                   "--storage.tsdb.path=" + dir / "tsdb",
                   "--web.listen-address=127.0.0.1:" + std::to_string(web)});
  std::string why;
  auto cap = start_capture(lab.cap_if(),
                           {"--mode", "span", "-f", "udp dst port 5678", "--metrics",
                            "127.0.0.1:" + std::to_string(metrics)},
                           &why);
  ASSERT_TRUE(cap) << why;
  auto gen = lab.send({"--count", "12345", "--quiet"});
  ASSERT_EQ(gen.status, 0) << gen.output;
  const std::string series = "xcap_captured_packets_total{iface=\"" + lab.cap_if() + "\"}";
  ASSERT_TRUE(wait_until([&] { return metric(scrape_metrics(metrics), series) == 12345u; },
                         std::chrono::seconds(10), std::chrono::milliseconds(20)));
  // PromQL over Prometheus' HTTP API, until a scrape after the last packet is in.
  const std::string query = "/api/v1/query?query=xcap_captured_packets_total%7Bjob%3D%22xcap%22%7D";
  std::string answer;
  const std::regex value(R"xx("value":\[[0-9.]+,"([0-9]+)"\])xx");
  std::smatch m;
  EXPECT_TRUE(wait_until(
      [&] {
        answer = http_get(web, query);
        return std::regex_search(answer, m, value) && m[1] == "12345";
      },
      std::chrono::seconds(30), std::chrono::milliseconds(250)))
      << answer << "\n"
      << prom.err();
  cap->signal(SIGINT);
  ASSERT_EQ(cap->wait(30), 0) << cap->err();
  auto stats = parse_stats_json(cap->err());
  ASSERT_TRUE(stats) << cap->err();
  EXPECT_EQ(std::to_string(stats->captured), std::string(m[1])) << "Prometheus: " << answer;
  prom.signal(SIGTERM);
  prom.wait(30);
}

}  // namespace
}  // namespace xcap::test
