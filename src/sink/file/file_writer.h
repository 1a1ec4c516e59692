// FileWriter: the one thread that turns sealed blocks into files. It polls every worker's
// ring round-robin, writes each block with one large write(), hands the block back on the
// worker's free ring, and decides where the bytes go: opens, rotates (-C at block
// granularity, -G on a block of a newer period), completes (.part -> final name, never
// replacing a file: file_recovery.h) and deletes (-W) files. When idle it sleeps on the
// workers' Doorbell until one hands it a block.
//
// Each block names its output (RecordBlock::output): 0 unless split_by_source, where every
// output (mirror source) has its own file state (OutputFile): its own open file, .part name,
// rotation, seq and -W count. A rotating output adopts the ring files earlier runs left of
// its base when it is created: -W counts them and seq continues after them.
//
// Write errors. A full disk (ENOSPC, EDQUOT) with -W first deletes the oldest kept file and
// tries again. When it gives up (no file left to delete, or another error) every open file is
// cut back to its last complete record and renamed, and the counters say exactly what the
// files hold: the complete records of a partly written block count as written, the rest as
// write_error_drops. A reader of stdout that went away (EPIPE) is the end of the output, not
// an error (output_closed()). Either way it is failed() from then on: it stops writing, counts
// the records of every later block as write_error_drops and keeps recycling blocks, so
// workers never stall.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "common/single_writer_counter.h"
#include "sink/file/doorbell.h"
#include "sink/file/file_ring.h"

namespace xcap::sink {

struct WorkerRings {
  BlockRing* full;  // sealed blocks, worker -> writer
  BlockRing* free;  // written blocks, writer -> worker
  Doorbell* bell;   // rung by the worker after each push to full (one for every worker)
};

// Where the writer starts: stdout, a single PATH.part opened by FileRing::open, or nothing
// yet (rotating or split: files are created when their first block arrives).
struct InitialOutput {
  int fd = -1;        // stdout_fd (borrowed) or owned.get()
  Fd owned;           // the single file's descriptor, if any
  std::string part;   // single file: PATH.part
  std::string final;  // single file: PATH
};

class FileWriter {
 public:
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
  // The stdout reader went away: the output ended, without an error.
  bool output_closed() const { return closed_.load(std::memory_order_acquire); }
  void add_stats(FileRingStats& s) const;
  std::vector<std::string> completed_files() const;

 private:
  void run();
  size_t poll_rings();  // blocks handled this round
  // One output's file state (writer thread only).
  struct OutputFile {
    uint32_t id = 0;
    std::string base;  // names: base_, or split: <base_>-<source>
    int fd = -1;
    Fd owned;
    bool open = false;  // a file (or stdout) is receiving blocks
    std::string part, final;
    uint64_t bytes = 0;  // of complete headers and records: where a torn write is cut back to
    uint64_t period = 0;
    uint32_t idbs = 1;  // pcapng: interfaces [0, idbs) are described
    uint64_t seq = 0;
    size_t kept = 0;  // this output's entries in completed_ (-W counts per output)
  };

  OutputFile& output(uint32_t id);  // creates the state of a new output (cold)
  void handle(RecordBlock& b);
  void adopt_earlier_files(OutputFile& f);  // rotating: -W and seq see earlier runs' files
  bool open_file(OutputFile& f, const RecordBlock& first);          // rotating or split
  bool begin_file(OutputFile& f);                                   // writes the file header
  bool write_new_interfaces(OutputFile& f, uint32_t max_iface_id);  // IDBs the file lacks
  void complete(OutputFile& f);
  void trim(OutputFile& f);  // -W: deletes this output's oldest files over max_files
  // Writes [p, p + n) to f; with -W a full disk costs the oldest kept file, then it retries.
  // Returns the bytes written: n, or fewer with *err set when it gave up.
  size_t write_out(OutputFile& f, const uint8_t* p, size_t n, int* err);
  bool make_room(const OutputFile& writing);  // -W: deletes the oldest kept file, if any
  // The output cannot take more: f was cut at f.bytes (its last complete record). Ends the
  // output (EPIPE on stdout) or fails it (anything else).
  void give_up(OutputFile& f, int err);
  void fail(Error error);
  void end_output();  // stops writing; seals and renames every open file
  void seal_after_error(OutputFile& f);

  // Configuration, read-only.
  const FileRingConfig cfg_;
  const std::vector<WorkerRings> rings_;
  const std::vector<uint8_t> header_;  // written at the start of every file
  const std::string base_;             // rotating: path without .pcap/.pcapng
  const char* const ext_;
  const bool to_stdout_;
  const bool split_;
  const bool pcapng_;

  // Writer-thread state.
  std::vector<std::unique_ptr<OutputFile>> outputs_;  // by output id; null: not seen yet
  std::unordered_set<std::string> split_names_;       // split: source parts in use
  size_t next_ring_ = 0;

  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> failed_{false};
  std::atomic<bool> closed_{false};
  // CLOCK_MONOTONIC ns when the write() now in progress began; 0 between writes. /healthz
  // reads it: a write that does not return (a reader that stopped reading, a hung disk) is a
  // stalled writer even when no packet comes to be dropped.
  std::atomic<uint64_t> write_started_ns_{0};
  SingleWriterCounter written_packets_, written_bytes_, files_completed_, files_deleted_,
      write_error_drops_;

  struct Completed {
    uint32_t output;
    std::string name;
  };
  mutable std::mutex mu_;            // guards the two below (read by other threads, rarely)
  std::deque<Completed> completed_;  // kept files of every output, oldest first
  std::optional<Error> error_;
};

}  // namespace xcap::sink
