// Archiver: the background half of the file sink. The writer hands it each completed ring
// file (file_completed: a short lock and a push, never a wait on the store); one thread of its
// own runs -z on it, then uploads it (file_shipper.h) and deletes it unless --keep-local.
// A failed attempt is retried with backoff (backoff.h) and the file stays in the spool;
// --spool-max deletes the oldest files not yet uploaded, logged and counted.
//
// Start: check() refuses what cannot work before the capture starts (no credentials, no such
// bucket, a key the store refuses); a store that does not answer is only logged (capture
// goes on into the spool). start() then queues every completed ring file of the spool base
// that earlier runs left, oldest first (those already in the bucket are found by HEAD and not
// sent again) and aborts multipart uploads they left open.
//
// Stop: drain_and_stop() waits until every file handed over is done or the drain timeout
// passed, then ends the transfer in progress and logs what stays in the spool.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "archive/archive_config.h"
#include "archive/file_shipper.h"
#include "common/result.h"
#include "metrics/capture_snapshot.h"

namespace xcap::archive {

// What cannot work, as InvalidInput (exit 2): no credentials, the bucket missing, access
// denied. A store that cannot be reached is logged, not an error.
Result<void> check_store(const ArchiveConfig& cfg);

class Archiver {
 public:
  // spool_base: the ring's rotation base (-w without its extension), whose files it ships.
  // Files handed over before start() wait for it.
  static std::unique_ptr<Archiver> create(const ArchiveConfig& cfg, const std::string& spool_base);
  // Queues the spool's completed ring files (the caller hands over no file before this),
  // then starts the thread: it aborts the uploads of markers whose file is gone, then ships.
  void start();
  ~Archiver();  // drain_and_stop(0) if still running
  Archiver(const Archiver&) = delete;
  Archiver& operator=(const Archiver&) = delete;

  // A ring file was completed (writer thread): queues it.
  void file_completed(const std::string& path);
  // xcap archive push: queues a capture file of any name (another run's, another tool's): a
  // ring file's name gives its seq, any other name seq 0; its source is "all". False (logged)
  // when it is not a .pcap/.pcapng regular file.
  bool add_file(const std::string& path);
  // Waits up to timeout_s for the backlog to empty, then stops; logs what is left. True when
  // nothing is left.
  bool drain_and_stop(double timeout_s);
  metrics::ArchiveSnapshot stats() const;

 private:
  Archiver(const ArchiveConfig& cfg, std::string spool_base);
  void run();
  void enqueue_locked(SpoolFile f);
  void scan_spool();
  void enforce_cap_locked();
  void process(SpoolFile& f);       // one attempt on the oldest file (thread, no lock held)
  bool wait_retry(double seconds);  // false: stopping
  void count_failure_locked(const Failure& f, const SpoolFile& file);
  void finish_locked(const SpoolFile& f, const Shipped& s);

  const ArchiveConfig cfg_;
  const std::string spool_base_;
  std::atomic<bool> abort_{false};  // ends a transfer in progress
  FileShipper shipper_;
  std::vector<std::string> orphan_markers_;  // set by start(), then the thread's

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SpoolFile> queue_;             // oldest first; front is the one being worked on
  std::unordered_set<std::string> queued_;  // paths in queue_
  bool front_busy_ = false;                 // the thread works on queue_.front()
  bool stopping_ = false;
  uint64_t backlog_bytes_ = 0;
  metrics::ArchiveSnapshot stats_;
  std::thread thread_;
};

}  // namespace xcap::archive
