#include "cli/archive_command.h"

#include <unistd.h>
#include <algorithm>
#include <boost/program_options.hpp>
#include <filesystem>

#include "archive/archiver.h"
#include "cli/archive_options.h"
#include "cli/archive_read_command.h"
#include "cli/option_parsing.h"
#include "cli/parse_outcome.h"
#include "common/log.h"

namespace xcap::cli {
namespace {

const char* kUsage =
    "Usage: xcap archive push DIR --archive s3://BUCKET/PREFIX [options]\n"
    "       xcap archive ls s3://BUCKET/PREFIX [--from T] [--to T] ...   (ls --help)\n"
    "       xcap archive get s3://BUCKET/PREFIX --from T [--to T] [-f EXPR] -w PATH   (get "
    "--help)\n"
    "\n"
    "Uploads every completed capture file (.pcap, .pcapng) of DIR, as xcap capture --archive\n"
    "does with its ring: compressed, named PREFIX/<sink-id>/all/<YYYY>/<MM>/<DD>/\n"
    "<first>_<last>_<seq>.<ext>[.zst|.gz] from the file's own packets (seq from a ring file's\n"
    "name, else 0), skipped when already in the bucket, deleted after upload unless\n"
    "--keep-local. Waits until every file is up, or --archive-drain-timeout.\n"
    "\n";

std::vector<std::string> capture_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (!e.is_regular_file() || name.starts_with(".")) continue;
    if (name.ends_with(".pcap") || name.ends_with(".pcapng")) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

int push(const archive::ArchiveConfig& cfg, const std::string& dir, double wait_s) {
  if (!std::filesystem::is_directory(dir)) {
    fprintf(stderr, "xcap archive push: %s: not a directory\n", dir.c_str());
    return 2;
  }
  if (auto r = archive::check_store(cfg); !r) {
    fprintf(stderr, "xcap archive push: %s\n", r.error().message.c_str());
    return exit_code(r.error());
  }
  auto a = archive::Archiver::create(cfg, "");
  size_t n = 0;
  for (const std::string& f : capture_files(dir)) n += a->add_file(f);
  log_info("archive push: %zu file(s) of %s", n, dir.c_str());
  a->start();
  return a->drain_and_stop(wait_s) ? 0 : 1;
}

}  // namespace

int archive_command(const std::vector<std::string>& args) {
  if (!args.empty() && args[0] == "ls") return archive_ls({args.begin() + 1, args.end()});
  if (!args.empty() && args[0] == "get")
    return archive_get({args.begin() + 1, args.end()}, isatty(STDOUT_FILENO) == 1);
  namespace po = boost::program_options;
  RawArchive raw;
  bool help = false, verbose = false;
  std::vector<std::string> words;
  po::options_description desc = describe_archive(raw);
  add(desc, "help,h", po::bool_switch(&help), "show this help");
  add(desc, "verbose,v", po::bool_switch(&verbose), "log every upload");
  po::variables_map vm;
  try {
    store_command_line(args, desc, "words", &words, {&vm});
    po::notify(vm);
  } catch (const po::error& e) {
    return print_parse_outcome("xcap archive", std::string(e.what()) + "\n" + kUsage, 2);
  }
  if (help) return print_parse_outcome("xcap archive", help_text(kUsage, desc), 0);
  if (words.size() != 2 || words[0] != "push")
    return print_parse_outcome(
        "xcap archive",
        "expected: push DIR, ls s3://BUCKET/PREFIX or get s3://BUCKET/PREFIX\n" +
            std::string(kUsage),
        2);
  auto cfg = parse_archive(raw, true);
  if (cfg && !cfg->uploads()) cfg = invalid_input("--archive s3://BUCKET/PREFIX is required");
  if (!cfg) return print_parse_outcome("xcap archive push", cfg.error().message, 2);
  if (verbose) set_log_level(LogLevel::Debug);
  return push(*cfg, words[1], vm.count("archive-drain-timeout") ? cfg->drain_timeout_s : 1e9);
}

}  // namespace xcap::cli
