// `xcap stream`'s command line: every bad flag is refused with a message naming it (exit 2);
// good ones become StreamOptions and the query sent to every target.
#include "cli/stream_options.h"

#include <gtest/gtest.h>

namespace xcap::cli {
namespace {

ParsedStream parse(std::vector<std::string> args, bool terminal = false) {
  return parse_stream_args(args, terminal);
}

TEST(StreamOptions, Defaults) {
  auto p = parse({"198.18.0.1:9000", "198.18.0.2"});
  ASSERT_TRUE(p.options) << p.message;
  const StreamOptions& o = *p.options;
  ASSERT_EQ(o.targets.size(), 2u);
  EXPECT_EQ(o.targets[1].port, stream::kDefaultStreamPort);
  EXPECT_EQ(o.write_path, "-");  // stdout is not a terminal here
  EXPECT_TRUE(o.pcapng);
  EXPECT_EQ(o.reorder_window_s, 1.0);
  EXPECT_EQ(o.stop_wait_s, 2.0);
  EXPECT_EQ(stream_query(o), "format=pcapng");
}

TEST(StreamOptions, EverythingSet) {
  auto p = parse({"-f",
                  "udp and host 198.18.0.9",
                  "-s",
                  "128",
                  "-c",
                  "1000",
                  "--duration",
                  "2.5",
                  "--port",
                  "8443",
                  "--tls-ca",
                  "ca.pem",
                  "--tls-cert",
                  "c.pem",
                  "--tls-key",
                  "k.pem",
                  "--token-file",
                  "tok",
                  "--format",
                  "pcap",
                  "-w",
                  "out.pcap",
                  "--reorder-window",
                  "0.25",
                  "--targets",
                  "t.txt",
                  "--targets-cmd",
                  "cat t",
                  "--bosh",
                  "cf/router",
                  "agent:1"});
  ASSERT_TRUE(p.options) << p.message;
  const StreamOptions& o = *p.options;
  EXPECT_EQ(stream_query(o),
            "filter=udp%20and%20host%20198.18.0.9&snaplen=128&count=1000&duration=2.5&format="
            "pcapng");
  EXPECT_TRUE(o.targets[0].tls);  // --tls-ca: bare targets use https
  EXPECT_EQ(o.port, 8443);
  EXPECT_FALSE(o.pcapng);
  EXPECT_EQ(o.reorder_window_s, 0.25);
  EXPECT_EQ(o.bosh->group, "router");
  EXPECT_EQ(o.targets_cmd, "cat t");
}

TEST(StreamOptions, EveryBadFlagIsNamed) {
  for (const auto& [args, flag] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "no targets"},
           {{"a:1", "--bogus"}, "--bogus"},
           {{"a:1", "-s", "x"}, "-s 'x'"},
           {{"a:1", "-s", "10"}, "-s 10"},
           {{"a:1", "-s", "999999"}, "-s '999999'"},
           {{"a:1", "-c", "-1"}, "-c '-1'"},
           {{"a:1", "--duration", "0"}, "--duration '0'"},
           {{"a:1", "--duration", "soon"}, "--duration 'soon'"},
           {{"a:1", "--format", "json"}, "--format 'json'"},
           {{"a:1", "--port", "0"}, "--port '0'"},
           {{"a:1", "--reorder-window", "-1"}, "--reorder-window '-1'"},
           {{"a:1", "--idle-timeout", "0"}, "--idle-timeout '0'"},
           {{"a:1", "--stop-wait", "x"}, "--stop-wait 'x'"},
           {{"a:1", "--tls-cert", "c.pem"}, "--tls-cert needs --tls-key"},
           {{"a:1", "--tls-key", "k.pem"}, "--tls-key needs --tls-cert"},
           {{"a:1", "--bosh", "cf//1"}, "--bosh 'cf//1'"},
           {{"a:1", "--targets", ""}, "--targets"},
           {{"a:1", "--token-file", ""}, "--token-file"},
           {{"a:1", "-w", ""}, "-w"},
           {{"a:99999"}, "target: 'a:99999'"},
           {{"a:1", "-w"}, "option '--write' is missing"},
       }) {
    auto p = parse(args);
    EXPECT_FALSE(p.options) << flag;
    EXPECT_EQ(p.exit_code, 2) << flag;
    EXPECT_NE(p.message.find(flag), std::string::npos) << p.message;
    EXPECT_NE(p.message.find("(see xcap stream --help)"), std::string::npos);
  }
}

TEST(StreamOptions, WriteIsRequiredOnATerminal) {
  auto p = parse({"a:1"}, true);
  EXPECT_FALSE(p.options);
  EXPECT_EQ(p.exit_code, 2);
  EXPECT_NE(p.message.find("-w PATH is required"), std::string::npos);
  EXPECT_TRUE(parse({"a:1", "-w", "-"}, true).options);
}

TEST(StreamOptions, HelpExplains) {
  auto p = parse({"--help"});
  EXPECT_FALSE(p.options);
  EXPECT_EQ(p.exit_code, 0);
  for (const char* s : {"Usage: xcap stream TARGET...", "--bosh", "BOSH_ENVIRONMENT",
                        "--reorder-window", "congested (N lost)", "Exit status", "half-closed"})
    EXPECT_NE(p.message.find(s), std::string::npos) << s;
}

}  // namespace
}  // namespace xcap::cli
