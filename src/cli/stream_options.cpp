#include "cli/stream_options.h"

#include <boost/program_options.hpp>
#include <cmath>
#include <sstream>
#include <tuple>

#include "cli/capture_options.h"
#include "cli/option_parsing.h"
#include "common/defaults.h"

namespace po = boost::program_options;

namespace xcap::cli {
namespace {

const char* kUsage =
    "Usage: xcap stream TARGET... [options]\n"
    "\n"
    "Follows the packet streams of one or more capturing xcaps (`xcap capture --listen`) and\n"
    "merges them by timestamp into one pcapng: one interface per target and server interface,\n"
    "named TARGET/NAME. Each target is asked for GET /capture?filter=..&snaplen=..&count=..\n"
    "&duration=..&format=pcapng (what `curl -N http://HOST:PORT/capture > one.pcapng` gets\n"
    "from one), with the bearer token of --token-file.\n"
    "\n"
    "Targets: HOST:PORT, [IPv6]:PORT, HOST (port --port), http://HOST:PORT[/PATH],\n"
    "https://HOST:PORT[/PATH] (path default /capture); bare targets use https when --tls-ca is\n"
    "given. More come from --targets FILE (one a line, # comments), --targets-cmd CMD (its\n"
    "output lines) and --bosh DEPLOYMENT[/GROUP[/ID]] (the instances of a BOSH deployment,\n"
    "through the Director named by BOSH_ENVIRONMENT with BOSH_CLIENT, BOSH_CLIENT_SECRET and\n"
    "BOSH_CA_CERT; each named GROUP/ID, reached at its first IP on --port).\n"
    "\n"
    "-c and --duration are each server's own limits (per target). Packets are held up to\n"
    "--reorder-window seconds to be written in timestamp order; one that comes later still is\n"
    "written out of order and counted as late. The servers' statistics blocks are passed\n"
    "through.\n"
    "\n"
    "On stderr, one line per event: TARGET: connected | congested (N lost) | cleared (N lost)\n"
    "| finished (end: REASON) | stopped (WHY) | failed (WHY). A failing target never stops the\n"
    "others. Ctrl-C (SIGINT, SIGTERM) asks every server to end its stream (the connection is\n"
    "half-closed), waits up to --stop-wait seconds for their final statistics, completes the\n"
    "file; a second Ctrl-C cuts at once. At the end one line per target:\n"
    "  TARGET: N packets received, N dropped by the server for this client, N late; ENDED\n"
    "Exit status: 0 when no target failed, 1 when one failed, 2 for bad usage.\n"
    "\n"
    "Examples:\n"
    "  xcap stream 198.18.0.1:9470 198.18.0.2:9470 -f 'tcp port 443' -w web.pcapng\n"
    "  xcap stream --bosh cf/router -c 1000 -w - | tcpdump -r -\n"
    "  xcap stream --targets-cmd 'cat hosts' --token-file ~/.xcap-token -w all.pcapng\n"
    "\n";

Result<double> parse_seconds(const std::string& flag, const std::string& s, double min,
                             double max) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {  // std::stod's only way to say "not a number"
    used = 0;
  }
  if (used == 0 || used != s.size() || !std::isfinite(v) || v < min || v > max) {
    std::ostringstream os;
    os << flag << " '" << s << "': expected seconds from " << min << " to " << max
       << ", e.g. 10 or 0.5";
    return invalid_input(os.str());
  }
  return v;
}

struct Raw {
  std::vector<std::string> targets;
  std::string targets_file, targets_cmd, bosh, filter,
      snaplen = "0", count = "0", duration, write_path, format = "pcapng", token_file, tls_ca,
      tls_cert, tls_key, port = std::to_string(stream::kDefaultStreamPort), reorder_window = "1",
      idle_timeout = "10", stop_wait = "2";
  bool help = false;
};

po::options_description describe(Raw& r) {
  po::options_description what("What to capture (sent to every target)");
  add(what, "help,h", po::bool_switch(&r.help), "show this help");
  add(what, "filter,f", arg(&r.filter, "EXPR"),
      "tcpdump filter expression, applied by each server");
  add(what, "snaplen,s", arg(&r.snaplen, "BYTES"),
      "bytes kept per packet (0: the server's default, " + std::to_string(defaults::kSnaplen) +
          ")");
  add(what, "count,c", arg(&r.count, "N"), "each server ends its stream after N packets");
  add(what, "duration", arg(&r.duration, "SEC"),
      "each server ends its stream after SEC seconds (decimals allowed)");
  po::options_description where("Targets");
  add(where, "targets", arg(&r.targets_file, "FILE"),
      "more targets, one a line; blank lines and # comments ignored");
  add(where, "targets-cmd", arg(&r.targets_cmd, "CMD"),
      "more targets: the output lines of /bin/sh -c CMD (it must exit 0)");
  add(where, "bosh", arg(&r.bosh, "DEPLOYMENT[/GROUP[/ID]]"),
      "more targets: the instances of a BOSH deployment (all, a group's, or one by id or index), "
      "through BOSH_ENVIRONMENT (Director URL or address, port 25555 by default), BOSH_CLIENT, "
      "BOSH_CLIENT_SECRET (UAA client credentials) and BOSH_CA_CERT (path or PEM)");
  add(where, "port", arg(&r.port, "PORT"),
      "port of targets given without one, and of BOSH instances (default " +
          std::to_string(stream::kDefaultStreamPort) + ")");
  add(where, "token-file", arg(&r.token_file, "FILE"),
      "send the token in FILE's first line as 'Authorization: Bearer TOKEN'");
  add(where, "tls-ca", arg(&r.tls_ca, "FILE"),
      "verify https targets against these PEM certificates (default: the system's); bare "
      "HOST:PORT targets then use https too");
  add(where, "tls-cert", arg(&r.tls_cert, "FILE"), "client certificate (PEM) for https targets");
  add(where, "tls-key", arg(&r.tls_key, "FILE"), "its private key (PEM)");
  po::options_description out("Output");
  add(out, "write,w", arg(&r.write_path, "PATH|-"),
      "write the merged capture to PATH (replaced if it exists), or to stdout with '-'; required "
      "unless stdout is a pipe or a file");
  add(out, "format", arg(&r.format, "pcapng|pcap"),
      "output format (default pcapng); pcap only when every interface has the same link type, "
      "and without the statistics");
  add(out, "reorder-window", arg(&r.reorder_window, "SEC"),
      "hold packets up to SEC seconds to write them in timestamp order (default 1)");
  add(out, "idle-timeout", arg(&r.idle_timeout, "SEC"),
      "a target silent this long (servers send statistics every second) has failed (default 10)");
  add(out, "stop-wait", arg(&r.stop_wait, "SEC"),
      "after Ctrl-C, wait this long for each server's final statistics (default 2)");
  po::options_description all;
  all.add(what).add(where).add(out);
  return all;
}

// ---- the stages of parse_stream_args: each checks one group of flags, in this order ------

// --port and --tls-*: needed first, to read the targets given without a scheme or a port.
Result<void> parse_connection(const Raw& r, const po::variables_map&, StreamOptions& o) {
  auto port = parse_uint<uint16_t>("--port", r.port, 1, 65535);
  if (!port) return port.error();
  o.port = *port;
  o.tls = {r.tls_ca, r.tls_cert, r.tls_key};
  o.tls_default = !r.tls_ca.empty();
  if (r.tls_cert.empty() != r.tls_key.empty())
    return invalid_input(r.tls_cert.empty() ? "--tls-key needs --tls-cert"
                                            : "--tls-cert needs --tls-key");
  return ok();
}

// TARGET..., --targets, --targets-cmd, --bosh: at least one. Only the command line's own
// targets are read here; the others are gathered when the command runs.
Result<void> parse_targets(const Raw& r, const po::variables_map& vm, StreamOptions& o) {
  for (const std::string& t : r.targets) {
    auto target = stream::parse_target(t, o.port, o.tls_default);
    if (!target) return target.error().context("target");
    o.targets.push_back(*target);
  }
  o.targets_file = r.targets_file;
  o.targets_cmd = r.targets_cmd;
  if (vm.count("targets") && r.targets_file.empty())
    return invalid_input("--targets: expected a file name");
  if (vm.count("targets-cmd") && r.targets_cmd.empty())
    return invalid_input("--targets-cmd: expected a command");
  if (vm.count("bosh")) {
    auto sel = stream::parse_bosh_selector(r.bosh);
    if (!sel) return flag_error("--bosh", sel.error());
    o.bosh = *sel;
  }
  if (o.targets.empty() && o.targets_file.empty() && o.targets_cmd.empty() && !o.bosh)
    return invalid_input(
        "no targets: give TARGET..., --targets FILE, --targets-cmd CMD or --bosh DEPLOYMENT");
  return ok();
}

// What every server is asked for (-f, -s, -c, --duration), and the token it is asked with.
Result<void> parse_request(const Raw& r, const po::variables_map& vm, StreamOptions& o) {
  o.filter = r.filter;
  auto snap = parse_uint<uint32_t>("-s", r.snaplen, 0, defaults::kSnaplen);
  if (!snap) return snap.error();
  if (*snap != 0 && *snap < 14)
    return invalid_input("-s " + r.snaplen + ": too small to hold an Ethernet header (minimum 14)");
  o.snaplen = *snap;
  auto count = parse_uint<uint64_t>("-c", r.count, 0, UINT64_MAX);
  if (!count) return count.error();
  o.count = *count;
  if (vm.count("duration")) {  // checked here, sent as written: the server parses it again
    auto d = parse_seconds("--duration", r.duration, 0.001, 366.0 * 86400);
    if (!d) return d.error();
    o.duration = r.duration;
  }
  if (vm.count("token-file") && r.token_file.empty())
    return invalid_input("--token-file: expected a file name");
  o.token_file = r.token_file;
  return ok();
}

// -w and --format, and the timing of the merge (--reorder-window, --idle-timeout,
// --stop-wait). Writing pcapng to a terminal is refused unless -w - asks for it.
Result<void> parse_output(const Raw& r, const po::variables_map& vm, bool stdout_is_terminal,
                          StreamOptions& o) {
  auto out = parse_merged_output(r.format, r.write_path, vm.count("write"), stdout_is_terminal);
  if (!out) return out.error();
  o.write_path = out->path;
  o.pcapng = out->pcapng;
  for (auto [flag, given, min, max, to] :
       {std::tuple{"--reorder-window", &r.reorder_window, 0.0, 3600.0, &o.reorder_window_s},
        std::tuple{"--idle-timeout", &r.idle_timeout, 0.1, 86400.0, &o.idle_timeout_s},
        std::tuple{"--stop-wait", &r.stop_wait, 0.0, 3600.0, &o.stop_wait_s}}) {
    auto s = parse_seconds(flag, *given, min, max);
    if (!s) return s.error();
    *to = *s;
  }
  return ok();
}

}  // namespace

