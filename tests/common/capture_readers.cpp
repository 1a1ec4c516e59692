#include "common/capture_readers.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include "common/subprocess.h"

namespace xcap::test {
namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (!line.empty() && line.find("Running as user") == std::string::npos) lines.push_back(line);
  return lines;
}

}  // namespace

std::vector<std::string> tshark(const std::vector<std::string>& args) {
  std::vector<std::string> argv{"/usr/bin/tshark"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = run(argv, 120);
  EXPECT_EQ(r.status, 0) << r.output;
  return lines_of(r.output);
}

std::optional<uint64_t> tcpdump_count(const std::string& path, std::string* why) {
  // One line per packet on stdout; tcpdump's "reading from file" note and errors go to stderr,
  // which run() merges: count only the lines that start with a timestamp.
  auto r = run({"/usr/bin/tcpdump", "-nn", "-tt", "-r", path}, 120);
  if (r.status != 0) {
    *why = "tcpdump -r " + path + ": exit " + std::to_string(r.status) + ": " + r.output;
    return std::nullopt;
  }
  uint64_t n = 0;
  for (const auto& l : lines_of(r.output)) n += !l.empty() && std::isdigit(uint8_t(l[0]));
  return n;
}

std::optional<uint64_t> tshark_count(const std::string& path, std::string* why) {
  auto r = run({"/usr/bin/tshark", "-r", path, "-T", "fields", "-e", "frame.number"}, 120);
  if (r.status != 0) {
    *why = "tshark -r " + path + ": exit " + std::to_string(r.status) + ": " + r.output;
    return std::nullopt;
  }
  uint64_t n = 0;
  for (const auto& l : lines_of(r.output)) n += std::all_of(l.begin(), l.end(), ::isdigit);
  return n;
}

std::optional<uint64_t> capinfos_count(const std::string& path, std::string* why) {
  // -M: exact numbers, -c: the packet count only, -T -r: one tab-separated line, no header.
  auto r = run({"/usr/bin/capinfos", "-M", "-c", "-T", "-r", path}, 120);
  const auto lines = lines_of(r.output);
  const size_t tab = lines.empty() ? std::string::npos : lines.back().rfind('\t');
  if (r.status != 0 || tab == std::string::npos) {
    *why = "capinfos " + path + ": exit " + std::to_string(r.status) + ": " + r.output;
    return std::nullopt;
  }
  return std::stoull(lines.back().substr(tab + 1));
}

}  // namespace xcap::test
