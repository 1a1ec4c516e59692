#include "cli/capture_command.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "cli/capture_environment.h"
#include "cli/capture_options.h"
#include "cli/capture_totals.h"
#include "cli/parse_outcome.h"
#include "cli/stop_signals.h"
#include "common/log.h"
#include "pipeline/pipeline.h"

namespace xcap::cli {
namespace {

using pipeline::EndReason;
using pipeline::Pipeline;

// Waits for SIGINT/SIGTERM, --duration, or a reason of the pipeline's own.
EndReason wait_for_end(const Pipeline& p, const sigset_t& stop_signals, double duration_s) {
  using clock = std::chrono::steady_clock;
  const auto deadline = duration_s > 0
                            ? clock::now() + std::chrono::duration_cast<clock::duration>(
                                                 std::chrono::duration<double>(duration_s))
                            : clock::time_point::max();
  // The main thread wakes 10 times a second, not more: a capture at an ordinary rate costs
  // little enough that these wake-ups showed in its CPU (bench/cpu_per_packet). -c ends up to
  // 100 ms after the count; --duration ends on time.
  constexpr auto kTick = std::chrono::milliseconds(100);
  for (;;) {
    const auto wait = std::min<clock::duration>(kTick, deadline - clock::now());
    const long wait_ns = long(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::max<clock::duration>(wait, clock::duration::zero()))
                                  .count());
    if (stop_signal_within(stop_signals, wait_ns)) return EndReason::Signal;
    if (clock::now() >= deadline) return EndReason::Duration;
    if (auto end = p.should_end()) return *end;
  }
}

// The flag behind the step that failed, in front of the error: lower layers name the values
// they were given, not flags.
Error with_flag(pipeline::StartStep step, const Error& e) {
  switch (step) {
    case pipeline::StartStep::Output:
      return flag_error("-w", e);
    case pipeline::StartStep::Input:
      return flag_error("-r", e);
    case pipeline::StartStep::Metrics:
      return flag_error("--metrics", e);
    case pipeline::StartStep::Stream:  // --token-file and --tls-* errors name their flag
      return e.message.rfind("--", 0) == 0 ? e : flag_error("--listen", e);
    default:
      return e;
  }
}

}  // namespace

int capture_command(const std::vector<std::string>& args) {
  ParsedCapture parsed = parse_capture_args(args);
  if (!parsed.options) return print_parse_outcome("xcap capture", parsed.message, parsed.exit_code);
  CaptureOptions& o = *parsed.options;
  set_log_level(LogLevel(o.verbosity));
  if (auto r = resolve_capture_environment(o); !r) {
    fprintf(stderr, "xcap capture: %s\n(see xcap capture --help)\n", r.error().message.c_str());
    return exit_code(r.error());
  }

  const sigset_t stop_signals = block_stop_signals();
  pipeline::StartStep step;
  auto started = Pipeline::start(o, &step);
  if (!started) {
    const Error e = with_flag(step, started.error());
    fprintf(stderr, "xcap: %s\n", e.message.c_str());
    return exit_code(e);
  }
  Pipeline& p = **started;
  const EndReason end = wait_for_end(p, stop_signals, o.duration_s);
  if (end == EndReason::OutputFailed) log_error("output failed; stopping");
  if (end == EndReason::InterfaceGone)
    log_error("interface %s (index %d) has disappeared; stopping and sealing the files",
              o.iface.c_str(), o.ifindex);
  p.stop();
  const metrics::CaptureSnapshot snap = p.snapshot();
  const CaptureTotals totals = totals_of(snap);
  const CaptureAccounting accounting = accounting_of(snap);
  if (snap.xdp) log_debug("%s", accounting_line(accounting).c_str());
  fprintf(stderr, "%s\n", stats_line(totals).c_str());
  for (const metrics::LocalSnapshot& l : snap.local)  // local mode: per interface, direction
    fprintf(stderr, "%s\n", local_stats_line(l).c_str());
  if (o.stats_json) fprintf(stderr, "%s\n", stats_json(totals, accounting).c_str());
  return end == EndReason::InterfaceGone || p.failed() ? 1 : 0;
}

}  // namespace xcap::cli
