#include "cli/capture_options.h"

#include <net/if.h>

#include <algorithm>
#include <boost/program_options.hpp>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "metrics/metrics_server.h"

namespace po = boost::program_options;

namespace xcap::cli {
namespace {

const char* kUsage =
    "Usage: xcap capture -i IFACE [options]\n"
    "\n"
    "Captures packets with an XDP program and AF_XDP sockets (one per rx queue) and writes\n"
    "them to pcap/pcapng files. Ends on SIGINT/SIGTERM, -c or --duration, then prints:\n"
    "  xcap: N packets captured, N dropped (kernel N, ring N, filter-excluded N, writer N,\n"
    "        decap-error N, too-big N)\n"
    "and with --stats-json the same counts, and the XDP program's, as one JSON line.\n"
    "\n"
    "Modes (--mode):\n"
    "  mirror  (default) take only mirror traffic: UDP to the VXLAN ports (4789, --vxlan-port)\n"
    "          and the GENEVE port (6081), and GRE/ERSPAN (IP protocol 47). Everything else\n"
    "          passes to the host, so ssh, ARP, ping and health checks keep working.\n"
    "  span    take every frame: for a dedicated capture port (the host sees none of it).\n"
    "  local   copy and pass: not available yet.\n"
    "\n"
    "Examples:\n"
    "  xcap capture -i eth1 -w /data/mirror.pcap -C 100 -W 50      # ring of 50 x 100 MB\n"
    "  xcap capture -i eth1 --mode span -w - | tcpdump -r -         # live to tcpdump\n"
    "  xcap capture -i eth1 --duration 10                           # rate check, no file\n"
    "  xcap capture -i eth1 -w cap.pcapng --format pcapng -G 60 --metrics 127.0.0.1:9100\n"
    "\n";

// Whole-string unsigned parse; the error names the flag.
template <typename T>
Result<T> parse_uint(const std::string& flag, const std::string& s, T min, T max) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < min || v > max)
    return make_error(flag + " '" + s + "': expected a whole number from " + std::to_string(min) +
                      " to " + std::to_string(max));
  return v;
}

struct Raw {
  std::string iface, read_file, write_path, filter,
      snaplen = "262144", count = "0", duration = "0", rotate_mb = "0", rotate_s = "0",
      max_files = "0", format = "pcap", split = "none", mode = "mirror", decap,
      decap_errors = "drop", decap_depth = "1", bare_ip_link = "ethernet", queues = "all",
      xdp_mode = "auto", listen, metrics, config, batch = "64", rx_ring = "4096", fill_ring = "0",
      frame_size = "auto", geneve_port = "6081", rt_priority = "0";
  std::vector<std::string> vxlan_ports, trailing;
  bool busy_poll = false, no_pin = false, help = false, quiet = false, verbose = false,
       stats_json = false;
};

