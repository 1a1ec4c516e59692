// deploy/cloud-init/sink.yaml: Debian's cloud-init accepts it (`cloud-init schema`), and the
// xcap config it writes parses as `xcap capture --config` parses it.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "cli/capture_options.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace xcap::test {
namespace {

const std::string kSink = XCAP_SOURCE_DIR "/deploy/cloud-init/sink.yaml";

TEST(CloudInit, SinkPassesCloudInitsSchema) {
  auto r = run({"/usr/bin/cloud-init", "schema", "--config-file", kSink});
  EXPECT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("Valid cloud-config"), std::string::npos) << r.output;
}

TEST(CloudInit, TheConfigItWritesParses) {
  TempDir dir;
  auto r =
      run({"/usr/bin/ruby", "-ryaml", "-e",
           "c = YAML.safe_load(File.read(ARGV[0])); "
           "print c['write_files'].find { |f| f['path'] == '/etc/xcap/mirror.conf' }['content']",
           kSink});
  ASSERT_EQ(r.status, 0) << r.output;
  std::ofstream(dir / "mirror.conf") << r.output;
  auto parsed = cli::parse_capture_args({"--config", dir / "mirror.conf"});
  ASSERT_TRUE(parsed.options) << parsed.message << "\n" << r.output;
  EXPECT_EQ(parsed.options->iface, "ens5");
}

}  // namespace
}  // namespace xcap::test
