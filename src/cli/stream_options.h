// Parsing `xcap stream`'s command line into StreamOptions, flag by flag, before anything
// runs. A bad flag yields a message naming it (exit status 2). Reads nothing from the system:
// targets files, commands, the BOSH Director and the token file are stream_command's.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "stream/bosh_targets.h"
#include "stream/targets.h"
#include "stream/tls_files.h"

namespace xcap::cli {

struct StreamOptions {
  std::vector<stream::Target> targets;  // from the command line; files and commands add more
  std::string targets_file, targets_cmd;
  std::optional<stream::BoshSelector> bosh;
  uint16_t port = stream::kDefaultStreamPort;  // for targets without one and BOSH instances
  bool tls_default = false;  // host:port targets (and BOSH instances) use https: --tls-ca given
  // What every server is asked for.
  std::string filter;
  uint32_t snaplen = 0;  // 0: the server's default
  uint64_t count = 0;    // per target; 0: no limit
  std::string duration;  // seconds, as given; empty: no limit
  std::string token_file;
  stream::TlsFiles tls;
  // The output.
  std::string write_path;  // "-": standard output
  bool pcapng = true;
  double reorder_window_s = 1.0;
  double idle_timeout_s = 10.0;
  double stop_wait_s = 2.0;
};

struct ParsedStream {
  std::optional<StreamOptions> options;
  std::string message;  // help text (exit 0) or the error's message
  int exit_code = 0;
};

// args excludes "xcap" and "stream". stdout_is_terminal: -w is required then.
ParsedStream parse_stream_args(const std::vector<std::string>& args, bool stdout_is_terminal);

// The query every target is sent: "filter=...&snaplen=N&count=N&duration=S&format=pcapng".
std::string stream_query(const StreamOptions& o);

}  // namespace xcap::cli
