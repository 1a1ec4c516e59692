#include "cli/archive_read_command.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/program_options.hpp>
#include <cinttypes>
#include <csignal>
#include <cstdlib>
#include <set>

#include "archive/archive_query.h"
#include "archive/credentials.h"
#include "archive/store_reader.h"
#include "archive/time_arg.h"
#include "archive/window_merge.h"
#include "cli/archive_options.h"
#include "cli/capture_options.h"
#include "cli/option_parsing.h"
#include "cli/parse_outcome.h"
#include "common/log.h"
#include "common/tai_clock.h"
#include "filter/filter_program.h"

namespace xcap::cli {
namespace {

const char* kLsUsage =
    "Usage: xcap archive ls s3://BUCKET/PREFIX [--from T] [--to T] [--sink ID] [--source SRC]\n"
    "\n"
    "Lists the archive's objects, every sink's, whose packets overlap the window (all of them\n"
    "without --from and --to), in the order of their first packet. One line per object:\n"
    "  FIRST-PACKET LAST-PACKET BYTES s3://BUCKET/KEY\n"
    "with the times in RFC 3339, UTC. The total goes to standard error.\n"
    "\n"
    "Times (--from, --to) are RFC 3339 (2026-11-30T03:00:00Z, 2026-11-30T04:00:00.5+01:00,\n"
    "2026-11-30) or relative to now (-15m, -1h30m, -2d, now).\n"
    "\n";

const char* kGetUsage =
    "Usage: xcap archive get s3://BUCKET/PREFIX --from T [--to T] [-f EXPR] -w out.pcapng\n"
    "\n"
    "Fetches every object of every sink that overlaps the window, decompresses it, keeps the\n"
    "packets inside the window that EXPR (tcpdump syntax) selects, and merges them by\n"
    "timestamp into one capture: pcapng with one interface per sink and source, named\n"
    "<sink-id>/<interface>. -w - writes to standard output (tshark -r -, wireshark -k -i -).\n"
    "Exit status: 0 when every object was read, 1 when one could not be (each is named; the\n"
    "rest is still written), 2 for a bad command line, credentials or bucket.\n"
    "\n"
    "Times (--from, --to) are RFC 3339 (2026-11-30T03:00:00Z, 2026-11-30T04:00:00.5+01:00,\n"
    "2026-11-30) or relative to now (-15m, -1h30m, -2d, now).\n"
    "\n"
    "Example:\n"
    "  xcap archive get s3://vtap-archive/prod --from -15m -f 'tcp port 443' -w last15.pcapng\n"
    "\n";

struct RawRead {
  RawArchive store;
  std::string from, to, lookback = "1d", filter, write, format = "pcapng", page_size = "1000";
  std::vector<std::string> sinks, sources, words;
  bool help = false, verbose = false;
};

struct ReadRequest {
  archive::ArchiveConfig store;
  archive::ArchiveQuery query;
  unsigned page_size = 1000;
  std::string filter, write_path;
  bool pcapng = true;
};

po::options_description describe_read(RawRead& r, bool get) {
  po::options_description d("Options");
  add(d, "from", arg(&r.from, "T"),
      get ? "start of the window (required)" : "start of the window (default: the beginning)");
  add(d, "to", arg(&r.to, "T"), "end of the window, included (default: now)");
  add(d, "sink", po::value(&r.sinks)->value_name("ID")->composing(),
      "only this sink's objects (repeatable; default: every sink)");
  add(d, "source", po::value(&r.sources)->value_name("SRC")->composing(),
      "only this source's objects: all, or a --split source part (repeatable)");
  add(d, "lookback", arg(&r.lookback, "DURATION"),
      "how long a file may span: objects that start more than this before --from (rounded "
      "down to their day) are not looked at (default 1d; 90s, 15m, 2h, 7d)");
  add(d, "page-size", arg(&r.page_size, "N"),
      "keys per listing request, as aws s3 ls --page-size (default and most 1000)");
  if (get) {
    add(d, "filter,f", arg(&r.filter, "EXPR"),
        "keep only the packets this tcpdump expression selects (also: the words after the URL)");
    add(d, "write,w", arg(&r.write, "PATH"), "the merged capture; - for standard output");
    add(d, "format", arg(&r.format, "pcapng|pcap"),
        "output format (default pcapng); pcap only when every interface has the same link type");
  }
  add_store_access(d, r.store);
  add(d, "verbose,v", po::bool_switch(&r.verbose), "log every request that is retried and object");
  add(d, "help,h", po::bool_switch(&r.help), "show this help");
  return d;
}

Result<uint64_t> time_flag(const char* flag, const std::string& s, uint64_t now,
                           uint64_t fallback) {
  if (s.empty()) return fallback;
  auto t = archive::parse_time_arg(s, now);
  if (!t) return flag_error(flag, t.error());
  return *t;
}

Result<ReadRequest> check_read(RawRead& r, const po::variables_map& vm, bool get,
                               bool stdout_is_terminal) {
  ReadRequest q;
  if (r.words.empty()) return invalid_input("expected s3://BUCKET/PREFIX");
  r.store.url = r.words[0];
  auto store = parse_store_access(r.store);
  if (!store) return store.error();
  q.store = *store;
  const uint64_t now = realtime_ns();
  if (get && r.from.empty()) return invalid_input("--from T is required (e.g. --from -15m)");
  auto from = time_flag("--from", r.from, now, 0);
  if (!from) return from.error();
  auto to = time_flag("--to", r.to, now, r.from.empty() ? UINT64_MAX : now);
  if (!to) return to.error();
  if (*to < *from)
    return invalid_input("--to " + archive::rfc3339(*to) + " is before --from " +
                         archive::rfc3339(*from));
  auto lookback = archive::parse_duration_ns(r.lookback);
  if (!lookback) return flag_error("--lookback", lookback.error());
  auto page = parse_uint<unsigned>("--page-size", r.page_size, 1, 1000);
  if (!page) return page.error();
  for (const auto* list : {&r.sinks, &r.sources})
    for (const std::string& s : *list)
      if (!archive::valid_key_segment(s))
        return invalid_input(std::string(list == &r.sinks ? "--sink" : "--source") + " '" + s +
                             "': expected 1-128 of A-Z a-z 0-9 . _ -");
  q.query = {*from, *to, *lookback, r.sinks, r.sources};
  q.page_size = *page;
  if (!get) {
    if (r.words.size() > 1) return invalid_input("unexpected word '" + r.words[1] + "'");
    return q;
  }
  std::string words;
  for (size_t i = 1; i < r.words.size(); i++) words += (i > 1 ? " " : "") + r.words[i];
  if (!words.empty() && !r.filter.empty())
    return invalid_input("a filter both in -f and after the URL ('" + words + "')");
  q.filter = r.filter.empty() ? words : r.filter;
  if (!q.filter.empty())  // a clear error before any download; Ethernet is what xcap writes
    if (auto f = FilterProgram::compile(q.filter, 1, defaults::kSnaplen); !f)
      return flag_error("-f", f.error());
  auto out = parse_merged_output(r.format, r.write, vm.count("write"), stdout_is_terminal);
  if (!out) return out.error();
  q.write_path = out->path;
  q.pcapng = out->pcapng;
  return q;
}

// Parses args; nullopt with *status set when there is nothing to run (help, an error).
std::optional<ReadRequest> parse_read(const std::vector<std::string>& args, bool get,
                                      bool stdout_is_terminal, int* status) {
  const char* cmd = get ? "xcap archive get" : "xcap archive ls";
  const char* usage = get ? kGetUsage : kLsUsage;
  RawRead r;
  po::options_description desc = describe_read(r, get);
  po::variables_map vm;
  try {
    store_command_line(args, desc, "words", &r.words, {&vm});
    po::notify(vm);
  } catch (const po::error& e) {
    *status = print_parse_outcome(cmd, std::string(e.what()) + "\n" + usage, 2);
    return std::nullopt;
  }
  if (r.help) {
    *status = print_parse_outcome(cmd, help_text(usage, desc), 0);
    return std::nullopt;
  }
  if (r.verbose) set_log_level(LogLevel::Debug);
  auto q = check_read(r, vm, get, stdout_is_terminal);
  if (!q) {
    *status = print_parse_outcome(cmd, q.error().message, 2);
    return std::nullopt;
  }
  if (auto cred = archive::load_credentials(); !cred) {
    *status = print_parse_outcome(cmd, q->store.url + ": " + cred.error().message, 2);
    return std::nullopt;
  }
  return std::move(*q);
}

// The objects of the window; nullopt (after saying why) when the store could not list them.
std::optional<archive::FoundObjects> find(const char* cmd, archive::StoreReader& store,
                                          const ReadRequest& q, int* status) {
  auto found = archive::find_objects(store, q.store.prefix, q.query);
  if (!found) {
    fprintf(stderr, "%s: %s\n", cmd, found.error().message.c_str());
    *status = exit_code(found.error());
    return std::nullopt;
  }
  if (found->foreign)
    log_debug("%" PRIu64 " key(s) under %s not named by xcap, left alone", found->foreign,
              q.store.url.c_str());
  return std::move(*found);
}

size_t count_sinks(const std::vector<archive::ArchivedObject>& objects) {
  std::set<std::string> sinks;
  for (const archive::ArchivedObject& o : objects) sinks.insert(o.sink_id);
  return sinks.size();
}

// A temporary file for one download: anonymous (O_TMPFILE) in $TMPDIR or /tmp, so nothing is
// left behind whatever happens.
Result<Fd> temp_file() {
  const char* dir = getenv("TMPDIR");
  const std::string d = dir && *dir ? dir : "/tmp";
  Fd fd(::open(d.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd.valid()) return fd;
  // A file system without O_TMPFILE: a named file, unlinked at once.
  std::string path = d + "/xcap-get.XXXXXX";
  Fd named(::mkostemp(path.data(), O_CLOEXEC));
  if (!named.valid()) return errno_error("cannot create a temporary file in " + d);
  ::unlink(path.c_str());
  return named;
}

}  // namespace

int archive_ls(const std::vector<std::string>& args) {
  int status = 0;
  auto q = parse_read(args, false, false, &status);
  if (!q) return status;
  archive::StoreReader store(q->store, 5, q->page_size);
  auto found = find("xcap archive ls", store, *q, &status);
  if (!found) return status;
  uint64_t bytes = 0;
  for (const archive::ArchivedObject& o : found->objects) {
    printf("%s %s %12" PRIu64 " s3://%s/%s\n", archive::rfc3339(o.facts.first_ns).c_str(),
           archive::rfc3339(o.facts.last_ns).c_str(), o.size, q->store.bucket.c_str(),
           o.key.c_str());
    bytes += o.size;
  }
  fflush(stdout);
  fprintf(stderr, "xcap archive ls: %zu object(s), %" PRIu64 " bytes, from %zu sink(s)\n",
          found->objects.size(), bytes, count_sinks(found->objects));
  return 0;
}

int archive_get(const std::vector<std::string>& args, bool stdout_is_terminal) {
  int status = 0;
  auto q = parse_read(args, true, stdout_is_terminal, &status);
  if (!q) return status;
  archive::StoreReader store(q->store, 5, q->page_size);
  auto found = find("xcap archive get", store, *q, &status);
  if (!found) return status;
  signal(SIGPIPE, SIG_IGN);  // a reader of -w - that goes away is EPIPE, an output error
  auto out = stream::MergedOutput::open(q->write_path, q->pcapng);
  if (!out)
    return print_parse_outcome("xcap archive get", flag_error("-w", out.error()).message, 2);
  log_info("archive get: %zu object(s) from %zu sink(s) overlap %s .. %s", found->objects.size(),
           count_sinks(found->objects), archive::rfc3339(q->query.from_ns).c_str(),
           archive::rfc3339(q->query.to_ns).c_str());
  auto open = [&](const archive::ArchivedObject& o) -> Result<Fd> {
    log_debug("get s3://%s/%s (%" PRIu64 " bytes)", q->store.bucket.c_str(), o.key.c_str(), o.size);
    auto fd = temp_file();
    if (!fd) return fd.error();
    if (auto d = store.download(o.key, fd->get()); !d) return d.error();
    if (::lseek(fd->get(), 0, SEEK_SET) != 0) return errno_error("cannot rewind the download");
    return std::move(*fd);
  };
  const archive::MergeOutcome m = archive::merge_window(
      std::move(found->objects), {q->query.from_ns, q->query.to_ns, q->filter}, open, *out);
  for (const std::string& f : m.failures) fprintf(stderr, "xcap archive get: %s\n", f.c_str());
  fprintf(stderr,
          "xcap archive get: %" PRIu64 " packet(s) written to %s from %" PRIu64
          " object(s) read whole (%" PRIu64 " packets in them), %u interface(s)",
          m.packets_written, q->write_path == "-" ? "standard output" : q->write_path.c_str(),
          m.objects_read, m.packets_read, m.interfaces);
  if (m.out_of_order) fprintf(stderr, ", %" PRIu64 " out of timestamp order", m.out_of_order);
  if (!m.failures.empty()) fprintf(stderr, ", %zu object(s) not read whole", m.failures.size());
  fprintf(stderr, "\n");
  if (m.output_error) {
    fprintf(stderr, "xcap archive get: -w %s\n", m.output_error->message.c_str());
    return 1;
  }
  return m.failures.empty() ? 0 : 1;
}

}  // namespace xcap::cli