ParsedStream parse_stream_args(const std::vector<std::string>& args, bool stdout_is_terminal) {
  ParsedStream res;
  Raw r;
  po::options_description desc = describe(r);
  auto fail = [&](const Error& e) {
    res.options.reset();
    res.message = e.message + "\n(see xcap stream --help)";
    res.exit_code = exit_code(e);
    return res;
  };
  po::variables_map vm;
  try {
    store_command_line(args, desc, "target", &r.targets, {&vm});
    po::notify(vm);
  } catch (const po::error& e) {
    return fail(invalid_input(e.what()));
  }
  if (r.help) {
    res.message = help_text(kUsage, desc);
    return res;
  }

  StreamOptions o;
  for (auto stage : {parse_connection, parse_targets, parse_request})
    if (Result<void> r2 = stage(r, vm, o); !r2) return fail(r2.error());
  if (Result<void> r2 = parse_output(r, vm, stdout_is_terminal, o); !r2) return fail(r2.error());
  res.options = std::move(o);
  return res;
}

std::string stream_query(const StreamOptions& o) {
  std::string q;
  auto param = [&](const std::string& k, const std::string& v) {
    q += (q.empty() ? "" : "&") + k + "=" + stream::url_encode(v);
  };
  if (!o.filter.empty()) param("filter", o.filter);
  if (o.snaplen) param("snaplen", std::to_string(o.snaplen));
  if (o.count) param("count", std::to_string(o.count));
  if (!o.duration.empty()) param("duration", o.duration);
  param("format", "pcapng");
  return q;
}

}  // namespace xcap::cli
