#include "options.h"

#include <arpa/inet.h>
#include <algorithm>

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

namespace po = boost::program_options;

namespace xcap::gen {
namespace {

constexpr int64_t kMinSize = 60, kMaxSize = 3400;

const char* kUsage =
    R"(xcap-gen: sends generated or replayed Ethernet frames out of an interface at a high rate,
through XDP live frames (bpf_prog_test_run with BPF_F_TEST_XDP_LIVE_FRAMES running a program
that returns XDP_TX). On a veth pair the frames leave IFACE and arrive on its peer, which
takes them only while it runs NAPI: an XDP program attached (a running xcap capture has one)
or GRO on (ethtool -K PEER gro on). Otherwise the peer drops them unseen; xcap-gen then
warns at the end (it compares with the veth's own counters).
Nothing is pinned, so it runs fine under `ip netns exec` (where /sys/fs/bpf is missing).

Usage: xcap-gen -i IFACE [--template udp|vxlan|tcp] [--size BYTES] [--count N] [--rate PPS]
                [--seq] [--src IP --dst IP] [--sport P --dport P] [--vni N] ...
       xcap-gen -i IFACE --pcap FILE [--loop N] [--count N] [--rate PPS]

)";

const char* kDetails = R"(
Templates (all addresses and ports settable; sizes include the Ethernet header, not the FCS):
  udp    Ethernet / IPv4 (or IPv6) / UDP --sport -> --dport, payload filling --size.
  vxlan  outer IPv4 (or IPv6) / UDP 50000 -> 4789 (checksum 0, as RFC 7348 asks) / VXLAN --vni
         / inner Ethernet / IP 198.18.1.1 -> 198.18.1.2 (2001:db8:1::1 -> ::2) / UDP
         --sport -> --dport, payload filling --size (92 bytes at least with IPv4).
  tcp    Ethernet / IP / TCP (PSH|ACK) --sport -> --dport, payload filling --size.

Addresses: generated frames use only the lab's test ranges 198.18.0.0/15 and 2001:db8::/32;
--any-address lifts that. --pcap frames are sent exactly as they are in the file.

Sequence numbers (--seq, templates only): every frame carries a 32-bit big-endian counter,
0 on the first frame of the run, in the last 4 bytes of the frame (the end of the innermost
UDP/TCP payload), i.e. at byte offset SIZE-4 from the start of the Ethernet header. The
UDP/TCP checksum covering it is kept valid. A receiver finds loss and duplicates from it.

--pcap: frames (Ethernet link type, pcap or pcapng) are sent in file order and intact: they
are loaded into a BPF map (64 MiB at a time) and the program rebuilds each live frame from it.
Frames shorter than 14 or longer than 3400 bytes are skipped and counted. --count defaults to
the whole file times --loop there.

Speed: in a named network namespace (ip netns exec) xcap-gen also attaches its program to that
namespace's lo while it runs (generic XDP, passes everything, gone when xcap-gen exits). That
keeps the program in the kernel's XDP dispatcher; otherwise every kernel call costs ~25 ms of
dispatcher updates and xcap-gen sends larger chunks to keep --rate. With --rate, frames leave
in bursts of about a millisecond's worth (more when kernel calls are slow).

Output: a progress line every second on stderr (unless --quiet); at the end one line on
stdout:  xcap-gen: sent N frames in S.sss s (R.RRR Mpps, G.GGG Gbit/s)[, failed N][, skipped N]
"failed" counts frames whose kernel call failed (or, with --pcap, that could not be rebuilt in
the live frame); Gbit/s counts Ethernet bytes without preamble and FCS. SIGINT or SIGTERM
stops early, with the same line.
Exit status: 0 done, 1 runtime error (interface missing, BPF load, failed calls), 2 bad flag.

Examples (tools/lab up makes namespace xcaplab-gen with xcaplabg, peer xcaplabc in the root):
  ip netns exec xcaplab-gen xcap-gen -i xcaplabg --count 1000000
  ip netns exec xcaplab-gen xcap-gen -i xcaplabg --rate 10000 --count 20000 --seq
  ip netns exec xcaplab-gen xcap-gen -i xcaplabg --template vxlan --vni 42 --size 1500 -c 0
  ip netns exec xcaplab-gen xcap-gen -i xcaplabg --src 2001:db8::1 --dst 2001:db8::2 --seq
  ip netns exec xcaplab-gen xcap-gen -i xcaplabg --pcap trace.pcap --loop 10 --rate 100000
)";

bool in_test_range(const std::string& addr) {
  uint8_t b[16];
  if (inet_pton(AF_INET, addr.c_str(), b) == 1) return b[0] == 198 && (b[1] & 0xfe) == 18;
  if (inet_pton(AF_INET6, addr.c_str(), b) == 1)
    return b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8;
  return false;
}

Result<void> check_address(const char* flag, const std::string& addr, bool any) {
  uint8_t b[16];
  if (inet_pton(AF_INET, addr.c_str(), b) != 1 && inet_pton(AF_INET6, addr.c_str(), b) != 1)
    return invalid_input(std::string(flag) + " " + addr + " is not an IPv4 or IPv6 address");
  if (!any && !in_test_range(addr))
    return invalid_input(std::string(flag) + " " + addr +
                         " is outside the test ranges 198.18.0.0/15 and 2001:db8::/32"
                         " (--any-address allows it)");
  return ok();
}

Result<MacAddr> parse_mac(const char* flag, const std::string& text) {
  MacAddr m;
  int used = 0;
  if (sscanf(text.c_str(), "%2hhx:%2hhx:%2hhx:%2hhx:%2hhx:%2hhx%n", &m[0], &m[1], &m[2], &m[3],
             &m[4], &m[5], &used) != 6 ||
      size_t(used) != text.size())
    return invalid_input(std::string(flag) + " " + text +
                         " is not a MAC address (aa:bb:cc:dd:ee:ff)");
  return m;
}

struct Range {
  const char* name;
  int64_t lo, hi;
};

// Checks the numeric flags in the order given; the first out of range is the error.
Result<void> check_ranges(const po::variables_map& vm, std::initializer_list<Range> ranges) {
  for (const Range& r : ranges) {
    const int64_t v = vm[r.name].as<int64_t>();
    if (v < r.lo || v > r.hi)
      return invalid_input("--" + std::string(r.name) + " " + std::to_string(v) +
                           " is out of range (" + std::to_string(r.lo) + ".." +
                           std::to_string(r.hi) + ")");
  }
  return ok();
}

int64_t num(const po::variables_map& vm, const char* name) {
  return vm[name].as<int64_t>();
}

Result<GenOptions> to_options(const po::variables_map& vm) {
  GenOptions o;
  if (!vm.count("interface")) return invalid_input("-i/--interface is required");
  o.iface = vm["interface"].as<std::string>();
  for (const char* f :
       {"template", "size", "seq", "src", "dst", "sport", "dport", "vni", "src-mac", "dst-mac"}) {
    if (vm.count(f) && !vm[f].defaulted() && vm.count("pcap"))
      return invalid_input("--" + std::string(f) +
                           " does not apply to --pcap (its frames are sent as they are)");
  }
  if (vm.count("pcap")) o.pcap = vm["pcap"].as<std::string>();
  if (!vm["loop"].defaulted() && o.pcap.empty()) return invalid_input("--loop needs --pcap");

  if (auto r = check_ranges(vm, {{"count", 0, INT64_MAX},
                                 {"rate", 0, INT64_MAX},
                                 {"loop", 0, INT64_MAX},
                                 {"batch-size", 0, 256},
                                 {"threads", 1, 256},
                                 {"first-cpu", 0, 4095}});
      !r)
    return r.error();
  o.count = uint64_t(num(vm, "count"));
  if (!o.pcap.empty() && vm["count"].defaulted()) o.count = 0;  // whole file, --loop times
  o.rate = uint64_t(num(vm, "rate"));
  o.loop = uint64_t(num(vm, "loop"));
  o.batch_size = uint32_t(num(vm, "batch-size"));
  o.threads = unsigned(num(vm, "threads"));
  o.first_cpu = unsigned(num(vm, "first-cpu"));
  if (!vm["first-cpu"].defaulted() && o.threads < 2)
    return invalid_input("--first-cpu places --threads senders (use taskset for one)");
  if (o.threads > 1 && vm.count("seq"))
    return invalid_input("--seq numbers one sender's frames: not with --threads");
  o.quiet = vm.count("quiet") > 0;

  TemplateSpec& s = o.spec;
  o.template_name = vm["template"].as<std::string>();
  if (o.template_name == "udp")
    s.kind = TemplateKind::Udp;
  else if (o.template_name == "vxlan")
    s.kind = TemplateKind::Vxlan;
  else if (o.template_name == "tcp")
    s.kind = TemplateKind::Tcp;
  else
    return invalid_input("--template " + o.template_name + " is not one of udp, vxlan, tcp");
  if (!vm["vni"].defaulted() && s.kind != TemplateKind::Vxlan)
    return invalid_input("--vni applies to --template vxlan only");
  if (auto r = check_ranges(vm, {{"size", kMinSize, kMaxSize},
                                 {"vni", 0, 0xffffff},
                                 {"sport", 0, 65535},
                                 {"dport", 0, 65535}});
      !r)
    return r.error();
  s.size = size_t(num(vm, "size"));
  s.vni = uint32_t(num(vm, "vni"));
  s.sport = uint16_t(num(vm, "sport"));
  s.dport = uint16_t(num(vm, "dport"));
  s.seq = vm.count("seq") > 0;
  bool any = vm.count("any-address") > 0;
  s.src = vm["src"].as<std::string>();
  s.dst = vm["dst"].as<std::string>();
  if (auto r = check_address("--src", s.src, any); !r) return r.error();
  if (auto r = check_address("--dst", s.dst, any); !r) return r.error();
  if ((s.src.find(':') == std::string::npos) != (s.dst.find(':') == std::string::npos))
    return invalid_input("--src " + s.src + " and --dst " + s.dst + " are not the same IP family");
  if (vm.count("src-mac")) {
    auto m = parse_mac("--src-mac", vm["src-mac"].as<std::string>());
    if (!m) return m.error();
    s.src_mac = *m;
  }
  if (vm.count("dst-mac")) {
    auto m = parse_mac("--dst-mac", vm["dst-mac"].as<std::string>());
    if (!m) return m.error();
    s.dst_mac = *m;
  }
  // The 64-byte default is the udp template's; other templates get their smallest size
  // instead of an error, and only an explicit --size that is too small is refused.
  if (vm["size"].defaulted()) s.size = std::max(s.size, template_min_size(s));
  if (s.size < template_min_size(s))
    return invalid_input("--size " + std::to_string(s.size) + " is too small for --template " +
                         o.template_name + (s.seq ? " with --seq" : "") + " (at least " +
                         std::to_string(template_min_size(s)) + ")");
  return o;
}

}  // namespace

