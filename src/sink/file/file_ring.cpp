// FileRing assembly: validates the configuration, reports a bad output path before capture
// starts, allocates each worker's blocks and rings, and runs the writer thread.
#include "sink/file/file_ring.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "common/fd.h"
#include "common/log.h"
#include "sink/file/file_namer.h"
#include "sink/file/file_recovery.h"
#include "sink/file/file_writer.h"
#include "sink/file/pcap_format.h"
#include "sink/file/record_block.h"
#include "sink/file/spsc_ring.h"

namespace xcap::sink {
namespace {

constexpr size_t kPage = 4096;

// Bytes one block can hold. With -C a file is cut at block granularity, so a block is at
// most a quarter of the file size (files stay within ~25% of the size asked). It always holds
// at least one record of snaplen bytes, so any record fits in an empty block.
size_t block_capacity(const FileRingConfig& cfg) {
  const size_t max_record = cfg.format == FileFormat::Pcapng ? pcapng_record_bytes(cfg.snaplen, 1)
                                                             : pcap_record_bytes(cfg.snaplen);
  size_t cap = cfg.block_bytes;
  if (cfg.rotate_bytes) cap = static_cast<size_t>(std::min<uint64_t>(cap, cfg.rotate_bytes / 4));
  return std::max(cap, max_record);
}

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// Rotating files are created later, by the writer; create (and remove) one now so a missing
// directory or a permission problem is reported before capture starts.
Result<void> probe_directory(const FileRingConfig& cfg) {
  std::string probe = rotation_base(cfg.path) + ".xcap-probe-XXXXXX";
  Fd fd(mkstemp(probe.data()));
  if (!fd.valid()) return errno_error("cannot create files in " + dir_of(cfg.path));
  // Created a moment ago by this process: should it stay, it is an empty hidden file.
  if (::unlink(probe.c_str()) != 0)
    log_error("%s", errno_error("cannot remove the probe file " + probe).message.c_str());
  return ok();
}

Result<InitialOutput> open_initial_output(const FileRingConfig& cfg) {
  InitialOutput out;
  if (cfg.path == "-") {
    out.fd = cfg.stdout_fd;
    return out;
  }
  const bool ring = cfg.rotating() || cfg.split_by_source;
  struct stat st {};
  if (!ring &&
      (cfg.path.ends_with('/') || (::stat(cfg.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)))) {
    return invalid_input("is a directory");
  }
  // What a dead run left (kill -9, power cut) becomes complete files before this run adds any:
  // so the ring's -W and seq see them, and no name of theirs is reused.
  recover_parts(cfg.path);
  if (ring) {
    if (auto r = probe_directory(cfg); !r) return r.error();
    return out;
  }
  // A file of that name is someone's capture (an earlier run's, or recovered just now): it is
  // never overwritten. This run writes the first free numbered name instead, and says so.
  constexpr unsigned kMaxTries = 10000;
  for (unsigned n = 0; n < kMaxTries; n++) {
    out.final = n == 0 ? cfg.path : numbered_name(cfg.path, n);
    out.part = out.final + std::string(kPartSuffix);
    if (::lstat(out.final.c_str(), &st) == 0) continue;
    Result<Fd> fd = create_locked(out.part);
    if (fd) {
      if (out.final != cfg.path)
        log_info("%s exists (xcap never overwrites a file): writing %s", cfg.path.c_str(),
                 out.final.c_str());
      out.fd = fd->get();
      out.owned = std::move(fd.value());
      return out;
    }
    if (fd.error().kind != ErrorKind::Exists) return fd.error();
  }
  return make_error(ErrorKind::Exists, "cannot create " + out.part + ": " + cfg.path +
                                           " and its numbered alternatives are all taken");
}

Result<void> validate(const FileRingConfig& cfg, unsigned n_workers) {
  if (cfg.path == "-" && cfg.rotating()) {
    return invalid_input(
        "stdout cannot rotate by size, time or file count: rotation needs file names");
  }
  if (cfg.split_by_source && cfg.path == "-")
    return invalid_input("stdout cannot be split by source: that writes one file ring per source");
  if (cfg.split_by_source && !cfg.interfaces) {
    return invalid_input(
        "file ring: split by source needs the interface table (decapsulation names the sources)");
  }
  if (n_workers == 0) return invalid_input("file ring: needs at least one worker");
  if (cfg.link_type > 0xffff && cfg.format == FileFormat::Pcapng)
    return invalid_input("file ring: link type does not fit pcapng's 16-bit field");
  return ok();
}

}  // namespace

class FileRingImpl final : public FileRing {
 public:
  static Result<std::unique_ptr<FileRing>> create(FileRingConfig cfg, unsigned n_workers);
  ~FileRingImpl() override {
    const bool first = !closed_;
    // Nobody else will see the error: say it here.
    if (auto r = close(); !r && first) log_error("%s", r.error().message.c_str());
  }

