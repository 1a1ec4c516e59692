// Targets of `xcap stream`: where each streaming xcap listens, parsed from what the operator
// wrote (host:port, [v6]:port, http://host:port/path, https://...), read from a file, or
// printed by a command. Lower layers' words: errors name the text they were given, never a
// flag.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"

namespace xcap::stream {

// The port a target without one is reached at (--port's default).
inline constexpr uint16_t kDefaultStreamPort = 9470;

struct Target {
  std::string name;  // how status lines and interface names call it: host:port, or GROUP/ID
  std::string host;  // name or address, without brackets
  uint16_t port = 0;
  bool tls = false;
  std::string path = "/capture";
};

// One target. A bare host:port (or host) uses https when default_tls, else http.
Result<Target> parse_target(const std::string& text, uint16_t default_port, bool default_tls);

// The same for any server (a BOSH Director, a UAA): path stays empty when the text has none.
Result<Target> parse_endpoint(const std::string& text, uint16_t default_port, bool default_tls);

// The lines of a targets file or command output: one target per line, surrounding blanks
// trimmed, blank lines and '#' comments left out.
std::vector<std::string> target_lines(const std::string& text);

// The lines of a file (target_lines).
Result<std::vector<std::string>> read_targets_file(const std::string& path);
// Runs cmd with /bin/sh -c and returns target_lines of its standard output. A command that
// cannot start, exits non-zero or dies of a signal is an error saying so.
Result<std::vector<std::string>> run_targets_command(const std::string& cmd);

// Query-string escaping of one value (RFC 3986 unreserved characters kept).
std::string url_encode(const std::string& s);

// "host:port" with IPv6 literals in brackets.
std::string host_port(const std::string& host, uint16_t port);

}  // namespace xcap::stream