ParseOutcome parse_options(int argc, char** argv) {
  po::options_description desc("Options");
  // clang-format off
  desc.add_options()
    ("help,h", "show this help")
    ("interface,i", po::value<std::string>()->value_name("IFACE"),
     "interface to send out of (in the current network namespace; required)")
    ("pcap", po::value<std::string>()->value_name("FILE"),
     "replay the frames of this pcap/pcapng file instead of a template")
    ("template", po::value<std::string>()->default_value("udp")->value_name("udp|vxlan|tcp"),
     "frame to generate")
    ("size", po::value<int64_t>()->default_value(64)->value_name("BYTES"),
     "frame size incl. the Ethernet header, excl. FCS (60..3400; default 64, or the template's minimum if larger)")
    ("count,c", po::value<int64_t>()->default_value(1000)->value_name("N"),
     "frames to send; 0 = until SIGINT (with --pcap: default the whole file x --loop)")
    ("rate", po::value<int64_t>()->default_value(0)->value_name("PPS"),
     "frames per second on average; 0 = as fast as possible")
    ("loop", po::value<int64_t>()->default_value(1)->value_name("N"),
     "--pcap: send the file N times; 0 = until --count or SIGINT")
    ("seq", "stamp a 32-bit big-endian sequence number in the last 4 bytes of each frame")
    ("src", po::value<std::string>()->default_value("198.18.0.1")->value_name("IP"),
     "source address (IPv4 or IPv6)")
    ("dst", po::value<std::string>()->default_value("198.18.0.2")->value_name("IP"),
     "destination address, same family as --src")
    ("sport", po::value<int64_t>()->default_value(1234)->value_name("PORT"),
     "UDP/TCP source port (vxlan: of the inner flow)")
    ("dport", po::value<int64_t>()->default_value(5678)->value_name("PORT"),
     "UDP/TCP destination port (vxlan: of the inner flow)")
    ("vni", po::value<int64_t>()->default_value(100)->value_name("N"),
     "VXLAN network identifier (0..16777215; --template vxlan)")
    ("src-mac", po::value<std::string>()->value_name("MAC"),
     "source MAC (default 02:00:00:00:00:01)")
    ("dst-mac", po::value<std::string>()->value_name("MAC"),
     "destination MAC (default 02:00:00:00:00:02)")
    ("any-address", "allow addresses outside 198.18.0.0/15 and 2001:db8::/32")
    ("batch-size", po::value<int64_t>()->default_value(0)->value_name("N"),
     "frames per kernel batch (1..256; 0 = kernel default, 64)")
    ("threads", po::value<int64_t>()->default_value(1)->value_name("N"),
     "senders, each on its own core (thread t on CPU first-cpu + t): a multi-queue veth "
     "delivers what CPU c sends to rx queue c % queues; --count and --rate are shared out")
    ("first-cpu", po::value<int64_t>()->default_value(0)->value_name("K"),
     "--threads: the first sender's core (the others follow, wrapping around)")
    ("quiet,q", "no progress lines; only the summary");
  // clang-format on

  ParseOutcome out;
  po::variables_map vm;
  try {
    po::positional_options_description no_positionals;  // a stray word is an error, not ignored
    po::store(po::command_line_parser(argc, argv).options(desc).positional(no_positionals).run(),
              vm);
    po::notify(vm);
    if (vm.count("help")) {
      std::cout << kUsage << desc << kDetails;
      return out;
    }
    Result<GenOptions> o = to_options(vm);
    if (!o) {
      fprintf(stderr, "xcap-gen: %s (see --help)\n", o.error().message.c_str());
      out.exit_code = exit_code(o.error());
      return out;
    }
    out.options = std::move(o.value());
  } catch (const po::error& e) {  // boost reports a bad command line by throwing
    fprintf(stderr, "xcap-gen: %s (see --help)\n", e.what());
    out.exit_code = 2;
  }
  return out;
}

}  // namespace xcap::gen