  FileRingProducer& producer(unsigned worker) override { return *producers_.at(worker); }
  Result<void> close() override;
  bool failed() const override { return writer_->failed(); }
  bool output_closed() const override { return writer_->output_closed(); }
  FileRingStats stats() const override;
  std::vector<std::string> completed_files() const override { return writer_->completed_files(); }

 private:
  // One worker's memory and its two rings; producers and the writer point into it.
  struct Worker {
    BlockArena arena;
    std::vector<RecordBlock> blocks;
    std::unique_ptr<BlockRing> full;
    std::unique_ptr<BlockRing> free;
  };

  FileRingConfig cfg_;
  Doorbell bell_;  // the writer sleeps on it; the producers ring it
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<std::unique_ptr<FileRingProducer>> producers_;
  std::unique_ptr<FileWriter> writer_;  // declared last: stops before the blocks go away
  std::mutex close_mu_;
  bool closed_ = false;
  Result<void> close_result_;
};

Result<std::unique_ptr<FileRing>> FileRingImpl::create(FileRingConfig cfg, unsigned n_workers) {
  if (cfg.snaplen == 0) cfg.snaplen = defaults::kSnaplen;
  if (auto r = validate(cfg, n_workers); !r) return r.error();
  if (cfg.block_bytes == 0)
    cfg.block_bytes =
        cfg.split_by_source ? FileRingConfig::kSplitBlockBytes : FileRingConfig::kDefaultBlockBytes;
  if (cfg.blocks_per_worker == 0)
    cfg.blocks_per_worker = cfg.split_by_source ? FileRingConfig::kSplitBlocksPerWorker
                                                : FileRingConfig::kDefaultBlocksPerWorker;

  const size_t capacity = block_capacity(cfg);
  const size_t stride = (capacity + kPage - 1) / kPage * kPage;  // page-aligned blocks

  auto ring = std::unique_ptr<FileRingImpl>(new FileRingImpl());
  ring->cfg_ = cfg;
  std::vector<WorkerRings> wiring;
  for (unsigned w = 0; w < n_workers; ++w) {
    auto worker = std::make_unique<Worker>();
    if (auto r = worker->arena.allocate(stride * cfg.blocks_per_worker); !r) return r.error();
    // Each ring can hold every block of the worker, so a push never fails.
    worker->full = std::make_unique<BlockRing>(cfg.blocks_per_worker);
    worker->free = std::make_unique<BlockRing>(cfg.blocks_per_worker);
    worker->blocks.resize(cfg.blocks_per_worker);
    for (size_t i = 0; i < cfg.blocks_per_worker; ++i) {
      RecordBlock& b = worker->blocks[i];
      b.data = worker->arena.base() + i * stride;
      b.capacity = capacity;
      (void)worker->free->try_push(&b);  // cannot fail: sized for all the worker's blocks
    }
    wiring.push_back({worker->full.get(), worker->free.get(), &ring->bell_});
    ring->producers_.push_back(std::unique_ptr<FileRingProducer>(
        new FileRingProducer(worker->full.get(), worker->free.get(), &ring->bell_, cfg)));
    ring->workers_.push_back(std::move(worker));
  }

  auto out = open_initial_output(cfg);
  if (!out) return out.error();
  ring->writer_ = std::make_unique<FileWriter>(cfg, std::move(wiring), std::move(out.value()));
  ring->writer_->start();
  log_debug("file ring: %s%s, %u workers x %zu blocks of %zu bytes", cfg.path.c_str(),
            cfg.split_by_source ? " (split by source)" : "", n_workers, cfg.blocks_per_worker,
            capacity);
  return std::unique_ptr<FileRing>(std::move(ring));
}

Result<void> FileRingImpl::close() {
  std::lock_guard lock(close_mu_);
  if (closed_ || !writer_) return close_result_;  // no writer: create() gave up half way
  closed_ = true;
  for (auto& p : producers_) p->seal();  // precondition: workers stopped appending
  close_result_ = writer_->stop();
  return close_result_;
}

FileRingStats FileRingImpl::stats() const {
  FileRingStats s;
  writer_->add_stats(s);
  for (const auto& p : producers_) s.backpressure_drops += p->backpressure_drops();
  return s;
}

Result<std::unique_ptr<FileRing>> FileRing::open(const FileRingConfig& cfg, unsigned n_workers) {
  if (cfg.path.empty()) return invalid_input("empty output path");
  auto ring = FileRingImpl::create(cfg, n_workers);
  if (!ring) return ring.error().context(cfg.path);  // the output it was asked for, first
  return ring;
}

}  // namespace xcap::sink
