#include "cli/capture_options.h"

#include <net/if.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "cli/archive_options.h"
#include "cli/capture_environment.h"
#include "cli/option_parsing.h"
#include "common/defaults.h"
#include "metrics/metrics_server.h"

namespace po = boost::program_options;

namespace xcap::cli {
namespace {

const char* kUsage =
    "Usage: xcap capture -i IFACE [options]\n"
    "\n"
    "Captures packets with an XDP program and AF_XDP sockets (one per rx queue; --mode local:\n"
    "XDP and TC programs and a BPF ring buffer per interface) and writes them to pcap/pcapng\n"
    "files. Ends on SIGINT/SIGTERM, -c or --duration, then prints:\n"
    "  xcap: N packets captured, N dropped (kernel N, ring N, filter-excluded N, writer N,\n"
    "        decap-error N, too-big N)\n"
    "(--mode local: ring N is the ring buffer's ringbuf_full, and one more line per interface\n"
    "counts what each direction copied and lost) and with --stats-json the same counts, and\n"
    "the kernel programs', as one JSON line.\n"
    "\n"
    "Modes (--mode):\n"
    "  mirror  (default) take only mirror traffic: UDP to the VXLAN ports (4789, --vxlan-port)\n"
    "          and the GENEVE port (6081), and GRE/ERSPAN (IP protocol 47). Everything else\n"
    "          passes to the host, so ssh, ARP, ping and health checks keep working.\n"
    "  span    take every frame: for a dedicated capture port (the host sees none of it).\n"
    "  local   copy and pass: the host's own traffic, both directions (XDP on ingress, TC on\n"
    "          egress copy each packet into a BPF ring buffer and let it go on). -i repeats,\n"
    "          or -i all; each interface is its own pcapng interface, and pcapng records say\n"
    "          inbound or outbound. No decapsulation unless --decap asks (see README:\n"
    "          On-agent capture).\n"
    "\n"
    "Examples:\n"
    "  xcap capture -i eth1 -w /data/mirror.pcap -C 100 -W 50      # ring of 50 x 100 MB\n"
    "  xcap capture -i eth1 --mode span -w - | tcpdump -r -         # live to tcpdump\n"
    "  xcap capture -i eth1 --duration 10                           # rate check, no file\n"
    "  xcap capture -i eth0 -i eth1 --mode local -w host.pcapng --format pcapng tcp port 443\n"
    "  xcap capture -i eth1 -w cap.pcapng --format pcapng -G 60 --metrics 127.0.0.1:9100\n"
    "  xcap capture -r vtap.pcap -w by-source/m.pcap --split source  # a tcpdump archive, by "
    "source\n"
    "\n";

const char* kServeUsage =
    "Usage: xcap serve -i IFACE [-i IFACE2 ...] --listen ADDR:PORT [options]\n"
    "\n"
    "The capture agent: serves live pcapng streams over HTTP (GET /capture?filter=EXPR, see\n"
    "README: Remote capture) and captures only while at least one client is subscribed. The\n"
    "XDP program is attached at the first subscription and detached after the last; it filters\n"
    "with the union of the subscribers' filters. Writes no files. Ends on SIGINT/SIGTERM,\n"
    "ending every stream with its last statistics block. With --mode local it serves the\n"
    "host's own traffic (both directions, copied, never taken): the XDP and TC programs are\n"
    "attached only while a client is subscribed, and its own connections are never copied.\n"
    "\n"
    "Examples:\n"
    "  xcap serve -i eth1 --listen 127.0.0.1:9470\n"
    "  xcap serve -i all --mode local --listen :9470 --token-file /etc/xcap/token\n"
    "  xcap serve -i eth1 --listen :9470 --token-file /etc/xcap/token --tls-cert c.pem "
    "--tls-key k.pem\n"
    "  curl -N 'http://127.0.0.1:9470/capture?filter=tcp+port+443' | wireshark -k -i -\n"
    "\n";

// The capture options xcap serve refuses: it streams only, for as long as clients ask.
constexpr const char* kNotServeOptions[] = {
    "read",       "write",   "file-size",         "rotate-seconds", "file-count",
    "split",      "count",   "duration",          "filter",         "format",
    "stats-json", "archive", "postrotate-command"};

struct Raw {
  std::vector<std::string> ifaces;
  std::string read_file, write_path, filter,
      snaplen = "0", count = "0", duration = "0", rotate_mb = "0", rotate_s = "0", max_files = "0",
      format = "pcap", split = "none", mode = "mirror", decap, decap_errors = "drop",
      decap_depth = "1", bare_ip_link = "ethernet", queues = "all", xdp_mode = "auto", listen,
      metrics, config, batch = std::to_string(defaults::kBatchSize),
      rx_ring = std::to_string(defaults::kRxRing), fill_ring, frame_size = "auto",
      geneve_port = "6081", rt_priority = "0", token_file, tls_cert, tls_key, tls_client_ca,
      max_streams = std::to_string(defaults::kMaxStreams),
      max_streams_per_client = std::to_string(defaults::kMaxStreamsPerClient),
      stream_buffer = std::to_string(defaults::kStreamBufferMiB),
      ringbuf_size = std::to_string(defaults::kRingbufKiB);
  std::vector<std::string> vxlan_ports, trailing;
  bool busy_poll = false, no_pin = false, help = false, quiet = false, verbose = false,
       stats_json = false, ringbuf_per_cpu = false;
  RawArchive archive;
};

po::options_description describe_io(Raw& r) {
  po::options_description d("Input and output");
  add(d, "help,h", po::bool_switch(&r.help), "show this help");
  add(d, "interface,i", arg(&r.ifaces, "IFACE"),
      "interface to capture on (xcap serve and --mode local: repeatable; --mode local: 'all' for "
      "every interface that is up, loopback aside)");
  add(d, "read,r", arg(&r.read_file, "FILE"),
      "replay a pcap/pcapng file (Ethernet) instead of capturing live: the same decapsulation, "
      "filter and files; records keep their timestamps and lengths. In mirror mode only "
      "tunnelled frames are kept, as live");
  add(d, "write,w", arg(&r.write_path, "PATH|-"),
      "write pcap/pcapng to PATH (PATH.part until complete), or pcap to stdout with '-'. Never "
      "overwrites: if PATH exists, writes PATH with a number (x.1.pcap). Recovers the .part "
      "files a dead run left. Without -w: capture and count only");
  add(d, "format", arg(&r.format, "pcap|pcapng"),
      "file format: pcapng when -w ends in .pcapng, else pcap (ns timestamps)");
  add(d, "split", arg(&r.split, "none|source"),
      "source: one ring of files per mirror source, named PATH-SOURCE... (needs --decap); none "
      "(default): one ring, sources mixed");
  add(d, "snaplen,s", arg(&r.snaplen, "BYTES"),
      text("bytes kept per packet (0 = default); default ", defaults::kSnaplen));
  add(d, "count,c", arg(&r.count, "N"), "stop after N packets");
  add(d, "duration", arg(&r.duration, "SEC"), "stop after SEC seconds (decimals allowed)");
  add(d, "file-size,C", arg(&r.rotate_mb, "MB"),
      "start a new file once one reaches MB x 1,000,000 bytes");
  add(d, "rotate-seconds,G", arg(&r.rotate_s, "SEC"),
      "start a new file every SEC seconds, aligned to wall-clock multiples of SEC");
  add(d, "file-count,W", arg(&r.max_files, "N"),
      "keep only the N newest files of the base, earlier runs' included (oldest deleted, also "
      "when the disk is full)");
  add(d, "filter,f", arg(&r.filter, "EXPR"),
      "tcpdump filter expression, applied to the inner frames after decapsulation; the words "
      "after the options work too, as in tcpdump (see README: Filters)");
  return d;
}

po::options_description describe_capture(Raw& r) {
  po::options_description d("Capture");
  add(d, "mode", arg(&r.mode, "mirror|span|local"),
      "what to take: mirror traffic only (mirror, the default), every frame of a capture port "
      "(span), or a copy of the host's own traffic in both directions, which it keeps (local); "
      "see Modes");
  add(d, "decap", arg(&r.decap, "auto|none|vxlan|geneve|erspan|gre"),
      "strip mirror tunnels and write the inner frames (default: auto in mirror mode, none in "
      "span and local mode); naming one type strips only that type");
  add(d, "decap-errors", arg(&r.decap_errors, "keep|drop"),
      "frames whose mirror tunnel is broken: counted, then dropped (default) or written whole");
  add(d, "decap-depth", arg(&r.decap_depth, "N"),
      "tunnel levels stripped, 1-8 (default 1: the mirror's own tunnel; customer tunnels inside, "
      "such as a Kubernetes VXLAN overlay, stay whole). VXLAN inside GENEVE (AWS Gateway Load "
      "Balancer) counts as one level");
  add(d, "bare-ip-link", arg(&r.bare_ip_link, "ethernet|raw"),
      "inner frames that are bare IP packets (GENEVE L3, GRE with IP): ethernet (default) writes "
      "them behind a synthesized Ethernet header, so every file has one link type and tcpdump "
      "reads it; raw gives them LINKTYPE_RAW interfaces in pcapng (Wireshark reads those, "
      "tcpdump does not)");
  add(d, "vxlan-port", arg(&r.vxlan_ports, "PORT"),
      text("UDP port carrying VXLAN, repeatable; default ", XCAP_VXLAN_PORT));
  add(d, "geneve-port", arg(&r.geneve_port, "PORT"),
      text("UDP port carrying GENEVE; default ", XCAP_GENEVE_PORT));
  add(d, "queues", arg(&r.queues, "all|LIST"), "rx queues to capture, e.g. 0,2-3 (default all)");
  add(d, "xdp-mode", arg(&r.xdp_mode, "auto|native|skb"),
      "XDP attach mode: auto tries native, then skb");
  add(d, "metrics", arg(&r.metrics, "ADDR:PORT"),
      "serve Prometheus /metrics here (IPv4, or IPv6 as [::1]:9464)");
  add(d, "config", arg(&r.config, "FILE"),
      "read options from FILE: 'name = value' lines, long names; the command line wins");
  add(d, "quiet,q", po::bool_switch(&r.quiet), "only errors and the final stats line");
  add(d, "verbose,v", po::bool_switch(&r.verbose), "more detail (per-queue socket setup)");
  add(d, "stats-json", po::bool_switch(&r.stats_json),
      "after the stats line, print the same counts and the XDP program's as one JSON line to "
      "stderr (for scripts)");
  return d;
}

po::options_description describe_stream(Raw& r) {
  po::options_description d("Streaming (see README: Remote capture)");
  add(d, "listen", arg(&r.listen, "ADDR:PORT"),
      "also stream to HTTP clients: GET /capture?filter=EXPR answers a live pcapng stream (curl "
      "-N ... | wireshark -k -i -), GET /captures lists the streams. Without --token-file only "
      "a loopback address is allowed");
  add(d, "token-file", arg(&r.token_file, "FILE"),
      "clients must send 'Authorization: Bearer TOKEN' with the token in FILE (first line)");
  add(d, "tls-cert", arg(&r.tls_cert, "FILE"), "serve HTTPS with this PEM certificate (chain)");
  add(d, "tls-key", arg(&r.tls_key, "FILE"), "the PEM private key of --tls-cert");
  add(d, "tls-client-ca", arg(&r.tls_client_ca, "FILE"),
      "require client certificates signed by this PEM CA (mutual TLS)");
  add(d, "max-streams", arg(&r.max_streams, "N"),
      text("streams at once, all clients (default ", defaults::kMaxStreams) + "); more: 503");
  add(d, "max-streams-per-client", arg(&r.max_streams_per_client, "N"),
      text("streams at once from one client address (default ", defaults::kMaxStreamsPerClient) +
          "); more: 429");
  add(d, "stream-buffer", arg(&r.stream_buffer, "MB"),
      text("each client's buffer in MiB (default ", defaults::kStreamBufferMiB) +
          "); a client that reads slower loses packets, counted and reported in its stream");
  return d;
}

po::options_description describe_tuning(Raw& r) {
  po::options_description d("Tuning (see README)");
  add(d, "batch-size", arg(&r.batch, "N"),
      text("packets per worker batch, 1-", defaults::kMaxBatchSize) +
          text(" (default ", defaults::kBatchSize) + ")");
  add(d, "rx-ring", arg(&r.rx_ring, "N"),
      text("AF_XDP RX ring descriptors, power of two, 64-65536; default ", defaults::kRxRing) +
          ": the frames a queue holds while its worker is off its core");
  add(d, "fill-ring", arg(&r.fill_ring, "N"),
      "fill ring = UMEM frames per queue, power of two >= rx-ring (default = rx-ring); "
      "UMEM memory = fill-ring x frame-size");
  add(d, "frame-size", arg(&r.frame_size, "auto|2048|4096"),
      "UMEM frame size; auto (default): 2048 when the interface MTU fits in one, else 4096");
  add(d, "busy-poll", po::bool_switch(&r.busy_poll), "prefer busy polling on the sockets");
  add(d, "no-pin", po::bool_switch(&r.no_pin), "do not pin worker threads to cores");
  add(d, "ringbuf-size", arg(&r.ringbuf_size, "KIB"),
      text("--mode local: each BPF ring buffer in KiB, a power of two from 4 (default ",
           defaults::kRingbufKiB) +
          "); a packet that finds it full is lost and counted (ringbuf_full)");
  add(d, "ringbuf-per-cpu", po::bool_switch(&r.ringbuf_per_cpu),
      "--mode local: one ring buffer per CPU instead of one per interface (see README)");
  add(d, "rt-priority", arg(&r.rt_priority, "N"),
      "run the workers as SCHED_FIFO threads of priority 1-99 (default 0: off); see README "
      "Tuning before using it on a host that runs other work");
  return d;
}

po::options_description describe(Raw& r) {
  po::options_description all;
  all.add(describe_io(r))
      .add(describe_capture(r))
      .add(describe_stream(r))
      .add(describe_archive(r.archive))
      .add(describe_tuning(r));
  return all;
}

bool power_of_two(uint64_t v) {
  return v && !(v & (v - 1));
}

// Where each option of a --config file was set: name -> line number.
using ConfigOrigins = std::map<std::string, int>;

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// Checks the file line by line before boost reads it, so every mistake names the file and
// the line: boost's own messages name neither.
Result<ConfigOrigins> check_config_file(const std::string& path,
                                        const po::options_description& desc) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return invalid_input("--config '" + path + "': is a directory, not a file");
  std::ifstream in(path);
  if (!in) {
    Error e = errno_error("--config '" + path + "': cannot read");
    e.kind = ErrorKind::InvalidInput;  // the file the command line named: bad input, exit 2
    return e;
  }
  ConfigOrigins origins;
  std::string text;
  for (int n = 1; std::getline(in, text); n++) {
    const std::string line = trim(text.substr(0, text.find('#')));  // '#' starts a comment
    if (line.empty()) continue;
    const std::string at = path + " line " + std::to_string(n) + ": ";
    const auto eq = line.find('=');
    if (line.front() == '[' || eq == std::string::npos)
      return invalid_input(at + "expected 'name = value' (long option names), got '" + line + "'");
    const std::string name = trim(line.substr(0, eq));
    if (name == "config" || !desc.find_nothrow(name, false))
      return invalid_input(at + "unknown option '" + name + "'");
    origins.emplace(name, n);
  }
  return origins;
}

// " (set in FILE line N)" when a failure message is about an option the config file set and
// the command line did not: messages start with the flag they are about, -C or --file-size.
std::string config_origin(const std::string& msg, const std::string& path,
                          const ConfigOrigins& origins, const po::variables_map& cmdline,
                          const po::options_description& desc) {
  for (const auto& [name, line] : origins) {
    if (cmdline.count(name)) continue;
    const auto& opt = desc.find(name, false);
    for (const std::string& flag :
         {"--" + name, opt.canonical_display_name(po::command_line_style::allow_dash_for_short)}) {
      if (msg.rfind(flag + " ", 0) == 0 || msg.rfind(flag + ":", 0) == 0)
        return " (set in " + path + " line " + std::to_string(line) + ")";
    }
  }
  return "";
}

// ---- the stages of parse_capture_args: each checks one group of flags ----------------------
// They look at the command line only; what the host has (the interface, its queues and MTU)
// is resolve_capture_environment's (capture_environment.h).

// "all" or a list such as "0,2-3" of queue numbers xcap can take; the interface's own count
// is checked by resolve_capture_environment.
Result<void> check_queue_syntax(const std::string& spec) {
  auto q = parse_queue_list(spec, XCAP_MAX_QUEUES);
  if (!q) return q.error();
  return ok();
}

Result<void> parse_input(const Raw& r, const po::variables_map&, CaptureOptions& o) {
  if (!r.ifaces.empty() && !r.read_file.empty())
    return invalid_input("-i and -r: capture live from an interface or replay a file, not both");
  if (r.ifaces.empty() && r.read_file.empty())
    return invalid_input("-i IFACE (or -r FILE to replay a capture file) is required");
  const bool local = r.mode == "local";
  if (r.ifaces.size() > 1 && !local)
    return invalid_input("-i: xcap capture takes one interface (" + r.ifaces[1] +
                         " is the second) but in --mode local; xcap serve takes several");
  if (!local && std::find(r.ifaces.begin(), r.ifaces.end(), "all") != r.ifaces.end())
    return invalid_input("-i all: only --mode local captures every interface");
  if (local && !r.read_file.empty())
    return invalid_input("--mode local captures the host's live traffic; it cannot replay -r");
  if (!r.ifaces.empty()) o.iface = r.ifaces.front();
  if (local) o.local_ifaces = r.ifaces;
  o.read_path = r.read_file;
  o.queues_spec = r.queues;
  return check_queue_syntax(r.queues);
}

Result<void> parse_mode_and_decap(const Raw& r, const po::variables_map&, CaptureOptions& o) {
  if (r.mode == "mirror")
    o.mode = XCAP_MODE_MIRROR;
  else if (r.mode == "span")
    o.mode = XCAP_MODE_SPAN;
  else if (r.mode == "local")
    o.mode = XCAP_MODE_LOCAL;
  else
    return invalid_input("--mode '" + r.mode + "': expected mirror, span or local");
  const std::string decap =
      r.decap.empty() ? (o.mode == XCAP_MODE_MIRROR ? "auto" : "none") : r.decap;
  if (auto d = parse_decap_mode(decap))
    o.decap = *d;
  else
    return invalid_input("--decap '" + decap +
                         "': expected auto, none, vxlan, geneve, erspan or gre");
  if (r.decap_errors != "keep" && r.decap_errors != "drop")
    return invalid_input("--decap-errors '" + r.decap_errors + "': expected keep or drop");
  o.keep_decap_errors = r.decap_errors == "keep";
  auto depth = parse_uint<unsigned>("--decap-depth", r.decap_depth, 1, 8);
  if (!depth) return depth.error();
  o.decap_depth = *depth;
  if (auto m = bpf_loader::parse_xdp_mode(r.xdp_mode))
    o.xdp_mode = *m;
  else
    return invalid_input("--xdp-mode '" + r.xdp_mode + "': expected auto, native or skb");
  return ok();
}

Result<void> parse_output(const Raw& r, const po::variables_map& vm, CaptureOptions& o) {
  // Without --format, a -w path that says .pcapng gets pcapng (ring files keep the extension
  // of their contents, so `-w m.pcapng -C 100` makes m-...-000001.pcapng, not .pcap).
  if (!vm.count("format") && r.write_path.ends_with(".pcapng"))
    o.format = sink::FileFormat::Pcapng;
  else if (r.format == "pcap")
    o.format = sink::FileFormat::Pcap;
  else if (r.format == "pcapng")
    o.format = sink::FileFormat::Pcapng;
  else
    return invalid_input("--format '" + r.format + "': expected pcap or pcapng");
  if (r.bare_ip_link != "ethernet" && r.bare_ip_link != "raw")
    return invalid_input("--bare-ip-link '" + r.bare_ip_link + "': expected ethernet or raw");
  o.raw_ip_link = r.bare_ip_link == "raw";
  if (o.raw_ip_link && o.format != sink::FileFormat::Pcapng)
    return invalid_input("--bare-ip-link raw needs --format pcapng: a pcap file has one link type");
  o.write_path = r.write_path;
  if (r.split != "none" && r.split != "source")
    return invalid_input("--split '" + r.split + "': expected none or source");
  o.split_by_source = r.split == "source";
  if (o.split_by_source && o.write_path == "-")
    return invalid_input(
        "--split source writes one file ring per source; it cannot write to stdout");
  if (o.split_by_source && o.write_path.empty())
    return invalid_input("--split source needs -w PATH");
  if (o.split_by_source && o.decap == DecapConfig::Mode::None)
    return invalid_input("--split source needs decapsulation (--decap)");
  auto snap = parse_uint<uint32_t>("-s", r.snaplen, 0, defaults::kSnaplen);
  if (!snap) return snap.error();
  o.snaplen = *snap ? *snap : defaults::kSnaplen;
  if (o.snaplen < 14)
    return invalid_input("-s " + r.snaplen + ": too small to hold an Ethernet header (minimum 14)");
  auto count = parse_uint<uint64_t>("-c", r.count, 0, UINT64_MAX);
  if (!count) return count.error();
  o.count = *count;
  size_t used = 0;
  try {
    o.duration_s = std::stod(r.duration, &used);
  } catch (const std::exception&) {  // std::stod's only way to say "not a number"
    used = 0;
  }
  if (used != r.duration.size() || !std::isfinite(o.duration_s) || o.duration_s < 0)
    return invalid_input("--duration '" + r.duration + "': expected seconds, e.g. 10 or 0.5");
  return ok();
}

Result<void> parse_rotation(const Raw& r, const po::variables_map& vm, CaptureOptions& o) {
  auto cmb = parse_uint<uint64_t>("-C", r.rotate_mb, 0, 1'000'000);
  if (!cmb) return cmb.error();
  auto gs = parse_uint<uint32_t>("-G", r.rotate_s, 0, 31 * 86400);
  if (!gs) return gs.error();
  auto wn = parse_uint<uint32_t>("-W", r.max_files, 0, 1'000'000);
  if (!wn) return wn.error();
  // 0 would mean a file per block (-C), a file per instant (-G) or no file kept (-W): leave
  // the flag out for no limit.
  if (vm.count("file-size") && *cmb == 0)
    return invalid_input("-C 0: a file size is at least 1 (MB); leave -C out for no size limit");
  if (vm.count("rotate-seconds") && *gs == 0)
    return invalid_input(
        "-G 0: a rotation period is at least 1 second; leave -G out for no period");
  if (vm.count("file-count") && *wn == 0)
    return invalid_input("-W 0: keep at least 1 file; leave -W out to keep every file");
  o.rotate_mb = *cmb, o.rotate_seconds = *gs, o.max_files = *wn;
  const bool rotating = o.rotate_mb || o.rotate_seconds || o.max_files;
  if (rotating && o.write_path.empty()) return invalid_input("-C, -G and -W need -w PATH");
  if (rotating && o.write_path == "-")
    return invalid_input("-C, -G and -W cannot rotate stdout (-w -)");
  if (o.max_files && !o.rotate_mb && !o.rotate_seconds)
    return invalid_input("-W needs -C or -G: it limits how many rotated files are kept");
  return ok();
}

Result<void> parse_archive_flags(const Raw& r, const po::variables_map&, CaptureOptions& o) {
  auto a = parse_archive(r.archive, o.rotate_mb || o.rotate_seconds);
  if (!a) return a.error();
  o.archive = std::move(a.value());
  return ok();
}

// tcpdump style: -f EXPR, or the words after the options, joined with spaces.
Result<void> parse_filter(const Raw& r, const po::variables_map& vm, CaptureOptions& o) {
  if (!r.trailing.empty() && !r.filter.empty())
    return invalid_input("give the filter once: -f '" + r.filter + "' and trailing words '" +
                         r.trailing.front() + " ...' were both given");
  if (!vm.count("filter") && r.trailing.empty()) return ok();
  std::string expr = r.filter;
  for (const auto& w : r.trailing) expr += (expr.empty() ? "" : " ") + w;
  auto f = FilterSet::compile(expr, o.snaplen);
  if (!f) return f.error().context("-f");
  o.filter = std::make_shared<const FilterSet>(std::move(f.value()));
  return ok();
}

Result<void> parse_ports(const Raw& r, const po::variables_map&, CaptureOptions& o) {
  o.vxlan_ports.clear();
  for (const auto& p : r.vxlan_ports) {
    auto v = parse_uint<uint16_t>("--vxlan-port", p, 1, 65535);
    if (!v) return v.error();
    o.vxlan_ports.push_back(*v);
  }
  if (o.vxlan_ports.empty()) o.vxlan_ports.push_back(XCAP_VXLAN_PORT);
  if (o.vxlan_ports.size() > XCAP_MAX_VXLAN_PORTS)
    return invalid_input("--vxlan-port: at most " + std::to_string(XCAP_MAX_VXLAN_PORTS) +
                         " ports");
  auto gp = parse_uint<uint16_t>("--geneve-port", r.geneve_port, 1, 65535);
  if (!gp) return gp.error();
  o.geneve_port = *gp;
  if (!r.metrics.empty()) {
    auto m = metrics::parse_listen_address(r.metrics);
    if (!m) return flag_error("--metrics", m.error());
    o.metrics_addr = *m;
  }
  return ok();
}

Result<void> parse_stream(const Raw& r, const po::variables_map& vm, CaptureOptions& o) {
  ServerOptions& s = o.stream;
  if (r.listen.empty()) {
    for (const char* flag : {"token-file", "tls-cert", "tls-key", "tls-client-ca", "max-streams",
                             "max-streams-per-client", "stream-buffer"})
      if (vm.count(flag) && !vm[flag].defaulted())
        return invalid_input(std::string("--") + flag + " needs --listen ADDR:PORT");
    return ok();
  }
  if (o.replay()) return invalid_input("--listen streams a live capture; it cannot stream -r");
  auto l = metrics::parse_listen_address(r.listen);
  if (!l) return flag_error("--listen", l.error());
  s.listen = *l;
  if (!o.metrics_addr.empty() && o.metrics_addr == s.listen)
    return invalid_input("--listen " + s.listen + ": --metrics uses the same address");
  s.token_file = r.token_file, s.tls_cert = r.tls_cert, s.tls_key = r.tls_key;
  s.tls_client_ca = r.tls_client_ca;
  if (s.tls_cert.empty() != s.tls_key.empty())
    return invalid_input(s.tls_cert.empty() ? "--tls-key needs --tls-cert"
                                            : "--tls-cert needs --tls-key");
  if (!s.tls_client_ca.empty() && s.tls_cert.empty())
    return invalid_input("--tls-client-ca needs --tls-cert and --tls-key: mutual TLS is TLS");
  auto ms = parse_uint<unsigned>("--max-streams", r.max_streams, 1, 1024);
  if (!ms) return ms.error();
  auto mc = parse_uint<unsigned>("--max-streams-per-client", r.max_streams_per_client, 1, 1024);
  if (!mc) return mc.error();
  auto mb = parse_uint<uint64_t>("--stream-buffer", r.stream_buffer, 1, 4096);
  if (!mb) return mb.error();
  s.max_streams = *ms, s.max_streams_per_client = *mc, s.buffer_bytes = size_t(*mb) << 20;
  return ok();
}

// --ringbuf-size and --ringbuf-per-cpu: local mode's only.
Result<void> parse_ringbuf(const Raw& r, const po::variables_map& vm, CaptureOptions& o) {
  const bool given =
      (vm.count("ringbuf-size") && !vm["ringbuf-size"].defaulted()) || r.ringbuf_per_cpu;
  if (given && !o.local())
    return invalid_input(std::string(r.ringbuf_per_cpu ? "--ringbuf-per-cpu" : "--ringbuf-size") +
                         " applies to --mode local only");
  auto kib = parse_uint<uint32_t>("--ringbuf-size", r.ringbuf_size, 4, 1u << 20);
  if (!kib || !power_of_two(*kib))
    return invalid_input("--ringbuf-size '" + r.ringbuf_size +
                         "': expected a power of two from 4 to 1048576 (KiB)");
  o.ringbuf_bytes = *kib << 10;
  o.ringbuf_per_cpu = r.ringbuf_per_cpu;
  return ok();
}

Result<void> parse_tuning(const Raw& r, const po::variables_map& vm, CaptureOptions& o) {
  auto batch = parse_uint<unsigned>("--batch-size", r.batch, 1, defaults::kMaxBatchSize);
  if (!batch) return batch.error();
  o.batch_size = *batch;
  auto rx = parse_uint<uint32_t>("--rx-ring", r.rx_ring, 64, 1 << 16);
  if (!rx || !power_of_two(*rx))
    return invalid_input("--rx-ring '" + r.rx_ring + "': expected a power of two from 64 to 65536");
  o.rx_ring = *rx;
  const uint32_t min_fill = o.rx_ring;
  o.fill_ring = defaults::kFillRingPerRxSlot * o.rx_ring;
  if (!r.fill_ring.empty()) {
    auto fr = parse_uint<uint32_t>("--fill-ring", r.fill_ring, min_fill, 1 << 18);
    if (!fr || !power_of_two(*fr))
      return invalid_input("--fill-ring '" + r.fill_ring +
                           "': expected a power of two, at least --rx-ring (" +
                           std::to_string(min_fill) + ")");
    o.fill_ring = *fr;
  }
  if (r.frame_size == "2048" || r.frame_size == "4096")
    o.frame_size = r.frame_size == "2048" ? 2048 : 4096;
  else if (r.frame_size != "auto")
    return invalid_input("--frame-size '" + r.frame_size + "': expected auto, 2048 or 4096");
  o.busy_poll = r.busy_poll;
  o.pin_workers = !r.no_pin;
  auto rt = parse_uint<int>("--rt-priority", r.rt_priority, 0, 99);
  if (!rt) return rt.error();
  o.rt_priority = *rt;
  return parse_ringbuf(r, vm, o);
}

}  // namespace

