#include "sink/file/file_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "common/monotonic_clock.h"
#include "sink/file/file_namer.h"
#include "sink/file/file_recovery.h"
#include "sink/file/pcap_format.h"
#include "sink/file/record_block.h"
#include "sink/file/spsc_ring.h"

namespace xcap::sink {
namespace {

std::vector<uint8_t> file_header(const FileRingConfig& cfg) {
  return cfg.format == FileFormat::Pcapng
             ? pcapng_file_header(cfg.iface_name, cfg.snaplen, cfg.link_type)
             : pcap_file_header(cfg.snaplen, cfg.link_type);
}

}  // namespace

FileWriter::FileWriter(const FileRingConfig& cfg, std::vector<WorkerRings> rings, InitialOutput out)
    : cfg_(cfg),
      rings_(std::move(rings)),
      header_(file_header(cfg)),
      base_(rotation_base(cfg.path)),
      ext_(cfg.format == FileFormat::Pcapng ? "pcapng" : "pcap"),
      to_stdout_(cfg.path == "-"),
      split_(cfg.split_by_source),
      pcapng_(cfg.format == FileFormat::Pcapng) {
  if (out.fd >= 0) {  // stdout or the single file: output 0, open from the start
    OutputFile& f = output(0);
    f.fd = out.fd;
    f.owned = std::move(out.owned);
    f.open = true;
    f.part = std::move(out.part);
    f.final = std::move(out.final);
  }
  // Adopt the earlier runs' files now, not at the first packet: a crash-restart loop that
  // never completes a file must not grow the ring past -W.
  if (cfg_.rotating() && !split_ && !to_stdout_) output(0);
}

FileWriter::~FileWriter() {
  (void)stop();  // FileRing::close() took the result already; this only joins the thread
}

void FileWriter::start() {
  thread_ = std::thread([this] { run(); });
}

Result<void> FileWriter::stop() {
  stop_.store(true, std::memory_order_release);
  if (!rings_.empty()) rings_.front().bell->ring();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  if (error_) return *error_;
  return ok();
}

void FileWriter::run() {
  // A write to a pipe whose reader left raises SIGPIPE in the writing thread, and its default
  // action kills the process before anyone prints a summary. Blocked here, the write returns
  // EPIPE instead (the signal stays pending on this thread and dies with it).
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  pthread_setname_np(pthread_self(), "xcap-writer");

  if (!outputs_.empty() && outputs_[0] && outputs_[0]->open) begin_file(*outputs_[0]);
  for (;;) {
    // Read the flag before polling: if it was set and this round found nothing, every block
    // sealed before close() has been written.
    const bool stopping = stop_.load(std::memory_order_acquire);
    const uint32_t armed = rings_.empty() ? 0 : rings_.front().bell->armed();
    if (poll_rings() == 0) {
      if (stopping || rings_.empty()) break;
      rings_.front().bell->wait(armed);
    }
  }
  for (auto& f : outputs_) {
    if (failed()) break;
    if (f) complete(*f);
  }
}

size_t FileWriter::poll_rings() {
  size_t handled = 0;
  const size_t n = rings_.size();
  for (size_t i = 0; i < n; ++i) {
    const WorkerRings& r = rings_[(next_ring_ + i) % n];
    RecordBlock* b = nullptr;
    for (int k = 0; k < kBlocksPerTurn && r.full->try_pop(b); ++k) {
      handle(*b);
      (void)r.free->try_push(b);  // cannot fail: sized for all the worker's blocks
      ++handled;
    }
  }
  next_ring_ = (next_ring_ + 1) % n;
  return handled;
}

FileWriter::OutputFile& FileWriter::output(uint32_t id) {
  if (id < outputs_.size() && outputs_[id]) return *outputs_[id];
  if (id >= outputs_.size()) outputs_.resize(size_t{id} + 1);
  auto f = std::make_unique<OutputFile>();
  f->id = id;
  f->base = base_;
  if (split_) {
    // The source's interface name, file-name safe. Table entries below published() are
    // immutable; the worker took this id from the table before sealing the block.
    const InterfaceTable* t = cfg_.interfaces.get();
    std::string part = source_file_part(t && id < t->published() ? t->at(id).name : "", id);
    // Distinct interface names could sanitize to one part: keep files of two sources apart.
    while (!split_names_.insert(part).second) part += "-" + std::to_string(id);
    f->base += "-" + part;
  }
  outputs_[id] = std::move(f);
  if (cfg_.rotating() && !to_stdout_) adopt_earlier_files(*outputs_[id]);
  return *outputs_[id];
}

void FileWriter::adopt_earlier_files(OutputFile& f) {
  // Earlier runs' files are older than anything this run writes: they go first in the -W
  // order, oldest first, and the next seq follows the highest.
  std::vector<RingFile> earlier = list_ring_files(f.base);
  for (const RingFile& r : earlier) f.seq = std::max(f.seq, r.seq + 1);
  if (!cfg_.max_files || earlier.empty()) return;
  {
    std::lock_guard lock(mu_);
    for (auto it = earlier.rbegin(); it != earlier.rend(); ++it)
      completed_.push_front({f.id, std::move(it->path)});
    f.kept += earlier.size();
  }
  log_debug("%s: %zu files of earlier runs count towards the limit of %u files", f.base.c_str(),
            earlier.size(), cfg_.max_files);
  const uint64_t deleted = files_deleted_.get();
  trim(f);
  if (const uint64_t n = files_deleted_.get() - deleted)
    log_info("deleted the %llu oldest of %zu files earlier runs left of %s (keeping %u files)",
             (unsigned long long)n, earlier.size(), f.base.c_str(), cfg_.max_files);
}

void FileWriter::handle(RecordBlock& b) {
  OutputFile& f = output(b.output);
  if ((cfg_.rotating() || split_) && !failed()) {
    if (f.open && cfg_.rotating()) {
      // -G: a block of a newer period starts a new file; a late block of an older period
      // goes into the current one. -C: start a new file rather than grow past the limit.
      const bool newer_period = cfg_.rotate_seconds && b.period > f.period;
      const bool too_big =
          cfg_.rotate_bytes && f.bytes > header_.size() && f.bytes + b.used > cfg_.rotate_bytes;
      if (newer_period || too_big) complete(f);
    }
    if (!f.open && !failed()) open_file(f, b);
  }
  if (failed() || !f.open || !write_new_interfaces(f, b.max_iface_id)) {
    write_error_drops_.add(b.records);
    return;
  }
  int err = 0;
  const size_t done = write_out(f, b.data, b.used, &err);
  // A write that stopped part way: the complete records before the cut are in the file (and
  // stay there), the rest are lost. Count exactly that.
  const RecordPrefix kept =
      done == b.used ? RecordPrefix{b.used, b.records} : complete_records(b.data, done, pcapng_);
  f.bytes += kept.bytes;
  written_bytes_.add(kept.bytes);
  written_packets_.add(kept.records);
  if (done < b.used) {
    write_error_drops_.add(b.records - kept.records);
    give_up(f, err);
    return;
  }
  // Complete a full file now rather than when the next block arrives.
  if (cfg_.rotate_bytes && f.bytes >= cfg_.rotate_bytes) complete(f);
}

bool FileWriter::begin_file(OutputFile& f) {
  f.idbs = 1;  // the header carries interface 0
  f.bytes = 0;
  int err = 0;
  if (write_out(f, header_.data(), header_.size(), &err) != header_.size()) {
    give_up(f, err);  // a torn header is no file: seal_after_error removes it
    return false;
  }
  f.bytes = header_.size();
  written_bytes_.add(header_.size());
  return true;
}

bool FileWriter::write_new_interfaces(OutputFile& f, uint32_t max_iface_id) {
  // pcapng: every interface a record names must have its IDB earlier in the file. New mirror
  // sources appear at run time; write the IDBs this file lacks, in id order, just before the
  // first block that needs them. The table's entries below published() are immutable.
  // pcap has no interfaces: every file has the one link type of its header.
  if (!pcapng_ || !cfg_.interfaces || max_iface_id < f.idbs) return true;
  const uint32_t published = cfg_.interfaces->published();
  std::vector<uint8_t> idbs;
  for (uint32_t id = f.idbs; id < published; id++) {
    const InterfaceInfo& info = cfg_.interfaces->at(id);
    append_pcapng_interface(idbs, info.name, cfg_.snaplen, info.link_type);
  }
  f.idbs = published;
  int err = 0;
  if (write_out(f, idbs.data(), idbs.size(), &err) != idbs.size()) {
    give_up(f, err);  // cut back before the torn IDBs
    return false;
  }
  f.bytes += idbs.size();
  written_bytes_.add(idbs.size());
  return true;
}

bool FileWriter::open_file(OutputFile& f, const RecordBlock& first) {
  // Never a name some file already has, complete or .part, from any run: a ring takes the
  // next seq, a split source's single file the next numbered name (<base>-<source>.1.<ext>).
  constexpr unsigned kMaxTries = 10000;
  const std::string single = f.base + "." + ext_;  // split, one file per source
  std::optional<Result<Fd>> created;
  for (unsigned n = 0; n < kMaxTries; n++) {
    f.final = cfg_.rotating() ? rotation_file_name(f.base, first.first_ts_ns, f.seq++, ext_)
              : n == 0        ? single
                              : numbered_name(single, n);
    f.part = f.final + std::string(kPartSuffix);
    struct stat st {};
    if (::lstat(f.final.c_str(), &st) == 0) continue;
    created = create_locked(f.part);
    if (*created || created->error().kind != ErrorKind::Exists) break;
  }
  if (!created || !*created) {
    fail(created
             ? created->error()
             : make_error(ErrorKind::Exists, "cannot create " + f.part + ": " + single +
                                                 " and its numbered alternatives are all taken"));
    return false;
  }
  if (!cfg_.rotating() && f.final != single)
    log_info("%s exists (xcap never overwrites a file): writing %s", single.c_str(),
             f.final.c_str());
  f.owned = std::move(created->value());
  f.fd = f.owned.get();
  f.open = true;
  f.period = first.period;
  f.bytes = 0;
  if (!begin_file(f)) return false;
  log_debug("writing %s", f.part.c_str());
  return true;
}

void FileWriter::complete(OutputFile& f) {
  if (!f.open) return;
  f.open = false;
  f.fd = -1;
  if (to_stdout_) return;  // stdout is borrowed: nothing to close or rename
  // close(2)'s result matters: on NFS and some disks the last write error only shows here.
  if (::close(f.owned.release()) != 0) {
    fail(errno_error("closing " + f.part));
    return;
  }
  // The final name was free at open; if a file took it since, it is not ours to replace.
  auto renamed = rename_to_free_name(f.part, f.final);
  if (!renamed) {
    fail(renamed.error());
    return;
  }
  if (*renamed != f.final) {
    log_info("%s appeared while xcap wrote it (never overwritten): wrote %s instead",
             f.final.c_str(), renamed->c_str());
    f.final = *renamed;
  }
  files_completed_.add(1);
  log_debug("completed %s", f.final.c_str());
  {
    std::lock_guard lock(mu_);
    completed_.push_back({f.id, f.final});
    f.kept++;
  }
  if (cfg_.on_completed) cfg_.on_completed(f.final);
  trim(f);
}

void FileWriter::trim(OutputFile& f) {
  // -W keeps the newest max_files of each output (there is one output unless split).
  std::vector<std::string> victims;
  {
    std::lock_guard lock(mu_);
    for (auto it = completed_.begin(); cfg_.max_files && f.kept > cfg_.max_files;) {
      if (it->output != f.id) {
        ++it;
        continue;
      }
      victims.push_back(std::move(it->name));
      it = completed_.erase(it);
      f.kept--;
    }
  }
  for (const std::string& old : victims) {
    if (::unlink(old.c_str()) == 0) {
      files_deleted_.add(1);
    } else if (errno != ENOENT) {  // already moved away (shipped): nothing to delete
      log_error("%s", errno_error("cannot delete " + old + ", over the limit of " +
                                  std::to_string(cfg_.max_files) + " files")
                          .message.c_str());
    }
  }
}

size_t FileWriter::write_out(OutputFile& f, const uint8_t* p, size_t n, int* err) {
  size_t done = 0;
  write_started_ns_.store(monotonic_ns(), std::memory_order_relaxed);
  struct WriteDone {
    std::atomic<uint64_t>& started;
    ~WriteDone() { started.store(0, std::memory_order_relaxed); }
  } write_done{write_started_ns_};
  while (done < n) {
    const ssize_t w = ::write(f.fd, p + done, n - done);
    if (w > 0) {
      done += static_cast<size_t>(w);
      continue;
    }
    if (w < 0 && errno == EINTR) continue;
    *err = w < 0 ? errno : EIO;
    // A ring would rather lose its oldest file than the packets coming in now.
    if ((*err == ENOSPC || *err == EDQUOT) && make_room(f)) continue;
    break;
  }
  return done;
}

bool FileWriter::make_room(const OutputFile& writing) {
  if (!cfg_.max_files || to_stdout_) return false;
  for (;;) {
    Completed victim;
    {
      std::lock_guard lock(mu_);
      if (completed_.empty()) return false;
      victim = std::move(completed_.front());
      completed_.pop_front();
    }
    if (victim.output < outputs_.size() && outputs_[victim.output]) outputs_[victim.output]->kept--;
    if (::unlink(victim.name.c_str()) == 0) {
      files_deleted_.add(1);
      log_info("disk full writing %s: deleted %s, the oldest file of the ring",
               writing.part.c_str(), victim.name.c_str());
      return true;
    }
    if (errno != ENOENT)  // already moved away (shipped): try the next
      log_error("disk full: %s", errno_error("cannot delete " + victim.name).message.c_str());
  }
}

void FileWriter::give_up(OutputFile& f, int err) {
  if (to_stdout_ && err == EPIPE) {
    // The reader took what it wanted (tcpdump -c, head) and left: the normal end of a pipe.
    log_info("output closed: the reader of stdout went away; stopping");
    closed_.store(true, std::memory_order_release);
    end_output();
    return;
  }
  const std::string what = to_stdout_ ? std::string("stdout") : f.part;
  fail(errno_error(err, "writing " + what));
}

void FileWriter::fail(Error error) {
  {
    std::lock_guard lock(mu_);
    if (error_) {  // a second error while sealing after the first: say it, keep the first
      log_error("%s", error.message.c_str());
      return;
    }
    error_ = std::move(error);
  }
  // Not logged here: close() returns it and the owner reports it once.
  end_output();
}

void FileWriter::end_output() {
  if (failed_.exchange(true, std::memory_order_acq_rel)) return;
  // Stop writing for good, to every output, and leave every file complete: cut back to its
  // last complete record and renamed, so what a reader finds is what the counters say.
  for (auto& f : outputs_) {
    if (f && f->open) seal_after_error(*f);
  }
}

void FileWriter::seal_after_error(OutputFile& f) {
  if (to_stdout_) {  // borrowed: nothing to cut, close or rename
    f.open = false;
    f.fd = -1;
    return;
  }
  if (f.bytes == 0) {  // not even its header made it: no file
    f.open = false;
    f.fd = -1;
    f.owned.reset();
    if (::unlink(f.part.c_str()) != 0 && errno != ENOENT)
      log_error("%s", errno_error("cannot remove " + f.part).message.c_str());
    return;
  }
  if (::ftruncate(f.fd, static_cast<off_t>(f.bytes)) != 0) {
    // Left as .part: the next start recovers it (file_recovery.h).
    log_error(
        "%s",
        errno_error("cannot cut " + f.part + " back to its last complete packet").message.c_str());
    f.open = false;
    f.fd = -1;
    f.owned.reset();
    return;
  }
  const uint64_t before = files_completed_.get();
  complete(f);
  if (files_completed_.get() != before)
    log_info("sealed %s at its last complete packet", f.final.c_str());
}

void FileWriter::add_stats(FileRingStats& s) const {
  s.written_packets += written_packets_.get();
  s.written_bytes += written_bytes_.get();
  s.files_completed += files_completed_.get();
  s.files_deleted += files_deleted_.get();
  s.write_error_drops += write_error_drops_.get();
  const uint64_t started = write_started_ns_.load(std::memory_order_relaxed);
  if (started && (!s.write_started_ns || started < s.write_started_ns))
    s.write_started_ns = started;
}

std::vector<std::string> FileWriter::completed_files() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  out.reserve(completed_.size());
  for (const Completed& c : completed_) out.push_back(c.name);
  return out;
}

}  // namespace xcap::sink
