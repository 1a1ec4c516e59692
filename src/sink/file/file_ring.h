// FileRing: the pcap/pcapng file sink. Each worker appends records to blocks it owns (no lock,
// no syscall per packet); a full block goes to one writer thread through a single-producer
// ring; the writer writes it, rotates files (-C size, -G aligned time, -W count), keeps each
// file hidden as <name>.part until it is complete, then renames it. A worker with no free
// block drops the packet and counts it (writer_backpressure): it never waits for the disk.
//
// Use: FileRing::open(cfg, n_workers) validates and opens the first file; each worker appends
// through its producer(w) and calls flush_if_idle(now) once per batch and seal() at the end;
// close() writes what is left and completes the last file.
//
// Output: "-" is stdout (no .part, no rotation). A path is never overwritten (the first free
// PATH.1, PATH.2, ... is used instead); files are created with O_EXCL and locked while
// written; what dead runs left is recovered first (file_recovery.h). Rotating and split
// names: file_namer.h. A write error leaves complete files, cut back to their last record
// (file_writer.h). split_by_source gives each output id (PacketView::iface_id) its own ring.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/defaults.h"
#include "common/packet_view.h"
#include "common/result.h"
#include "common/single_writer_counter.h"
#include "decap/link_type.h"
#include "sink/file/doorbell.h"
#include "sink/interface_table.h"
#include "sink/worker_sink.h"

namespace xcap::sink {

enum class FileFormat { Pcap, Pcapng };

struct FileRingConfig {
  std::string path;  // -w: a file path, or "-" for stdout (pcap or pcapng)
  FileFormat format = FileFormat::Pcap;
  uint32_t snaplen = defaults::kSnaplen;  // -s: records are cut to this many bytes (0: default)
  uint32_t link_type = linktype_value(LinkType::Ethernet);  // LINKTYPE_ of the records
  std::string iface_name;       // pcapng Interface Description Block name (if_name)
  uint64_t rotate_bytes = 0;    // -C MB * 1'000'000: rotate once a file reaches this; 0 = off
  uint32_t rotate_seconds = 0;  // -G: rotate at wall-clock multiples of this; 0 = off
  uint32_t max_files = 0;       // -W: keep at most this many completed files of the base, from
                                // any run (a full disk deletes the oldest sooner); 0 = unlimited
  // A worker's blocks; 0 picks the default. With split_by_source a worker holds a partial
  // block per active source, so the default is more, smaller blocks (same memory).
  static constexpr size_t kDefaultBlockBytes = 1 << 20;
  static constexpr size_t kDefaultBlocksPerWorker = 16;
  static constexpr size_t kSplitBlockBytes = 256 << 10;
  static constexpr size_t kSplitBlocksPerWorker = 64;
  size_t block_bytes = 0;  // capped at rotate_bytes/4 with -C, raised to hold one record
  size_t blocks_per_worker = 0;
  uint64_t flush_ns = 100'000'000;  // a partly filled block is handed off after this long
  // pcapng: the interfaces records may name (PacketView::iface_id); entry 0 must describe
  // iface_name/link_type. Null: every record is on interface 0.
  std::shared_ptr<const InterfaceTable> interfaces;
  // --split source: one ring of files per output id (see the top of this file). Requires
  // interfaces (the names); not with "-".
  bool split_by_source = false;
  // Called on the writer thread with each completed file's final name (never for stdout),
  // after its rename: it must return at once (the archiver only queues the name). Null: off.
  std::function<void(const std::string& path)> on_completed;
  int stdout_fd = 1;  // where "-" writes; tests inject a pipe here. Never closed by FileRing.
  // true when any of -C/-G/-W asks for a ring: names become
  // <base>-<YYYYmmddTHHMMSS.nnnnnnnnnZ>-<seq>.<ext> (first-packet time, UTC)
  bool rotating() const { return rotate_bytes || rotate_seconds || max_files; }
};

struct FileRingStats {
  uint64_t written_packets = 0;     // records that reached a file (or stdout)
  uint64_t written_bytes = 0;       // bytes written, headers included
  uint64_t files_completed = 0;     // files renamed from .part to their final name
  uint64_t files_deleted = 0;       // removed because of -W
  uint64_t backpressure_drops = 0;  // packets dropped because no free block (writer behind)
  uint64_t write_error_drops = 0;   // packets lost because a write failed (disk full, EPIPE)
  uint64_t write_started_ns = 0;    // CLOCK_MONOTONIC start of the write in progress; 0: none
};

struct RecordBlock;
template <typename T>
class SpscRing;
using BlockRing = SpscRing<RecordBlock*>;

// One per worker; only that worker's thread calls it. The worker sees it as a WorkerSink (a
// virtual call per batch); the per-packet append() inside is a direct call the compiler can
// see through. Invariant after close(): appended == written_packets + backpressure_drops +
// write_error_drops.
class alignas(64) FileRingProducer final : public WorkerSink {
 public:
  // Encodes the record into the current block of its output (split_by_source: one per
  // iface_id; else one); seals that block first when the record does not fit or (with -G)
  // belongs to another period. No free block: drops and counts it.
  void append(const PacketView& pkt);
  void append(std::span<const PacketView> batch) override {
    for (const PacketView& p : batch) append(p);
  }
  // Seals each current block that has records and that a previous call (any clock, the same
  // one every time, e.g. CLOCK_MONOTONIC) saw non-empty at least cfg.flush_ns ago: a record
  // reaches the writer within flush_ns plus one call interval. Costs O(outputs with a
  // partial block).
  void flush_if_idle(uint64_t now_ns) override;
  // Hands every current block that has records to the writer. The next append takes a fresh
  // block.
  void seal() override;
  uint64_t backpressure_drops() const { return drops_.get(); }