Error flag_error(std::string_view flag, const Error& e) {
  Error out = e;
  out.message = std::string(flag) + " " + e.message;
  return out;
}

namespace {

// What xcap serve refuses, and that it needs --listen. r.ifaces then holds only the first
// interface, for the capture stages; the caller keeps the rest.
Result<void> check_serve(Raw& r, const po::variables_map& vm) {
  for (const char* name : kNotServeOptions)
    if (vm.count(name) && !vm[name].defaulted())
      return invalid_input(std::string("--") + name +
                           ": xcap serve streams only what clients ask for (each client gives its "
                           "own filter and limits); use xcap capture --listen to also write files");
  if (!r.trailing.empty())
    return invalid_input("'" + r.trailing.front() +
                         " ...': xcap serve takes no filter; each client sends its own");
  if (r.listen.empty()) return invalid_input("--listen ADDR:PORT is required");
  if (r.ifaces.empty()) return invalid_input("-i IFACE is required");
  if (r.ifaces.size() > 1) r.ifaces.resize(1);
  return ok();
}

}  // namespace

ParsedCapture parse_capture_args(const std::vector<std::string>& args) {
  return parse_command_args(args, Command::Capture);
}

ParsedCapture parse_command_args(const std::vector<std::string>& args, Command command) {
  const bool serve = command == Command::Serve;
  const char* name = serve ? "serve" : "capture";
  ParsedCapture res;
  Raw r;
  po::variables_map vm, given;  // given: the command line alone
  ConfigOrigins origins;
  po::options_description desc = describe(r);
  auto fail = [&](const Error& e) {
    res.options.reset();
    res.message = e.message + config_origin(e.message, r.config, origins, given, desc) +
                  "\n(see xcap " + name + " --help)";
    res.exit_code = exit_code(e);
    return res;
  };
  try {
    store_command_line(args, desc, "expression", &r.trailing, {&given, &vm});
    po::notify(vm);
    if (!r.config.empty()) {
      auto checked = check_config_file(r.config, desc);
      if (!checked) return fail(checked.error());
      origins = std::move(checked.value());
      std::ifstream in(r.config);
      po::store(po::parse_config_file(in, desc), vm);  // the command line was stored first: it wins
      po::notify(vm);
    }
  } catch (const po::error& e) {
    return fail(invalid_input(
        r.config.empty() ? e.what() : std::string(e.what()) + " (in --config " + r.config + ")"));
  }
  if (r.help) {
    res.message = help_text(serve ? kServeUsage : kUsage, desc);
    return res;
  }

  CaptureOptions o;
  if (serve) {
    res.interfaces = r.ifaces;
    if (Result<void> r2 = check_serve(r, vm); !r2) return fail(r2.error());
  }
  for (auto stage : {parse_input, parse_mode_and_decap, parse_output, parse_rotation,
                     parse_archive_flags, parse_filter, parse_ports, parse_stream, parse_tuning})
    if (Result<void> r2 = stage(r, vm, o); !r2) return fail(r2.error());
  o.verbosity = r.quiet ? 0 : r.verbose ? 2 : 1;
  o.stats_json = r.stats_json;
  if (!serve && !o.iface.empty()) res.interfaces = {o.iface};
  res.options = std::move(o);
  return res;
}

}  // namespace xcap::cli
