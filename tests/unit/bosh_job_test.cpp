// deploy/bosh/jobs/xcap-agent: its templates render, as BOSH renders them (Ruby ERB, with the
// spec's defaults under the given properties), with the defaults alone, with every property
// set, and with the runtime config's example; each rendered serve.conf parses as
// `xcap serve --config` parses it; bpm grants what the systemd units grant.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "cli/capture_options.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace xcap::test {
namespace {

const std::string kJob = XCAP_SOURCE_DIR "/deploy/bosh/jobs/xcap-agent";
const std::string kRender = XCAP_SOURCE_DIR "/tests/common/render_bosh_job.rb";

// Renders the job with properties (YAML) into a fresh directory; returns ruby's result.
RunResult render(const TempDir& dir, const std::string& properties_yaml) {
  std::ofstream(dir / "properties.yml") << properties_yaml;
  return run({"/usr/bin/ruby", kRender, kJob, dir / "properties.yml", dir / "out"});
}

cli::ParsedCapture parse_serve_conf(const TempDir& dir) {
  return cli::parse_command_args({"--config", dir / "out/config/serve.conf"}, cli::Command::Serve);
}

TEST(BoshJob, RendersWithTheSpecDefaults) {
  TempDir dir;
  auto r = render(dir, "{}\n");
  ASSERT_EQ(r.status, 0) << r.output;
  auto parsed = parse_serve_conf(dir);
  ASSERT_TRUE(parsed.options) << parsed.message << "\n" << read_file(dir / "out/config/serve.conf");
  EXPECT_EQ(parsed.interfaces, std::vector<std::string>{"eth0"});
  EXPECT_EQ(parsed.options->stream.listen, "127.0.0.1:9470");
  EXPECT_EQ(read_file(dir / "out/config/token"), "\n");  // no token: loopback only
}

TEST(BoshJob, RendersEveryProperty) {
  TempDir dir;
  auto r = render(dir, R"(xcap:
  interfaces: [eth0, eth1]
  mode: span
  listen: 0.0.0.0:9471
  token: s3cret-token
  tls:
    certificate: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----"
    private_key: "-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----"
    client_ca: "-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----"
  max_streams: 16
  max_streams_per_client: 4
  stream_buffer_mb: 128
  metrics: "[::]:9465"
)");
  ASSERT_EQ(r.status, 0) << r.output;
  const std::string conf = read_file(dir / "out/config/serve.conf");
  auto parsed = parse_serve_conf(dir);
  ASSERT_TRUE(parsed.options) << parsed.message << "\n" << conf;
  EXPECT_EQ(parsed.interfaces, (std::vector<std::string>{"eth0", "eth1"}));
  const auto& s = parsed.options->stream;
  EXPECT_EQ(s.listen, "0.0.0.0:9471");
  EXPECT_EQ(s.token_file, "/var/vcap/jobs/xcap-agent/config/token");
  EXPECT_EQ(s.tls_cert, "/var/vcap/jobs/xcap-agent/config/tls/cert.pem");
  EXPECT_EQ(s.tls_client_ca, "/var/vcap/jobs/xcap-agent/config/tls/client_ca.pem");
  EXPECT_EQ(s.max_streams, 16u);
  EXPECT_EQ(s.max_streams_per_client, 4u);
  EXPECT_EQ(parsed.options->metrics_addr, "[::]:9465");
  EXPECT_EQ(read_file(dir / "out/config/token"), "s3cret-token\n");
  EXPECT_NE(read_file(dir / "out/config/tls/key.pem").find("BEGIN PRIVATE KEY"), std::string::npos);
}

TEST(BoshJob, RendersTheRuntimeConfigsProperties) {
  // The addon's properties from deploy/bosh/runtime-config.yml, its ((variables)) filled in
  // as CredHub would.
  auto r = run({"/usr/bin/ruby", "-ryaml", "-e",
                "rc = YAML.safe_load(File.read(ARGV[0])); "
                "job = rc['addons'][0]['jobs'].find { |j| j['name'] == 'xcap-agent' }; "
                "puts YAML.dump(job['properties']).gsub(/\\(\\(([^)]+)\\)\\)/) { 'x-' + $1 }",
                XCAP_SOURCE_DIR "/deploy/bosh/runtime-config.yml"});
  ASSERT_EQ(r.status, 0) << r.output;
  TempDir dir;
  auto rendered = render(dir, r.output);
  ASSERT_EQ(rendered.status, 0) << rendered.output << "\n" << r.output;
  auto parsed = parse_serve_conf(dir);
  ASSERT_TRUE(parsed.options) << parsed.message;
}

TEST(BoshJob, RefusesAnOpenListenerWithoutAToken) {
  TempDir dir;
  auto r = render(dir, "xcap:\n  listen: 0.0.0.0:9470\n");
  EXPECT_NE(r.status, 0);
  EXPECT_NE(r.output.find("xcap.token is required when xcap.listen (0.0.0.0:9470)"),
            std::string::npos)
      << r.output;
}

TEST(BoshJob, BpmGrantsWhatTheSystemdUnitsGrant) {
  TempDir dir;
  ASSERT_EQ(render(dir, "{}\n").status, 0);
  auto caps = run({"/usr/bin/ruby", "-ryaml", "-e",
                   "puts YAML.safe_load(File.read(ARGV[0]))['processes'][0]['capabilities']"
                   ".map { |c| 'CAP_' + c }.join(' ')",
                   dir / "out/config/bpm.yml"});
  ASSERT_EQ(caps.status, 0) << caps.output;
  std::smatch m;
  const std::string unit = read_file(XCAP_SOURCE_DIR "/deploy/systemd/xcap-serve.service");
  ASSERT_TRUE(std::regex_search(unit, m, std::regex("\nAmbientCapabilities=([^\n]*)")));
  EXPECT_EQ(caps.output, m[1].str() + "\n");
}

}  // namespace
}  // namespace xcap::test