  FileRingProducer(const FileRingProducer&) = delete;
  FileRingProducer& operator=(const FileRingProducer&) = delete;

 private:
  friend class FileRingImpl;
  // One output's current block. Without split_by_source there is one output, 0.
  struct Output {
    RecordBlock* cur = nullptr;
    uint64_t period_lo = 0;  // [lo, hi): the current block's -G period
    uint64_t period_hi = 0;
    uint32_t active_pos = 0;  // index in active_ while cur != nullptr
  };

  FileRingProducer(BlockRing* full, BlockRing* free, Doorbell* bell, const FileRingConfig& cfg);
  RecordBlock* next_block(uint32_t out);  // cold path of append()
  void hand_off(RecordBlock* b);          // to the writer, and wake it
  void grow(uint32_t out);                // cold: first record of a new output id
  void seal_output(uint32_t out);
  void seal_fullest_except(uint32_t out);  // split: put a held block back in circulation
  void drop() { drops_.add(1); }

  BlockRing* const full_;         // to the writer
  BlockRing* const free_;         // back from the writer
  Doorbell* const bell_;          // the writer sleeps on it
  std::vector<Output> outs_;      // by output id; grown (cold path) when a new id shows up
  std::vector<uint32_t> active_;  // ids whose cur is set; capacity reserved: never allocates
  const bool split_;
  const uint32_t snaplen_;
  const bool pcapng_;
  const uint64_t period_ns_;  // -G period in ns; 0 when not rotating by time
  const uint64_t flush_ns_;
  SingleWriterCounter drops_;
};

class FileRing {
 public:
  // Errors start with cfg.path ("PATH: cannot create ..."): a path that cannot be an output
  // (a directory, stdout with rotation) is InvalidInput; a missing directory NotFound.
  static Result<std::unique_ptr<FileRing>> open(const FileRingConfig& cfg, unsigned n_workers);
  virtual ~FileRing() = default;  // closes (errors are logged)
  virtual FileRingProducer& producer(unsigned worker) = 0;
  // Joins the writer after every sealed block is written; completes the last file.
  // Precondition: no worker appends any more. close() seals each producer's partial block
  // itself, so a worker's own seal() is recommended but not required. Idempotent: later
  // calls return the first call's result. Error when the output failed or a rename failed;
  // the error is reported only here (the caller logs it), the destructor logs it if it closed.
  virtual Result<void> close() = 0;
  // True once the output failed for good (stdout reader went away, disk error): stop capture.
  virtual bool failed() const = 0;
  // True when the output ended because the reader of stdout went away (EPIPE): failed() is
  // true too (stop capture), but it is the normal end of a pipe and close() returns success.
  virtual bool output_closed() const = 0;
  virtual FileRingStats stats() const = 0;  // safe from any thread, e.g. at scrape time
  // Final names of the completed files still kept (-W deletes the oldest), oldest first.
  virtual std::vector<std::string> completed_files() const = 0;
};

}  // namespace xcap::sink
