// Command-line validation of `xcap capture`: parse_capture_args directly, and the real binary
// for exit status and messages.
#include "cli/capture_options.h"

#include "cli/capture_environment.h"

#include <gtest/gtest.h>

#include "common/lab.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace xcap::cli {
namespace {

// Parses, then resolves against this host, as `xcap capture` does: errors of either step
// come back as exit status 2 with the message.
ParsedCapture parse(std::vector<std::string> args) {
  ParsedCapture r = parse_capture_args(args);
  if (!r.options) return r;
  if (auto env = resolve_capture_environment(*r.options); !env) {
    r.options.reset();
    r.message = env.error().message;
    r.exit_code = 2;
  }
  return r;
}

void expect_usage_error(std::vector<std::string> args, const std::string& names) {
  auto r = parse(args);
  EXPECT_FALSE(r.options) << "accepted: " << ::testing::PrintToString(args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.message.find(names), std::string::npos)
      << "message '" << r.message << "' does not name '" << names << "'";
}

TEST(CaptureOptions, DefaultsOnLoopback) {
  auto r = parse({"-i", "lo"});
  ASSERT_TRUE(r.options) << r.message;
  const auto& o = *r.options;
  EXPECT_EQ(o.iface, "lo");
  EXPECT_GT(o.ifindex, 0);
  EXPECT_EQ(o.mode, XCAP_MODE_MIRROR);
  EXPECT_EQ(o.snaplen, 262144u);
  EXPECT_EQ(o.rx_ring, 32768u);  // README "Tuning": bench/default_loss chose it
  EXPECT_EQ(o.fill_ring, o.rx_ring);
  EXPECT_EQ(o.vxlan_ports, std::vector<uint16_t>{4789});
  EXPECT_EQ(o.queues, std::vector<uint32_t>{0});
  EXPECT_TRUE(o.write_path.empty());
  EXPECT_FALSE(o.stats_json);
}

TEST(CaptureOptions, FullSet) {
  auto r = parse({"-i",           "lo",          "--mode",       "span",
                  "-w",           "/tmp/x.pcap", "-C",           "10",
                  "-G",           "60",          "-W",           "5",
                  "-s",           "128",         "-c",           "1000",
                  "--duration",   "2.5",         "--format",     "pcapng",
                  "--vxlan-port", "4789",        "--vxlan-port", "8472",
                  "--xdp-mode",   "skb",         "--metrics",    "127.0.0.1:9100",
                  "--queues",     "0",           "--stats-json"});
  ASSERT_TRUE(r.options) << r.message;
  const auto& o = *r.options;
  EXPECT_EQ(o.mode, XCAP_MODE_SPAN);
  EXPECT_EQ(o.rotate_mb, 10u);
  EXPECT_EQ(o.rotate_seconds, 60u);
  EXPECT_EQ(o.max_files, 5u);
  EXPECT_EQ(o.snaplen, 128u);
  EXPECT_EQ(o.count, 1000u);
  EXPECT_DOUBLE_EQ(o.duration_s, 2.5);
  EXPECT_EQ(o.format, sink::FileFormat::Pcapng);
  EXPECT_EQ(o.vxlan_ports, (std::vector<uint16_t>{4789, 8472}));
  EXPECT_EQ(o.xdp_mode, bpf_loader::XdpMode::Skb);
  EXPECT_EQ(o.metrics_addr, "127.0.0.1:9100");
  EXPECT_TRUE(o.stats_json);
}

TEST(CaptureOptions, StreamingFlags) {
  auto r = parse({"-i", "lo", "--listen", "[::1]:9000", "--token-file", "/etc/xcap/token",
                  "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca", "ca.pem",
                  "--max-streams", "3", "--max-streams-per-client", "1", "--stream-buffer", "8"});
  ASSERT_TRUE(r.options) << r.message;
  const ServerOptions& s = r.options->stream;
  EXPECT_EQ(s.listen, "[::1]:9000");
  EXPECT_EQ(s.token_file, "/etc/xcap/token");
  EXPECT_EQ(s.tls_cert, "c.pem");
  EXPECT_EQ(s.tls_key, "k.pem");
  EXPECT_EQ(s.tls_client_ca, "ca.pem");
  EXPECT_EQ(s.max_streams, 3u);
  EXPECT_EQ(s.max_streams_per_client, 1u);
  EXPECT_EQ(s.buffer_bytes, size_t(8) << 20);
  auto d = parse({"-i", "lo", "--listen", "127.0.0.1:9000"});
  ASSERT_TRUE(d.options) << d.message;
  EXPECT_EQ(d.options->stream.max_streams, 8u);
  EXPECT_EQ(d.options->stream.max_streams_per_client, 2u);
  EXPECT_EQ(d.options->stream.buffer_bytes, size_t(64) << 20);
  EXPECT_TRUE(parse({"-i", "lo"}).options->stream.listen.empty());
}

TEST(CaptureOptions, FilterFromFlagOrTrailingWords) {
  auto a = parse({"-i", "lo", "-f", "tcp port 443 and host 198.19.1.7"});
  ASSERT_TRUE(a.options) << a.message;
  ASSERT_TRUE(a.options->filter);
  EXPECT_EQ(a.options->filter->expression(), "tcp port 443 and host 198.19.1.7");
  auto b = parse({"-i", "lo", "--mode", "span", "tcp", "port", "443"});
  ASSERT_TRUE(b.options) << b.message;
  ASSERT_TRUE(b.options->filter);
  EXPECT_EQ(b.options->filter->expression(), "tcp port 443");
  EXPECT_EQ(b.options->mode, XCAP_MODE_SPAN);
  auto none = parse({"-i", "lo"});
  ASSERT_TRUE(none.options);
  EXPECT_FALSE(none.options->filter);
}

TEST(CaptureOptions, HelpExplains) {
  auto r = parse({"--help"});
  EXPECT_FALSE(r.options);
  EXPECT_EQ(r.exit_code, 0);
  for (const char* word :
       {"--mode", "mirror", "span", "-w", "-C", "-G", "-W", "--metrics", "Examples"})
    EXPECT_NE(r.message.find(word), std::string::npos) << word;
}

TEST(CaptureOptions, BadInputsNameTheProblem) {
  expect_usage_error({}, "-i IFACE (or -r FILE");
  expect_usage_error({"-i", "xcap-no-such0"}, "xcap-no-such0");
  expect_usage_error({"-i", "lo", "--mode", "tap"}, "--mode");
  expect_usage_error({"-r", "x.pcap", "--mode", "local"}, "--mode local");
  expect_usage_error({"-i", "lo", "--xdp-mode", "hw"}, "--xdp-mode");
  expect_usage_error({"-i", "lo", "--format", "erf"}, "--format");
  expect_usage_error({"-i", "lo", "-s", "abc"}, "-s");
  expect_usage_error({"-i", "lo", "-s", "4"}, "-s");
  expect_usage_error({"-i", "lo", "-c", "-5"}, "-c");
  expect_usage_error({"-i", "lo", "--duration", "soon"}, "--duration");
  expect_usage_error({"-i", "lo", "-C", "10"}, "-w");
  expect_usage_error({"-i", "lo", "-w", "-", "-G", "10"}, "stdout");
  expect_usage_error({"-i", "lo", "-w", "x.pcap", "-W", "3"}, "-W");
  expect_usage_error({"-i", "lo", "-w", "-", "--split", "source"}, "stdout");
  expect_usage_error({"-i", "lo", "-w", "x.pcap", "--split", "bogus"}, "--split");
  expect_usage_error({"-i", "lo", "--queues", "7"}, "--queues");
  expect_usage_error({"-i", "lo", "--queues", "x"}, "--queues");
  expect_usage_error({"-i", "lo", "--vxlan-port", "0"}, "--vxlan-port");
  expect_usage_error({"-i", "lo", "--vxlan-port", "70000"}, "--vxlan-port");
  expect_usage_error({"-i", "lo", "--metrics", "nowhere"}, "--metrics");
  expect_usage_error({"-i", "lo", "--rx-ring", "1000"}, "--rx-ring");
  expect_usage_error({"-i", "lo", "--fill-ring", "1024"}, "--fill-ring");  // below --rx-ring
  expect_usage_error({"-i", "lo", "--rx-ring", "4096", "--fill-ring", "2048"}, "--fill-ring");
  expect_usage_error({"-i", "lo", "--rx-ring", "4096", "--fill-ring", "6000"}, "--fill-ring");
  auto bigger_fill = parse({"-i", "lo", "--rx-ring", "4096", "--fill-ring", "8192"});
  ASSERT_TRUE(bigger_fill.options) << bigger_fill.message;
  EXPECT_EQ(bigger_fill.options->rx_ring, 4096u);
  EXPECT_EQ(bigger_fill.options->fill_ring, 8192u);
  expect_usage_error({"-i", "lo", "--batch-size", "0"}, "--batch-size");
  expect_usage_error({"-i", "lo", "--rt-priority", "100"}, "--rt-priority");
  expect_usage_error({"-i", "lo", "--frame-size", "1024"}, "--frame-size");
  expect_usage_error({"-i", "lo", "--no-such-flag"}, "no-such-flag");
  expect_usage_error({"-i", "lo", "-f", "tcp port"}, "invalid filter \"tcp port\"");
  expect_usage_error({"-i", "lo", "-f", ""}, "empty");
  expect_usage_error({"-i", "lo", "host", "999.1.1.1"}, "host 999.1.1.1");
  expect_usage_error({"-i", "lo", "-f", "udp", "tcp"}, "give the filter once");
  expect_usage_error({"-i", "lo", "--listen", "nowhere"}, "--listen");
  expect_usage_error({"-i", "lo", "--token-file", "t"}, "--token-file needs --listen");
  expect_usage_error({"-i", "lo", "--max-streams", "4"}, "--max-streams needs --listen");
  expect_usage_error({"-i", "lo", "--listen", ":9000", "--tls-cert", "c.pem"},
                     "--tls-cert needs --tls-key");
  expect_usage_error({"-i", "lo", "--listen", ":9000", "--tls-key", "k.pem"},
                     "--tls-key needs --tls-cert");
  expect_usage_error({"-i", "lo", "--listen", ":9000", "--tls-client-ca", "ca.pem"},
                     "--tls-client-ca needs --tls-cert");
  expect_usage_error({"-i", "lo", "--listen", ":9000", "--max-streams", "0"}, "--max-streams");
  expect_usage_error({"-i", "lo", "--listen", ":9000", "--max-streams-per-client", "x"},
                     "--max-streams-per-client");
  expect_usage_error({"-i", "lo", "--listen", ":9000", "--stream-buffer", "0"}, "--stream-buffer");
  expect_usage_error({"-r", "x.pcap", "--listen", "127.0.0.1:9000"}, "cannot stream -r");
  expect_usage_error({"-i", "lo", "--listen", "127.0.0.1:9000", "--metrics", "127.0.0.1:9000"},
                     "same address");
  expect_usage_error({"-i", "lo", "--config", "/nonexistent/xcap.conf"}, "--config");
  expect_usage_error({"-i", "lo", "--duration", "inf"}, "--duration 'inf'");
  expect_usage_error({"-i", "lo", "--duration", "nan"}, "--duration 'nan'");
  expect_usage_error({"-i", "lo", "--duration", "-1"}, "--duration");
  expect_usage_error({"-i", "lo", "-w", "x.pcap", "-C", "0"}, "-C 0");
  expect_usage_error({"-i", "lo", "-w", "x.pcap", "-G", "0"}, "-G 0");
  expect_usage_error({"-i", "lo", "-w", "x.pcap", "-C", "1", "-W", "0"}, "-W 0");
  expect_usage_error({"-i", "lo", "--config", "/tmp"}, "--config '/tmp': is a directory");
  expect_usage_error({"-i", "lo", "--decap-depth", "0"}, "--decap-depth");
  expect_usage_error({"-i", "lo", "--decap-depth", "9"}, "--decap-depth");
  expect_usage_error({"-i", "lo", "--bare-ip-link", "ppp"}, "--bare-ip-link");
  expect_usage_error({"-i", "lo", "--bare-ip-link", "raw"}, "--bare-ip-link raw needs");
}

TEST(CaptureOptions, DecapDepthAndBareIpLink) {
  auto d = parse({"-i", "lo"});
  ASSERT_TRUE(d.options) << d.message;
  EXPECT_EQ(d.options->decap_depth, 1u);  // the mirror's tunnel only
  EXPECT_FALSE(d.options->raw_ip_link);   // one link type per file: tcpdump reads it
  auto r = parse({"-i", "lo", "--decap-depth", "3", "--format", "pcapng", "--bare-ip-link", "raw"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->decap_depth, 3u);
  EXPECT_TRUE(r.options->raw_ip_link);
}

// Parsing reads the command line only; the host is the environment step's.
TEST(CaptureOptions, ParsingDoesNotLookAtTheHost) {
  auto r = parse_capture_args({"-i", "xcap-no-such0", "--queues", "7", "--frame-size", "auto"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->ifindex, 0);
  EXPECT_TRUE(r.options->queues.empty());
  EXPECT_EQ(r.options->frame_size, 0u);  // auto: picked by the environment step
  auto env = resolve_capture_environment(*r.options);
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.error().message.find("-i: interface 'xcap-no-such0' not found"), std::string::npos);
  auto lo = parse_capture_args({"-i", "lo", "--queues", "7"});
  ASSERT_TRUE(lo.options) << lo.message;
  auto q = resolve_capture_environment(*lo.options);
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.error().message.find("--queues"), std::string::npos) << q.error().message;
  // Syntax is the parser's: no host needed to refuse it.
  EXPECT_FALSE(parse_capture_args({"-i", "lo", "--queues", "x"}).options);
}

TEST(CaptureOptions, ReplayNeedsNoInterface) {
  auto r = parse({"-r", "/tmp/x.pcap", "-w", "/tmp/y.pcap"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_TRUE(r.options->replay());
  expect_usage_error({"-i", "lo", "-r", "/tmp/x.pcap"}, "-i and -r");
}

TEST(CaptureOptions, FrameSizeFollowsTheMtu) {
  EXPECT_EQ(frame_size_for_mtu(1500), 2048u);
  EXPECT_EQ(frame_size_for_mtu(1600), 2048u);
  EXPECT_EQ(frame_size_for_mtu(1770), 2048u);  // 1770 + 14 + 8 = 1792 = 2048 - 256 headroom
  EXPECT_EQ(frame_size_for_mtu(1771), 4096u);
  EXPECT_EQ(frame_size_for_mtu(9001), 4096u);
  auto r = parse({"-i", "lo", "--frame-size", "4096"});
  ASSERT_TRUE(r.options);
  EXPECT_EQ(r.options->frame_size, 4096u);
}

TEST(CaptureOptions, QueueLists) {
  EXPECT_EQ(*parse_queue_list("all", 4), (std::vector<uint32_t>{0, 1, 2, 3}));
  EXPECT_EQ(*parse_queue_list("0,2-3", 4), (std::vector<uint32_t>{0, 2, 3}));
  EXPECT_EQ(*parse_queue_list("1,1", 4), (std::vector<uint32_t>{1}));
  EXPECT_FALSE(parse_queue_list("3-1", 4).ok());
  EXPECT_FALSE(parse_queue_list("4", 4).ok());
  EXPECT_FALSE(parse_queue_list("", 4).ok());
}

TEST(CaptureOptions, ConfigFileAndCommandLineWins) {
  test::TempDir dir;
  std::string conf = dir / "xcap.conf";
  FILE* f = fopen(conf.c_str(), "w");
  fputs("# a comment\nmode = span\nsnaplen = 96\nvxlan-port = 8472\n", f);
  fclose(f);
  auto r = parse({"-i", "lo", "--config", conf, "-s", "200"});
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->mode, XCAP_MODE_SPAN);
  EXPECT_EQ(r.options->snaplen, 200u);
  EXPECT_EQ(r.options->vxlan_ports, std::vector<uint16_t>{8472});

  FILE* g = fopen(conf.c_str(), "w");
  fputs("mode = sideways\n", g);
  fclose(g);
  auto bad = parse({"-i", "lo", "--config", conf});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.message.find("--mode"), std::string::npos) << bad.message;
}

// -w's extension picks the format unless --format (command line or config) says otherwise.
TEST(CaptureOptions, FormatFollowsTheWritePathUnlessGiven) {
  auto fmt = [](std::vector<std::string> args) {
    auto r = parse(args);
    EXPECT_TRUE(r.options) << r.message;
    return r.options ? r.options->format : sink::FileFormat::Pcap;
  };
  EXPECT_EQ(fmt({"-i", "lo", "-w", "/tmp/m.pcapng"}), sink::FileFormat::Pcapng);
  EXPECT_EQ(fmt({"-i", "lo", "-w", "/tmp/m.pcapng", "-C", "100"}), sink::FileFormat::Pcapng);
  EXPECT_EQ(fmt({"-i", "lo", "-w", "/tmp/m.pcap"}), sink::FileFormat::Pcap);
  EXPECT_EQ(fmt({"-i", "lo", "-w", "/tmp/m"}), sink::FileFormat::Pcap);
  EXPECT_EQ(fmt({"-i", "lo", "-w", "-"}), sink::FileFormat::Pcap);
  EXPECT_EQ(fmt({"-i", "lo", "-w", "/tmp/m.pcapng", "--format", "pcap"}), sink::FileFormat::Pcap);
  EXPECT_EQ(fmt({"-i", "lo", "-w", "/tmp/m.pcap", "--format", "pcapng"}), sink::FileFormat::Pcapng);
  test::TempDir dir;
  const std::string conf = dir / "xcap.conf";
  FILE* f = fopen(conf.c_str(), "w");
  fputs("format = pcap\n", f);
  fclose(f);
  EXPECT_EQ(fmt({"-i", "lo", "--config", conf, "-w", "/tmp/m.pcapng"}), sink::FileFormat::Pcap);
}

// Every mistake in a config file names the file and the line.
TEST(CaptureOptions, ConfigErrorsNameFileAndLine) {
  test::TempDir dir;
  const std::string conf = dir / "xcap.conf";
  auto with = [&](const char* text) {
    FILE* f = fopen(conf.c_str(), "w");
    fputs(text, f);
    fclose(f);
    return parse({"-i", "lo", "--config", conf});
  };
  struct Case {
    const char* text;
    std::string names;
  } cases[] = {
      {"# comment\n\nmode = sideways\n", conf + " line 3)"},
      {"snaplen = 96\nbogus-option = 1\n", conf + " line 2: unknown option 'bogus-option'"},
      {"write = x.pcap\nfile-size = 0\n", "-C 0"},
      {"write = x.pcap\nfile-size = 0\n", conf + " line 2)"},
      {"mode span\n", conf + " line 1: expected 'name = value'"},
      {"[capture]\nmode = span\n", conf + " line 1: expected 'name = value'"},
      {"duration = nan\n", conf + " line 1)"},
  };
  for (const Case& c : cases) {
    auto r = with(c.text);
    EXPECT_EQ(r.exit_code, 2) << c.text;
    EXPECT_NE(r.message.find(c.names), std::string::npos)
        << "message '" << r.message << "' does not name '" << c.names << "'";
  }
  // The command line still wins, and then the config line is not blamed.
  with("mode = sideways\n");
  auto ok = parse({"-i", "lo", "--config", conf, "--mode", "span"});
  EXPECT_TRUE(ok.options) << ok.message;
}

// The binary itself: exit status 2 and a message on stderr naming the problem.
TEST(XcapBinary, BadFlagsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string names;
  } cases[] = {{{"capture", "-i", "xcap-no-such0"}, "xcap-no-such0"},
               {{"capture", "-i", "lo", "--mode", "bogus"}, "--mode"},
               {{"capture", "-i", "lo", "--bogus"}, "bogus"},
               {{"frobnicate"}, "frobnicate"},
               {{}, "Usage"}};
  for (auto& c : cases) {
    std::vector<std::string> argv{test::bin("xcap")};
    argv.insert(argv.end(), c.args.begin(), c.args.end());
    auto r = test::run(argv, 30);
    EXPECT_EQ(r.status, 2) << r.output;
    EXPECT_NE(r.output.find(c.names), std::string::npos) << r.output;
  }
  auto help = test::run({test::bin("xcap"), "capture", "--help"}, 30);
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.output.find("Usage: xcap capture"), std::string::npos);
  auto ver = test::run({test::bin("xcap"), "--version"}, 30);
  EXPECT_EQ(ver.status, 0);
  EXPECT_NE(ver.output.find("xcap "), std::string::npos);
}

}  // namespace
}  // namespace xcap::cli
