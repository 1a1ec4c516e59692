// Targets of `xcap stream`: the forms an operator writes, files, commands, BOSH selectors.
#include "stream/targets.h"

#include <gtest/gtest.h>

#include "stream/bosh_targets.h"

namespace xcap::stream {
namespace {

Target ok_target(const std::string& s, uint16_t port = 9470, bool tls = false) {
  auto t = parse_target(s, port, tls);
  EXPECT_TRUE(t) << s << ": " << t.error().message;
  return t ? *t : Target{};
}

TEST(StreamTargets, HostPortForms) {
  Target t = ok_target("198.18.0.1:8080");
  EXPECT_EQ(t.host, "198.18.0.1");
  EXPECT_EQ(t.port, 8080);
  EXPECT_FALSE(t.tls);
  EXPECT_EQ(t.path, "/capture");
  EXPECT_EQ(t.name, "198.18.0.1:8080");
  t = ok_target("[2001:db8::1]:8080");
  EXPECT_EQ(t.host, "2001:db8::1");
  EXPECT_EQ(t.name, "[2001:db8::1]:8080");
  t = ok_target("[2001:db8::1]", 7000);
  EXPECT_EQ(t.port, 7000);
  t = ok_target("agent-3.example", 7000, true);
  EXPECT_EQ(t.port, 7000);
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.name, "agent-3.example:7000");
}

TEST(StreamTargets, Urls) {
  Target t = ok_target("https://198.18.0.1:8443");
  EXPECT_TRUE(t.tls);
  EXPECT_EQ(t.port, 8443);
  EXPECT_EQ(t.path, "/capture");
  t = ok_target("http://[2001:db8::2]:80/xcap/capture", 9470, true);
  EXPECT_FALSE(t.tls);
  EXPECT_EQ(t.host, "2001:db8::2");
  EXPECT_EQ(t.path, "/xcap/capture");
  t = ok_target("https://host/");
  EXPECT_EQ(t.port, 9470);
  EXPECT_EQ(t.path, "/capture");
  auto e = parse_endpoint("https://uaa.example:8443", 443, true);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->path, "");
}

TEST(StreamTargets, BadTargetsSayWhy) {
  for (const auto& [text, why] : std::vector<std::pair<std::string, std::string>>{
           {"", "empty"},
           {"198.18.0.1:", "without a port"},
           {"198.18.0.1:0", "from 1 to 65535"},
           {"198.18.0.1:65536", "from 1 to 65535"},
           {"198.18.0.1:http", "port 'http'"},
           {"2001:db8::1:80", "needs brackets"},
           {"[2001:db8::1:80", "without ']'"},
           {"[2001:db8::1]80", "expected ':PORT'"},
           {"ftp://198.18.0.1:21", "scheme 'ftp'"},
           {"http://198.18.0.1:80/capture?count=1", "query"},
           {"http://:80", "no host"},
           {"user@198.18.0.1:80", "not a host name"}}) {
    auto t = parse_target(text, 9470, false);
    ASSERT_FALSE(t) << text;
    EXPECT_NE(t.error().message.find(why), std::string::npos) << text << ": " << t.error().message;
    EXPECT_EQ(exit_code(t.error()), 2);
  }
}

TEST(StreamTargets, LinesSkipBlanksAndComments) {
  EXPECT_EQ(target_lines("# web\n\n  198.18.0.1:80  # first\r\n198.18.0.2\n#x\n"),
            (std::vector<std::string>{"198.18.0.1:80", "198.18.0.2"}));
}

TEST(StreamTargets, CommandOutputAndFailure) {
  auto lines = run_targets_command("printf '198.18.0.1:1\\n# c\\n198.18.0.2:2\\n'");
  ASSERT_TRUE(lines) << lines.error().message;
  EXPECT_EQ(*lines, (std::vector<std::string>{"198.18.0.1:1", "198.18.0.2:2"}));
  auto failed = run_targets_command("echo 198.18.0.1:1; exit 4");
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().message, "'echo 198.18.0.1:1; exit 4' exited with status 4");
  EXPECT_EQ(exit_code(failed.error()), 1);
  auto killed = run_targets_command("kill -TERM $$");
  ASSERT_FALSE(killed);
  EXPECT_NE(killed.error().message.find("died of signal 15"), std::string::npos);
}

TEST(StreamTargets, UrlEncoding) {
  EXPECT_EQ(url_encode("tcp port 443 and host 198.18.0.1"),
            "tcp%20port%20443%20and%20host%20198.18.0.1");
  EXPECT_EQ(url_encode("a&b=c/d~_-."), "a%26b%3Dc%2Fd~_-.");
}

TEST(StreamTargets, BoshSelectors) {
  auto s = parse_bosh_selector("cf/router/3");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->deployment, "cf");
  EXPECT_EQ(s->group, "router");
  EXPECT_EQ(s->id, "3");
  s = parse_bosh_selector("cf");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->group, "");
  for (const char* bad : {"", "cf/", "/router", "cf//1", "cf/a/b/c"})
    EXPECT_FALSE(parse_bosh_selector(bad)) << bad;
}

TEST(StreamTargets, BoshNeedsItsEnvironment) {
  auto r = resolve_bosh_targets({"cf", "", ""}, {}, 9470, false, std::chrono::seconds(1));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("BOSH_ENVIRONMENT is not set"), std::string::npos);
  EXPECT_EQ(exit_code(r.error()), 2);
}

}  // namespace
}  // namespace xcap::stream
