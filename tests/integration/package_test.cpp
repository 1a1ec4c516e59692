// `cpack -G DEB` makes xcap_<version>_amd64.deb with the binary, the units, the example config,
// the dashboard and the rules; its binary runs, and its dependencies name the libraries a
// Debian 12 host installs with it.
#include <gtest/gtest.h>

#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace xcap::test {
namespace {

TEST(Package, DebHoldsWhatASinkNeedsAndItsBinaryRuns) {
  TempDir dir;
  auto built = run({"/usr/bin/cpack", "-G", "DEB", "-B", dir.path(), "--config",
                    XCAP_BIN_DIR "/CPackConfig.cmake"},
                   600);
  ASSERT_EQ(built.status, 0) << built.output;
  const std::string deb = dir / ("xcap_" XCAP_VERSION "_amd64.deb");
  auto info = run({"/usr/bin/dpkg-deb", "-f", deb, "Package", "Version", "Architecture", "Depends"});
  ASSERT_EQ(info.status, 0) << info.output << "\n" << built.output;
  EXPECT_NE(info.output.find("Package: xcap\n"), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("Version: " XCAP_VERSION "\n"), std::string::npos) << info.output;
  for (const char* dep : {"libbpf1", "libxdp1", "libpcap0.8", "adduser"})
    EXPECT_NE(info.output.find(dep), std::string::npos) << dep << " missing: " << info.output;

  auto contents = run({"/usr/bin/dpkg-deb", "-c", deb});
  ASSERT_EQ(contents.status, 0) << contents.output;
  for (const char* f : {"./usr/bin/xcap", "./usr/lib/systemd/system/xcap-capture@.service",
                        "./usr/lib/systemd/system/xcap-serve.service",
                        "./usr/share/doc/xcap/xcap.conf.example", "./usr/share/doc/xcap/README.md",
                        "./usr/share/xcap/grafana/xcap.json",
                        "./usr/share/xcap/prometheus/alerts.yml"})
    EXPECT_NE(contents.output.find(std::string(f) + "\n"), std::string::npos)
        << f << " is not in the package:\n"
        << contents.output;

  ASSERT_EQ(run({"/usr/bin/dpkg-deb", "-x", deb, dir / "root"}).status, 0);
  auto version = run({dir / "root/usr/bin/xcap", "--version"});
  EXPECT_EQ(version.status, 0) << version.output;
  EXPECT_NE(version.output.find(XCAP_VERSION), std::string::npos) << version.output;
  auto control = run({"/usr/bin/dpkg-deb", "-e", deb, dir / "control"});
  ASSERT_EQ(control.status, 0) << control.output;
  auto postinst = run({"/bin/sh", "-n", dir / "control/postinst"});
  EXPECT_EQ(postinst.status, 0) << "postinst is not valid sh: " << postinst.output;
}

}  // namespace
}  // namespace xcap::test