po::options_description describe(Raw& r) {
  po::options_description io("Input and output");
  io.add_options()("help,h", po::bool_switch(&r.help), "show this help")(
      "interface,i", po::value(&r.iface)->value_name("IFACE"), "interface to capture on")(
      "read,r", po::value(&r.read_file)->value_name("FILE"),
      "replay a capture file (not available yet)")(
      "write,w", po::value(&r.write_path)->value_name("PATH|-"),
      "write pcap/pcapng to PATH (PATH.part until complete), or pcap to stdout with '-'. "
      "Never overwrites: if PATH exists, writes PATH with a number (x.1.pcap). Recovers the "
      ".part files a dead run left. Without -w: capture and count only")(
      "format", po::value(&r.format)->value_name("pcap|pcapng"),
      "file format (default pcap, ns timestamps)")(
      "split", po::value(&r.split)->value_name("none|source"),
      "source: one ring of files per mirror source, named PATH-SOURCE... (needs --decap); "
      "none (default): one ring, sources mixed")(
      "snaplen,s", po::value(&r.snaplen)->value_name("BYTES"),
      "bytes kept per packet (default 262144; 0 = default)")(
      "count,c", po::value(&r.count)->value_name("N"), "stop after N packets")(
      "duration", po::value(&r.duration)->value_name("SEC"),
      "stop after SEC seconds (decimals allowed)")(
      "file-size,C", po::value(&r.rotate_mb)->value_name("MB"),
      "start a new file once one reaches MB x 1,000,000 bytes")(
      "rotate-seconds,G", po::value(&r.rotate_s)->value_name("SEC"),
      "start a new file every SEC seconds, aligned to wall-clock multiples of SEC")(
      "file-count,W", po::value(&r.max_files)->value_name("N"),
      "keep only the N newest files of the base, earlier runs' included (oldest deleted, "
      "also when the disk is full)")(
      "filter,f", po::value(&r.filter)->value_name("EXPR"),
      "tcpdump filter expression, applied to the inner frames after decapsulation; the words "
      "after the options work too, as in tcpdump (see README: Filters)");
  po::options_description cap("Capture");
  cap.add_options()("mode", po::value(&r.mode)->value_name("mirror|span|local"),
                    "what to take (see Modes; default mirror)")(
      "decap", po::value(&r.decap)->value_name("auto|none|vxlan|geneve|erspan|gre"),
      "strip mirror tunnels and write the inner frames (default: auto in mirror mode, none in "
      "span mode); naming one type strips only that type")(
      "decap-errors", po::value(&r.decap_errors)->value_name("keep|drop"),
      "frames whose mirror tunnel is broken: counted, then dropped (default) or written whole")(
      "decap-depth", po::value(&r.decap_depth)->value_name("N"),
      "tunnel levels stripped, 1-8 (default 1: the mirror's own tunnel; customer tunnels "
      "inside, such as a Kubernetes VXLAN overlay, stay whole). VXLAN inside GENEVE (AWS "
      "Gateway Load Balancer) counts as one level")(
      "bare-ip-link", po::value(&r.bare_ip_link)->value_name("ethernet|raw"),
      "inner frames that are bare IP packets (GENEVE L3, GRE with IP): ethernet (default) "
      "writes them behind a synthesized Ethernet header, so every file has one link type and "
      "tcpdump reads it; raw gives them LINKTYPE_RAW interfaces in pcapng (Wireshark reads "
      "those, tcpdump does not)")("vxlan-port", po::value(&r.vxlan_ports)->value_name("PORT"),
                                  "UDP port carrying VXLAN, repeatable (default 4789)")(
      "geneve-port", po::value(&r.geneve_port)->value_name("PORT"),
      "UDP port carrying GENEVE (default 6081)")("queues",
                                                 po::value(&r.queues)->value_name("all|LIST"),
                                                 "rx queues to capture, e.g. 0,2-3 (default all)")(
      "xdp-mode", po::value(&r.xdp_mode)->value_name("auto|native|skb"),
      "XDP attach mode: auto tries native, then skb")("listen",
                                                      po::value(&r.listen)->value_name("ADDR:PORT"),
                                                      "stream to clients (not available yet)")(
      "metrics", po::value(&r.metrics)->value_name("ADDR:PORT"), "serve Prometheus /metrics here")(
      "config", po::value(&r.config)->value_name("FILE"),
      "read options from FILE: 'name = value' lines, long names; the command line wins")(
      "quiet,q", po::bool_switch(&r.quiet), "only errors and the final stats line")(
      "verbose,v", po::bool_switch(&r.verbose), "more detail (per-queue socket setup)")(
      "stats-json", po::bool_switch(&r.stats_json),
      "after the stats line, print the same counts and the XDP program's as one JSON line "
      "to stderr (for scripts)");
  po::options_description tune("Tuning (see README)");
  tune.add_options()("batch-size", po::value(&r.batch)->value_name("N"),
                     "packets per worker batch, 1-256 (default 64)")(
      "rx-ring", po::value(&r.rx_ring)->value_name("N"),
      "AF_XDP RX ring descriptors, power of two (default 4096)")(
      "fill-ring", po::value(&r.fill_ring)->value_name("N"),
      "fill ring = UMEM frames per queue, power of two >= 2 x rx-ring (default 2 x rx-ring)")(
      "frame-size", po::value(&r.frame_size)->value_name("auto|2048|4096"),
      "UMEM frame size; auto (default): 2048 when the interface MTU fits in one, else 4096")(
      "busy-poll", po::bool_switch(&r.busy_poll), "prefer busy polling on the sockets")(
      "no-pin", po::bool_switch(&r.no_pin), "do not pin worker threads to cores")(
      "rt-priority", po::value(&r.rt_priority)->value_name("N"),
      "run the workers as SCHED_FIFO threads of priority 1-99 (default 0: off); see README "
      "Tuning before using it on a host that runs other work");
  po::options_description all;
  all.add(io).add(cap).add(tune);
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
    return make_error("--config '" + path + "': is a directory, not a file");
  std::ifstream in(path);
  if (!in) return make_error("--config '" + path + "': cannot read: " + std::strerror(errno));
  ConfigOrigins origins;
  std::string text;
  for (int n = 1; std::getline(in, text); n++) {
    const std::string line = trim(text.substr(0, text.find('#')));  // '#' starts a comment
    if (line.empty()) continue;
    const std::string at = path + " line " + std::to_string(n) + ": ";
    const auto eq = line.find('=');
    if (line.front() == '[' || eq == std::string::npos)
      return make_error(at + "expected 'name = value' (long option names), got '" + line + "'");
    const std::string name = trim(line.substr(0, eq));
    if (name == "config" || !desc.find_nothrow(name, false))
      return make_error(at + "unknown option '" + name + "'");
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

}  // namespace

uint32_t interface_rx_queues(const std::string& ifname) {
  namespace fs = std::filesystem;
  std::error_code ec;
  uint32_t n = 0;
  for (auto& e : fs::directory_iterator("/sys/class/net/" + ifname + "/queues", ec))
    if (e.path().filename().string().rfind("rx-", 0) == 0) n++;
  return n ? n : 1;
}

uint32_t interface_mtu(const std::string& ifname) {
  std::ifstream in("/sys/class/net/" + ifname + "/mtu");
  uint32_t mtu = 0;
  in >> mtu;
  return mtu ? mtu : 1500;
}

uint32_t frame_size_for_mtu(uint32_t mtu) {
  return mtu + kFrameOverhead <= 2048 - kXdpHeadroom ? 2048 : 4096;
}

Result<std::vector<uint32_t>> parse_queue_list(const std::string& spec, uint32_t n_queues) {
  std::vector<uint32_t> out;
  if (spec == "all") {
    for (uint32_t q = 0; q < n_queues; q++) out.push_back(q);
    return out;
  }
  std::stringstream ss(spec);
  std::string item;
  const uint32_t max = std::min<uint32_t>(n_queues, XCAP_MAX_QUEUES) - 1;
  while (std::getline(ss, item, ',')) {
    auto dash = item.find('-');
    auto lo = parse_uint<uint32_t>("--queues", item.substr(0, dash), 0, max);
    if (!lo) return lo.error();
    uint32_t hi = *lo;
    if (dash != std::string::npos) {
      auto h = parse_uint<uint32_t>("--queues", item.substr(dash + 1), *lo, max);
      if (!h) return h.error();
      hi = *h;
    }
    for (uint32_t q = *lo; q <= hi; q++)
      if (std::find(out.begin(), out.end(), q) == out.end()) out.push_back(q);
  }
  if (out.empty()) return make_error("--queues '" + spec + "': no queue given");
  return out;
}

ParsedCapture parse_capture_args(const std::vector<std::string>& args) {
  ParsedCapture res;
  Raw r;
  po::variables_map vm, given;  // given: the command line alone
  ConfigOrigins origins;
  po::options_description desc = describe(r);
  auto fail = [&](const std::string& msg) {
    res.options.reset();
    res.message =
        msg + config_origin(msg, r.config, origins, given, desc) + "\n(see xcap capture --help)";
    res.exit_code = 2;
    return res;
  };
  po::options_description hidden;
  hidden.add_options()("expression", po::value(&r.trailing)->multitoken());
  po::options_description cmdline;
  cmdline.add(desc).add(hidden);
  po::positional_options_description pos;
  pos.add("expression", -1);
  try {
    auto parsed = po::command_line_parser(args).options(cmdline).positional(pos).run();
    po::store(parsed, given);
    po::store(parsed, vm);
    po::notify(vm);
    if (!r.config.empty()) {
      auto checked = check_config_file(r.config, desc);
      if (!checked) return fail(checked.error().message);
      origins = std::move(checked.value());
      std::ifstream in(r.config);
      po::store(po::parse_config_file(in, desc), vm);  // the command line was stored first: it wins
      po::notify(vm);
    }
  } catch (const po::error& e) {
    return fail(r.config.empty() ? e.what()
                                 : std::string(e.what()) + " (in --config " + r.config + ")");
  }
  if (r.help) {
    std::ostringstream os;
    os << kUsage << desc;
    res.message = os.str();
    return res;
  }

  CaptureOptions o;
  // tcpdump style: -f EXPR, or the words after the options, joined with spaces.
  if (!r.trailing.empty() && !r.filter.empty())
    return fail("give the filter once: -f '" + r.filter + "' and trailing words '" +
                r.trailing.front() + " ...' were both given");
  std::string expr = r.filter;
  for (const auto& w : r.trailing) expr += (expr.empty() ? "" : " ") + w;
  const bool filter_given = vm.count("filter") || !r.trailing.empty();
  if (!r.read_file.empty())
    return fail("-r: replaying a file is not available in this version yet");
  if (!r.listen.empty())
    return fail("--listen: streaming to clients is not available in this version yet");
  if (r.iface.empty()) return fail("-i IFACE is required");
  o.iface = r.iface;
  o.ifindex = int(if_nametoindex(r.iface.c_str()));
  if (o.ifindex == 0) return fail("-i: interface '" + r.iface + "' not found");
  o.iface_rx_queues = interface_rx_queues(r.iface);

  if (r.mode == "mirror")
    o.mode = XCAP_MODE_MIRROR;
  else if (r.mode == "span")
    o.mode = XCAP_MODE_SPAN;
  else if (r.mode == "local")
    return fail(
        "--mode local: copy-and-pass capture is not available in this version yet; use mirror or "
        "span");
  else
    return fail("--mode '" + r.mode + "': expected mirror, span or local");

  if (r.decap.empty()) r.decap = o.mode == XCAP_MODE_MIRROR ? "auto" : "none";
  if (auto d = parse_decap_mode(r.decap))
    o.decap = *d;
  else
    return fail("--decap '" + r.decap + "': expected auto, none, vxlan, geneve, erspan or gre");
  if (r.decap_errors != "keep" && r.decap_errors != "drop")
    return fail("--decap-errors '" + r.decap_errors + "': expected keep or drop");
  o.keep_decap_errors = r.decap_errors == "keep";
  auto depth = parse_uint<unsigned>("--decap-depth", r.decap_depth, 1, 8);
  if (!depth) return fail(depth.error().message);
  o.decap_depth = *depth;

  if (auto m = bpf_loader::parse_xdp_mode(r.xdp_mode))
    o.xdp_mode = *m;
  else
    return fail("--xdp-mode '" + r.xdp_mode + "': expected auto, native or skb");

  if (r.format == "pcap")
    o.format = sink::FileFormat::Pcap;
  else if (r.format == "pcapng")
    o.format = sink::FileFormat::Pcapng;
  else
    return fail("--format '" + r.format + "': expected pcap or pcapng");
  if (r.bare_ip_link != "ethernet" && r.bare_ip_link != "raw")
    return fail("--bare-ip-link '" + r.bare_ip_link + "': expected ethernet or raw");
  o.raw_ip_link = r.bare_ip_link == "raw";
  if (o.raw_ip_link && o.format != sink::FileFormat::Pcapng)
    return fail("--bare-ip-link raw needs --format pcapng: a pcap file has one link type");

  auto queues = parse_queue_list(r.queues, o.iface_rx_queues);
  if (!queues)
    return fail(queues.error().message + " (" + r.iface + " has " +
                std::to_string(o.iface_rx_queues) + " rx queues)");
  o.queues = *queues;

  auto snap = parse_uint<uint32_t>("-s", r.snaplen, 0, 262144);
  if (!snap) return fail(snap.error().message);
  o.snaplen = *snap ? *snap : 262144;
  if (o.snaplen < 14)
    return fail("-s " + r.snaplen + ": too small to hold an Ethernet header (minimum 14)");
  if (filter_given) {
    auto f = FilterSet::compile(expr, o.snaplen);
    if (!f) return fail("-f: " + f.error().message);
    o.filter = std::make_shared<const FilterSet>(std::move(f.value()));
  }
  auto count = parse_uint<uint64_t>("-c", r.count, 0, UINT64_MAX);
  if (!count) return fail(count.error().message);
  o.count = *count;
  try {
    size_t used = 0;
    o.duration_s = std::stod(r.duration, &used);
    if (used != r.duration.size() || !std::isfinite(o.duration_s) || o.duration_s < 0)
      throw std::invalid_argument("");
  } catch (...) {
    return fail("--duration '" + r.duration + "': expected seconds, e.g. 10 or 0.5");
  }
  auto cmb = parse_uint<uint64_t>("-C", r.rotate_mb, 0, 1'000'000);
  auto gs = parse_uint<uint32_t>("-G", r.rotate_s, 0, 31 * 86400);
  auto wn = parse_uint<uint32_t>("-W", r.max_files, 0, 1'000'000);
  if (!cmb) return fail(cmb.error().message);
  if (!gs) return fail(gs.error().message);
  if (!wn) return fail(wn.error().message);
  // 0 would mean a file per block (-C), a file per instant (-G) or no file kept (-W): leave
  // the flag out for no limit.
  if (vm.count("file-size") && *cmb == 0)
    return fail("-C 0: a file size is at least 1 (MB); leave -C out for no size limit");
  if (vm.count("rotate-seconds") && *gs == 0)
    return fail("-G 0: a rotation period is at least 1 second; leave -G out for no period");
  if (vm.count("file-count") && *wn == 0)
    return fail("-W 0: keep at least 1 file; leave -W out to keep every file");
  o.rotate_mb = *cmb, o.rotate_seconds = *gs, o.max_files = *wn;
  o.write_path = r.write_path;
  bool rotating = o.rotate_mb || o.rotate_seconds || o.max_files;
  if (rotating && o.write_path.empty()) return fail("-C, -G and -W need -w PATH");
  if (rotating && o.write_path == "-") return fail("-C, -G and -W cannot rotate stdout (-w -)");
  if (o.max_files && !o.rotate_mb && !o.rotate_seconds)
    return fail("-W needs -C or -G: it limits how many rotated files are kept");
  if (r.split != "none" && r.split != "source")
    return fail("--split '" + r.split + "': expected none or source");
  o.split_by_source = r.split == "source";
  if (o.split_by_source && o.write_path == "-")
    return fail("--split source writes one file ring per source; it cannot write to stdout");
  if (o.split_by_source && o.write_path.empty()) return fail("--split source needs -w PATH");
  if (o.split_by_source && o.decap == DecapConfig::Mode::None)
    return fail("--split source needs decapsulation (--decap)");

  o.vxlan_ports.clear();
  for (const auto& p : r.vxlan_ports) {
    auto v = parse_uint<uint16_t>("--vxlan-port", p, 1, 65535);
    if (!v) return fail(v.error().message);
    o.vxlan_ports.push_back(*v);
  }
  if (o.vxlan_ports.empty()) o.vxlan_ports.push_back(XCAP_VXLAN_PORT);
  if (o.vxlan_ports.size() > XCAP_MAX_VXLAN_PORTS)
    return fail("--vxlan-port: at most " + std::to_string(XCAP_MAX_VXLAN_PORTS) + " ports");
  auto gp = parse_uint<uint16_t>("--geneve-port", r.geneve_port, 1, 65535);
  if (!gp) return fail(gp.error().message);
  o.geneve_port = *gp;

  if (!r.metrics.empty()) {
    auto m = metrics::parse_listen_address(r.metrics, "--metrics");
    if (!m) return fail(m.error().message);
    o.metrics_addr = *m;
  }

  auto batch = parse_uint<unsigned>("--batch-size", r.batch, 1, 256);
  if (!batch) return fail(batch.error().message);
  o.batch_size = *batch;
  auto rx = parse_uint<uint32_t>("--rx-ring", r.rx_ring, 64, 1 << 16);
  if (!rx || !power_of_two(*rx))
    return fail("--rx-ring '" + r.rx_ring + "': expected a power of two from 64 to 65536");
  o.rx_ring = *rx;
  if (r.fill_ring == "0")
    o.fill_ring = 2 * o.rx_ring;
  else {
    auto fr = parse_uint<uint32_t>("--fill-ring", r.fill_ring, 2 * o.rx_ring, 1 << 18);
    if (!fr || !power_of_two(*fr))
      return fail("--fill-ring '" + r.fill_ring +
                  "': expected a power of two, at least twice --rx-ring (" +
                  std::to_string(2 * o.rx_ring) + ")");
    o.fill_ring = *fr;
  }
  if (r.frame_size == "auto")
    o.frame_size = frame_size_for_mtu(interface_mtu(o.iface));
  else if (r.frame_size == "2048" || r.frame_size == "4096")
    o.frame_size = r.frame_size == "2048" ? 2048 : 4096;
  else
    return fail("--frame-size '" + r.frame_size + "': expected auto, 2048 or 4096");
  o.busy_poll = r.busy_poll;
  o.pin_workers = !r.no_pin;
  auto rt = parse_uint<int>("--rt-priority", r.rt_priority, 0, 99);
  if (!rt) return fail(rt.error().message);
  o.rt_priority = *rt;
  o.verbosity = r.quiet ? 0 : r.verbose ? 2 : 1;
  o.stats_json = r.stats_json;
  res.options = std::move(o);
  return res;
}

}  // namespace xcap::cli
