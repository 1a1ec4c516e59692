// xcap: one binary, subcommands. Each subcommand lives in src/cli/.
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli/archive_command.h"
#include "cli/capture_command.h"
#include "cli/serve_command.h"
#include "cli/stream_command.h"

namespace {
const char* kUsage =
    "Usage: xcap <command> [options]\n"
    "\n"
    "Commands:\n"
    "  capture   capture from an interface with XDP + AF_XDP into pcap/pcapng files (and,\n"
    "            with --listen, stream to HTTP clients)\n"
    "  serve     the capture agent: stream to HTTP clients, capturing only while one is\n"
    "            subscribed\n"
    "  stream    follow capturing xcaps over HTTP and merge their packets into one pcapng\n"
    "  archive   the archive in S3-compatible storage: push DIR uploads a directory's capture\n"
    "            files; ls lists what every sink stored; get merges a time window into one\n"
    "            capture\n"
    "\n"
    "  xcap <command> --help    options of a command\n"
    "  xcap --version\n";
}

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  if (args[0] == "--version") {
    printf("xcap %s\n", XCAP_VERSION);
    return 0;
  }
  std::string cmd = args[0];
  args.erase(args.begin());
  if (cmd == "capture") return xcap::cli::capture_command(args);
  if (cmd == "serve") return xcap::cli::serve_command(args);
  if (cmd == "stream") return xcap::cli::stream_command(args);
  if (cmd == "archive") return xcap::cli::archive_command(args);
  fprintf(stderr, "xcap: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}
