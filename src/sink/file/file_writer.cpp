#include "sink/file/file_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "sink/file/file_namer.h"
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

std::string errno_text(int err) {
  return std::strerror(err);
}

}  // namespace

FileWriter::FileWriter(const FileRingConfig& cfg, std::vector<WorkerRings> rings, InitialOutput out)
    : cfg_(cfg),
      rings_(std::move(rings)),
      header_(file_header(cfg)),
      base_(rotation_base(cfg.path)),
      ext_(cfg.format == FileFormat::Pcapng ? "pcapng" : "pcap"),
      to_stdout_(cfg.path == "-"),
      fd_(out.fd),
      owned_(std::move(out.owned)),
      file_open_(out.fd >= 0),
      part_(std::move(out.part)),
      final_(std::move(out.final)) {}

FileWriter::~FileWriter() {
  (void)stop();
}

void FileWriter::start() {
  thread_ = std::thread([this] { run(); });
}

Result<void> FileWriter::stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mu_);
  if (!error_.empty()) return make_error(error_);
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

  if (file_open_) begin_file();
  for (;;) {
    // Read the flag before polling: if it was set and this round found nothing, every block
    // sealed before close() has been written.
    const bool stopping = stop_.load(std::memory_order_acquire);
    if (poll_rings() == 0) {
      if (stopping) break;
      std::this_thread::sleep_for(kIdleSleep);
    }
  }
  if (!failed()) complete_current();
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

void FileWriter::handle(RecordBlock& b) {
  if (cfg_.rotating() && !failed()) {
    if (file_open_) {
      // -G: a block of a newer period starts a new file; a late block of an older period
      // goes into the current one. -C: start a new file rather than grow past the limit.
      const bool newer_period = cfg_.rotate_seconds && b.period > file_period_;
      const bool too_big = cfg_.rotate_bytes && file_bytes_ > header_.size() &&
                           file_bytes_ + b.used > cfg_.rotate_bytes;
      if (newer_period || too_big) complete_current();
    }
    if (!file_open_ && !failed()) open_rotating(b);
  }
  if (failed() || !write_new_interfaces(b.max_iface_id) || !write_all(b.data, b.used)) {
    add(write_error_drops_, b.records);
    return;
  }
  file_bytes_ += b.used;
  add(written_bytes_, b.used);
  add(written_packets_, b.records);
  // Complete a full file now rather than when the next block arrives.
  if (cfg_.rotate_bytes && file_bytes_ >= cfg_.rotate_bytes) complete_current();
}

bool FileWriter::begin_file() {
  idbs_in_file_ = 1;  // the header carries interface 0
  if (!write_all(header_.data(), header_.size())) return false;
  file_bytes_ = header_.size();
  add(written_bytes_, header_.size());
  return true;
}

bool FileWriter::write_new_interfaces(uint32_t max_iface_id) {
  // pcapng: every interface a record names must have its IDB earlier in the file. New mirror
  // sources appear at run time; write the IDBs this file lacks, in id order, just before the
  // first block that needs them. The table's entries below published() are immutable.
  if (!cfg_.interfaces || max_iface_id < idbs_in_file_) return true;
  const uint32_t published = cfg_.interfaces->published();
  std::vector<uint8_t> idbs;
  for (uint32_t id = idbs_in_file_; id < published; id++) {
    const InterfaceInfo& info = cfg_.interfaces->at(id);
    append_pcapng_interface(idbs, info.name, cfg_.snaplen, info.link_type);
  }
  idbs_in_file_ = published;
  if (!write_all(idbs.data(), idbs.size())) return false;
  file_bytes_ += idbs.size();
  add(written_bytes_, idbs.size());
  return true;
}

bool FileWriter::open_rotating(const RecordBlock& first) {
  final_ = rotation_file_name(base_, first.first_ts_ns, seq_++, ext_);
  part_ = final_ + std::string(kPartSuffix);
  const int fd = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fail("cannot create " + part_ + ": " + errno_text(errno));
    return false;
  }
  owned_ = Fd(fd);
  fd_ = fd;
  file_open_ = true;
  file_period_ = first.period;
  file_bytes_ = 0;
  if (!begin_file()) return false;
  log_debug("writing %s", part_.c_str());
  return true;
}

void FileWriter::complete_current() {
  if (!file_open_) return;
  file_open_ = false;
  fd_ = -1;
  if (to_stdout_) return;  // stdout is borrowed: nothing to close or rename
  // close(2)'s result matters: on NFS and some disks the last write error only shows here.
  if (::close(owned_.release()) != 0) {
    fail("closing " + part_ + ": " + errno_text(errno));
    return;
  }
  if (::rename(part_.c_str(), final_.c_str()) != 0) {
    fail("cannot rename " + part_ + " to " + final_ + ": " + errno_text(errno));
    return;
  }
  add(files_completed_, 1);
  log_debug("completed %s", final_.c_str());

  std::vector<std::string> victims;
  {
    std::lock_guard lock(mu_);
    completed_.push_back(final_);
    while (cfg_.max_files && completed_.size() > cfg_.max_files) {
      victims.push_back(std::move(completed_.front()));
      completed_.pop_front();
    }
  }
  for (const std::string& old : victims) {
    if (::unlink(old.c_str()) == 0) {
      add(files_deleted_, 1);
    } else if (errno != ENOENT) {  // already moved away (shipped): nothing to delete
      log_error("-W: cannot delete %s: %s", old.c_str(), std::strerror(errno));
    }
  }
}

bool FileWriter::write_all(const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const std::string what = to_stdout_ ? std::string("stdout") : part_;
      fail("writing " + what + ": " + errno_text(w < 0 ? errno : EIO));
      return false;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void FileWriter::fail(std::string message) {
  {
    std::lock_guard lock(mu_);
    if (error_.empty()) error_ = message;
  }
  // Not logged here: close() returns it and the owner reports it once.
  failed_.store(true, std::memory_order_release);
  // Stop writing for good. An incomplete file keeps its .part name, so nothing downstream
  // mistakes it for a complete one.
  owned_.reset();
  fd_ = -1;
  file_open_ = false;
}

void FileWriter::add_stats(FileRingStats& s) const {
  s.written_packets += written_packets_.load(std::memory_order_relaxed);
  s.written_bytes += written_bytes_.load(std::memory_order_relaxed);
  s.files_completed += files_completed_.load(std::memory_order_relaxed);
  s.files_deleted += files_deleted_.load(std::memory_order_relaxed);
  s.write_error_drops += write_error_drops_.load(std::memory_order_relaxed);
}

std::vector<std::string> FileWriter::completed_files() const {
  std::lock_guard lock(mu_);
  return {completed_.begin(), completed_.end()};
}

}  // namespace xcap::sink
