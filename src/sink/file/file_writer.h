// FileWriter: the one thread that turns sealed blocks into files. It polls every worker's
// ring round-robin, writes each block with one large write(), hands the block back on the
// worker's free ring, and decides where the bytes go: opens, rotates (-C at block
// granularity, -G on a block of a newer period), completes (.part -> final name with
// rename(2)) and deletes (-W) files. When idle it sleeps kIdleSleep: blocks come at most every
// ~1 MiB of traffic or flush_ns, so a short sleep costs no latency worth a spinning core.
//
// After an output error it is failed(): it stops writing, counts the records of every later
// block as write_error_drops and keeps recycling blocks, so workers never stall.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "sink/file/file_ring.h"

namespace xcap::sink {

struct WorkerRings {
  BlockRing* full;  // sealed blocks, worker -> writer
  BlockRing* free;  // written blocks, writer -> worker
};

// Where the writer starts: stdout, a single PATH.part opened by FileRing::open, or nothing
// yet (rotating: files are created when their first block arrives).
struct InitialOutput {
  int fd = -1;        // stdout_fd (borrowed) or owned.get()
  Fd owned;           // the single file's descriptor, if any
  std::string part;   // single file: PATH.part
  std::string final;  // single file: PATH
};

class FileWriter {
 public:
  static constexpr auto kIdleSleep = std::chrono::microseconds(500);
  static constexpr int kBlocksPerTurn = 8;  // per worker ring per round, for fairness

  FileWriter(const FileRingConfig& cfg, std::vector<WorkerRings> rings, InitialOutput out);
  ~FileWriter();  // stops if still running
  FileWriter(const FileWriter&) = delete;
  FileWriter& operator=(const FileWriter&) = delete;

  void start();
  // Drains every block sealed before the call, completes the current file, joins.
  // Error: the first output error, or a failed rename at the end.
  Result<void> stop();

  bool failed() const { return failed_.load(std::memory_order_acquire); }
  void add_stats(FileRingStats& s) const;
  std::vector<std::string> completed_files() const;

 private:
  void run();
  size_t poll_rings();  // blocks handled this round
  void handle(RecordBlock& b);
  bool open_rotating(const RecordBlock& first);
  bool begin_file();  // writes the file header
  bool write_new_interfaces(uint32_t max_iface_id);  // pcapng IDBs the file still lacks
  void complete_current();
  bool write_all(const uint8_t* p, size_t n);
  void fail(std::string message);
  void add(std::atomic<uint64_t>& c, uint64_t n) {  // single writer: no locked add needed
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // Configuration, read-only.
  const FileRingConfig cfg_;
  const std::vector<WorkerRings> rings_;
  const std::vector<uint8_t> header_;  // written at the start of every file
  const std::string base_;             // rotating: path without .pcap/.pcapng
  const char* const ext_;
  const bool to_stdout_;

  // Writer-thread state.
  int fd_ = -1;
  Fd owned_;
  bool file_open_ = false;  // a file (or stdout) is receiving blocks
  std::string part_, final_;
  uint64_t file_bytes_ = 0;
  uint64_t file_period_ = 0;
  uint32_t idbs_in_file_ = 1;  // pcapng: interfaces [0, idbs_in_file_) are described
  uint64_t seq_ = 0;
  size_t next_ring_ = 0;

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  bool stopped_ = false;
  std::atomic<uint64_t> written_packets_{0}, written_bytes_{0}, files_completed_{0},
      files_deleted_{0}, write_error_drops_{0};

  mutable std::mutex mu_;  // guards the two below (read by other threads, rarely)
  std::deque<std::string> completed_;
  std::string error_;
};

}  // namespace xcap::sink
