#include "cli/serve_command.h"

#include <cstdio>

#include "cli/capture_environment.h"
#include "cli/capture_options.h"
#include "cli/parse_outcome.h"
#include "cli/stop_signals.h"
#include "common/log.h"
#include "metrics/capture_metrics.h"
#include "metrics/metrics_server.h"
#include "pipeline/on_demand_capture.h"
#include "pipeline/stream_server_options.h"

namespace xcap::cli {
namespace {

int fail(const Error& e) {
  fprintf(stderr, "xcap serve: %s\n", e.message.c_str());
  return exit_code(e);
}

// Each interface's options, checked against the host now: a missing interface is an error
// at start, not at the first subscription.
Result<std::vector<CaptureOptions>> per_interface(const ParsedCapture& parsed) {
  std::vector<CaptureOptions> out;
  std::vector<std::string> names = parsed.interfaces;
  if (parsed.options->local()) {  // -i all
    auto expanded = expand_local_interfaces(names);
    if (!expanded) return expanded.error();
    names = std::move(expanded.value());
  }
  for (const std::string& iface : names) {
    CaptureOptions o = *parsed.options;
    o.iface = iface;
    if (o.local()) o.local_ifaces = {iface};  // one pipeline per interface
    if (auto r = resolve_capture_environment(o); !r) return r.error();
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace

int serve_command(const std::vector<std::string>& args) {
  ParsedCapture parsed = parse_command_args(args, Command::Serve);
  if (!parsed.options) return print_parse_outcome("xcap serve", parsed.message, parsed.exit_code);
  const CaptureOptions& o = *parsed.options;
  set_log_level(LogLevel(o.verbosity));
  auto opts = per_interface(parsed);
  if (!opts) return fail(Error(opts.error()).context("(see xcap serve --help)"));
  const sigset_t stop_signals = block_stop_signals();

  auto host = pipeline::OnDemandCapture::open(std::move(*opts));
  if (!host) return fail(host.error());
  auto cfg = pipeline::stream_server_config(o.stream);
  if (!cfg) return fail(cfg.error());
  auto server = sink::fanout::StreamServer::start(*cfg, **host);
  if (!server) return fail(flag_error("--listen", server.error()));
  for (const auto& e : (*server)->endpoints()) (*host)->exclude_self(e.address, e.port);

  std::unique_ptr<metrics::MetricsServer> metrics;
  if (!o.metrics_addr.empty()) {
    auto m = metrics::MetricsServer::start(o.metrics_addr, [&](metrics::FamilyBuilder& b) {
      std::vector<metrics::CaptureSnapshot> snaps = (*host)->snapshots();
      snaps.front().streams.dropped_by_client = (*server)->dropped_by_client();
      metrics::render_capture_metrics(snaps, b);
    });
    if (!m) return fail(flag_error("--metrics", m.error()));
    metrics = std::move(m.value());
    log_info("metrics on http://%s/metrics", o.metrics_addr.c_str());
  }
  log_info(
      "serving %zu interface(s) on %s: the XDP program is attached while a client is "
      "subscribed",
      parsed.interfaces.size(), o.stream.listen.c_str());
  while (!stop_signal_within(stop_signals, 100'000'000)) {
  }
  log_info("stopping: ending every stream");
  // The streams end with their last statistics block; then the server lets the clients take it.
  (*host)->stop("end: server stopping");
  (*server)->stop("end: server stopping");
  metrics.reset();
  return 0;
}

}  // namespace xcap::cli
