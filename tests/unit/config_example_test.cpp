// deploy/xcap.conf.example documents every option: it parses as it stands, each commented-out
// option parses when uncommented, and every long option of `xcap capture --help` and
// `xcap serve --help` appears in it, so a new flag without documentation fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cli/capture_options.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace xcap::test {
namespace {

const std::string kExample = XCAP_SOURCE_DIR "/deploy/xcap.conf.example";

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The long options a command's --help lists ("  -i [ --interface ] IFACE", "  --mode ...").
std::set<std::string> long_options(const std::string& command) {
  auto r = run({XCAP_BIN_DIR "/xcap", command, "--help"});
  EXPECT_EQ(r.status, 0) << r.output;
  std::set<std::string> out;
  const std::regex opt(R"(^  (?:-\w \[ )?--([a-z0-9-]+))");
  std::istringstream in(r.output);
  for (std::string l; std::getline(in, l);)
    if (std::smatch m; std::regex_search(l, m, opt)) out.insert(m[1]);
  return out;
}

// Every "name =" in the file, set or commented out ("# name = value").
std::set<std::string> documented(const std::vector<std::string>& lines) {
  std::set<std::string> out;
  const std::regex opt(R"(^(?:# )?([a-z0-9-]+) = )");
  for (const auto& l : lines)
    if (std::smatch m; std::regex_search(l, m, opt)) out.insert(m[1]);
  return out;
}

cli::ParsedCapture parse_config(const std::string& path) {
  return cli::parse_capture_args({"--config", path});
}

TEST(ConfigExample, ParsesAsItStands) {
  auto r = parse_config(kExample);
  ASSERT_TRUE(r.options) << r.message;
  EXPECT_EQ(r.options->iface, "eth1");
  EXPECT_EQ(r.options->write_path, "/var/lib/xcap/spool/mirror.pcapng");
}

TEST(ConfigExample, NamesEveryLongOptionOfCaptureAndServe) {
  const auto doc = documented(lines_of(kExample));
  // Only the command line's own: asking for help, and naming this very file.
  const std::set<std::string> not_in_a_file{"help", "config"};
  for (const char* command : {"capture", "serve"}) {
    const auto opts = long_options(command);
    EXPECT_GT(opts.size(), 20u) << command << " --help listed too few options";
    for (const auto& o : opts)
      if (!not_in_a_file.count(o))
        EXPECT_TRUE(doc.count(o)) << "--" << o << " (xcap " << command
                                  << ") is missing from deploy/xcap.conf.example";
  }
}

// The example with the options in `on` uncommented and those in `off` commented out, parsed.
cli::ParsedCapture parse_variant(const std::vector<std::string>& lines,
                                 const std::set<std::string>& on, const std::set<std::string>& off,
                                 const std::string& extra = "") {
  const std::regex opt(R"(^(# )?([a-z0-9-]+) = )");
  TempDir dir;
  std::ofstream out(dir / "variant.conf");
  for (const auto& l : lines) {
    std::smatch m;
    const bool is_opt = std::regex_search(l, m, opt);
    if (is_opt && m[1].matched && on.count(m[2]))
      out << l.substr(2) << "\n";
    else if (is_opt && !m[1].matched && off.count(m[2]))
      out << "# " << l << "\n";
    else
      out << l << "\n";
  }
  out << extra;
  out.close();
  return parse_config(dir / "variant.conf");
}

TEST(ConfigExample, EachCommentedOptionParsesWhenUncommented) {
  const auto lines = lines_of(kExample);
  // Taken together: the streaming options need listen, and a listen address that is not
  // loopback needs token-file; read replaces interface.
  const std::set<std::string> streaming{"listen",
                                        "token-file",
                                        "tls-cert",
                                        "tls-key",
                                        "tls-client-ca",
                                        "max-streams",
                                        "max-streams-per-client",
                                        "stream-buffer"};
  // The ring buffer options are local mode's (which does not decapsulate).
  const std::set<std::string> local{"ringbuf-size", "ringbuf-per-cpu"};
  const std::regex commented(R"(^# ([a-z0-9-]+) = )");
  unsigned tried = 0;
  for (const auto& l : lines) {
    std::smatch m;
    if (!std::regex_search(l, m, commented) || streaming.count(m[1]) || local.count(m[1]) ||
        m[1] == "read")
      continue;
    auto r = parse_variant(lines, {m[1]}, {});
    EXPECT_TRUE(r.options) << "\"" << l << "\" uncommented: " << r.message;
    tried++;
  }
  EXPECT_GE(tried, 20u);  // the pattern found the commented options
  auto stream = parse_variant(lines, streaming, {});
  EXPECT_TRUE(stream.options) << "the streaming options uncommented: " << stream.message;
  auto local_mode = parse_variant(lines, local, {"mode"}, "mode = local\n");
  EXPECT_TRUE(local_mode.options) << "the local mode options uncommented: " << local_mode.message;
  auto replay = parse_variant(lines, {"read"}, {"interface"});
  EXPECT_TRUE(replay.options) << "read instead of interface: " << replay.message;
}

}  // namespace
}  // namespace xcap::test
