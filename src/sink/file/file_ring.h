// FileRing: the pcap/pcapng file sink. Each worker appends records to blocks it owns (no lock,
// no syscall per packet); a full block is sealed and handed to one writer thread through a
// single-producer ring; the writer writes blocks to files, rotates them (-C size, -G aligned
// time, -W count), keeps a file hidden as <name>.part until it is complete, then renames it.
// When the writer falls behind and a worker has no free block, the worker drops the packet
// and counts it (writer_backpressure): a worker never waits for the disk.
//
// CONTRACT (other parts code against this; extend, don't break):
//   auto ring = FileRing::open(cfg, n_workers);      // validates, opens the first file
//   FileRingProducer& p = ring->producer(w);          // one per worker thread, owned by it
//   p.append(view);                                   // hot path (or append(span) per batch)
//   p.flush_if_idle(now_ns);                          // once per batch/poll: seals a block
//                                                     //   that has waited > cfg.flush_ns
//   p.seal();                                         // end of capture: hand off partial block
//   ring->close();                                    // joins writer, flushes, renames .part
//
// Output files:
//   - "-": pcap or pcapng on stdout (cfg.stdout_fd), no .part, no rotation.
//   - a path, no -C/-G/-W: PATH.part is created by open() (an empty capture still gives a
//     valid file) and renamed to PATH by close(). When PATH exists already (an earlier run's
//     file) it is never overwritten: the run writes the first free PATH-with-a-number
//     (x.pcap -> x.1.pcap, x.2.pcap, ...) and logs the name.
//   - Every file is created with O_EXCL and locked while written; open() first seals and
//     renames the .part files of the same base that dead runs left, and a ring counts every
//     file of its base on disk for -W and continues its seq (file_recovery.h).
//   - A write error leaves complete files: each open file is cut back to its last complete
//     record and renamed; written_packets is exactly the records in the files. With -W a full
//     disk first costs the oldest kept file. See file_writer.h.
//   - rotating (-C/-G/-W): <base>-<YYYYmmddTHHMMSS.nnnnnnnnnZ>-<seq>.<ext> (see
//     file_namer.h), created lazily when the first block for it arrives (no empty files),
//     written as <name>.part, renamed when complete. open() test-creates a file in the
//     directory so a bad path is reported before capture starts.
//   - split by source (cfg.split_by_source, needs cfg.interfaces, not "-"): every output id
//     (= PacketView::iface_id; 0 collects frames not from a tunnel) has its own independent
//     ring of files: its own .part/rename, -C/-G rotation, -W (the newest N files of each
//     source are kept, earlier runs' included) and seq. Names: <base>-<source>.<ext>, or with
//     rotation <base>-<source>-<YYYYmmddTHHMMSS.nnnnnnnnnZ>-<seq>.<ext> (file_namer.h). Every file
//     is created lazily when its source's first block arrives; open() test-creates a file in the
//     directory. A worker keeps one partial block per output that has records.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/defaults.h"
#include "common/packet_view.h"
#include "common/result.h"
#include "common/single_writer_counter.h"
#include "decap/link_type.h"
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

  FileRingProducer(BlockRing* full, BlockRing* free, const FileRingConfig& cfg);
  RecordBlock* next_block(uint32_t out);  // cold path of append()
  void grow(uint32_t out);                // cold: first record of a new output id
  void seal_output(uint32_t out);
  void seal_fullest_except(uint32_t out);  // split: put a held block back in circulation
  void drop() { drops_.add(1); }

  BlockRing* const full_;         // to the writer
  BlockRing* const free_;         // back from the writer
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
