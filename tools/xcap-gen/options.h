// Command line of xcap-gen: parsed and checked here, so main() only runs what it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "templates.h"

namespace xcap::gen {

struct GenOptions {
  std::string iface;
  std::string pcap;   // empty: send the template
  TemplateSpec spec;  // --template, --size, --seq, addresses, ports, --vni
  std::string template_name = "udp";
  uint64_t count = 1000;    // 0 = until SIGINT; with --pcap the default is the whole file
  uint64_t rate = 0;        // frames per second, 0 = as fast as possible
  uint64_t loop = 1;        // --pcap passes, 0 = until --count or SIGINT
  uint32_t batch_size = 0;  // 0 = kernel default (64)
  unsigned threads = 1;     // senders, thread t pinned to CPU (first_cpu + t) % cores
  unsigned first_cpu = 0;
  bool quiet = false;
};

// Result of parsing: options to run, or an exit code with the message already printed
// (0 after --help, 2 after a bad flag).
struct ParseOutcome {
  std::optional<GenOptions> options;
  int exit_code = 0;
};

ParseOutcome parse_options(int argc, char** argv);

}  // namespace xcap::gen
