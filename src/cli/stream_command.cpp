#include "cli/stream_command.h"

#include <signal.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <set>

#include "cli/capture_options.h"
#include "cli/parse_outcome.h"
#include "cli/stream_options.h"
#include "common/token_file.h"
#include "stream/bosh_targets.h"
#include "stream/follow.h"
#include "stream/merged_output.h"
#include "stream/targets.h"

namespace xcap::cli {
namespace {

constexpr auto kBoshTimeout = std::chrono::seconds(30);

// Every target: the command line's, then --targets, --targets-cmd, --bosh; names unique.
Result<std::vector<stream::Target>> gather_targets(const StreamOptions& o) {
  std::vector<stream::Target> all = o.targets;
  auto add_lines = [&](const std::string& flag,
                       const std::vector<std::string>& lines) -> Result<void> {
    for (const std::string& l : lines) {
      auto t = stream::parse_target(l, o.port, o.tls_default);
      if (!t) return flag_error(flag, t.error());
      all.push_back(*t);
    }
    return ok();
  };
  if (!o.targets_file.empty()) {
    auto lines = stream::read_targets_file(o.targets_file);
    if (!lines) return flag_error("--targets", lines.error());
    if (auto r = add_lines("--targets " + o.targets_file + ":", *lines); !r) return r.error();
  }
  if (!o.targets_cmd.empty()) {
    auto lines = stream::run_targets_command(o.targets_cmd);
    if (!lines) return flag_error("--targets-cmd", lines.error());
    if (auto r = add_lines("--targets-cmd '" + o.targets_cmd + "':", *lines); !r) return r.error();
  }
  if (o.bosh) {
    auto b = stream::resolve_bosh_targets(*o.bosh, stream::bosh_environment_from_env(), o.port,
                                          o.tls_default, kBoshTimeout);
    if (!b) return flag_error("--bosh", b.error());
    all.insert(all.end(), b->begin(), b->end());
  }
  if (all.empty()) return invalid_input("no targets: --targets and --targets-cmd gave none");
  std::set<std::string> names;
  for (const stream::Target& t : all)
    if (!names.insert(t.name).second) return invalid_input("target " + t.name + " is given twice");
  return all;
}

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

int fail(const Error& e) {
  fprintf(stderr, "xcap stream: %s\n", e.message.c_str());
  if (exit_code(e) == 2) fputs("(see xcap stream --help)\n", stderr);
  return exit_code(e);
}

}  // namespace

int stream_command(const std::vector<std::string>& args) {
  ParsedStream parsed = parse_stream_args(args, isatty(STDOUT_FILENO) == 1);
  if (!parsed.options) return print_parse_outcome("xcap stream", parsed.message, parsed.exit_code);
  const StreamOptions& o = *parsed.options;
  stream::FollowSettings s;
  if (!o.token_file.empty()) {
    auto token = read_token_file(o.token_file, "--token-file");
    if (!token) return fail(token.error());
    s.token = *token;
  }
  auto targets = gather_targets(o);
  if (!targets) return fail(targets.error());
  s.targets = std::move(*targets);
  s.query = stream_query(o);
  s.tls = o.tls;
  s.reorder_window_ns = static_cast<uint64_t>(std::llround(o.reorder_window_s * 1e9));
  s.idle_timeout = seconds(o.idle_timeout_s);
  s.stop_wait = seconds(o.stop_wait_s);

  // Signals reach follow_targets' event loop; a reader of -w - that goes away is EPIPE.
  signal(SIGPIPE, SIG_IGN);
  auto out = stream::MergedOutput::open(o.write_path, o.pcapng);
  if (!out) return fail(flag_error("-w", out.error()));
  auto result = stream::follow_targets(s, *out);
  if (!result) return fail(result.error());
  bool failed = false;
  for (const stream::TargetOutcome& t : result->targets) {
    fprintf(stderr, "%s\n", stream::summary_line(t).c_str());
    failed = failed || t.failed;
  }
  if (result->output_error) {
    fprintf(stderr, "xcap stream: -w %s\n", result->output_error->message.c_str());
    return 1;
  }
  return failed ? 1 : 0;
}

}  // namespace xcap::cli
