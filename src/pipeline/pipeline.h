// Pipeline: one running capture, built from CaptureOptions. It starts the pieces in dependency
// order and stops them in reverse:
//
//   start: interface lock -> file ring -> XDP program (+ filter) -> one source per queue ->
//          workers -> arm the program -> metrics server (a replay: file source -> file ring ->
//          worker -> metrics server)
//   stop : detach XDP -> drain and join the workers -> close the file ring
//
// A failed start tears down what was built, XDP detached before any socket closes. A replay
// (-r FILE) has one PcapFileSource and neither lock nor program. Each queue's source, worker
// and sink ends live together in a QueuePipeline.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bpf_loader/interface_lock.h"
#include "bpf_loader/xcap_program.h"
#include "common/result.h"
#include "metrics/capture_snapshot.h"
#include "metrics/metrics_server.h"
#include "pipeline/capture_options.h"
#include "sink/file/file_ring.h"
#include "sink/interface_table.h"
#include "source/pcap_file_source.h"
#include "source/xsk_source.h"
#include "worker/capture_limit.h"
#include "worker/worker.h"

namespace xcap::pipeline {

// The step of Pipeline::start that failed, so the caller can name the option behind it.
enum class StartStep { Interface, Output, Input, Program, Sockets, Arm, Metrics };

// Why a capture ended (the caller's own reasons, signals and --duration, included).
enum class EndReason {
  Signal,
  Count,
  Duration,
  InputDone,
  OutputClosed,
  OutputFailed,
  InterfaceGone
};

// One worker's part: its source, the worker, and its ends of the sinks.
struct QueuePipeline {
  std::unique_ptr<source::Source> source;
  source::XskSource* socket = nullptr;           // the source, when it is an AF_XDP socket
  source::PcapFileSource* file_input = nullptr;  // the source, when it replays a file
  sink::FileRingProducer* file = nullptr;        // this worker's end of the file ring
  std::unique_ptr<worker::Worker> worker;        // declared last: it goes before its source
};

class Pipeline {
 public:
  // On error, *failed (when given) says which step failed.
  static Result<std::unique_ptr<Pipeline>> start(const CaptureOptions& o,
                                                 StartStep* failed = nullptr);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Why the capture must end now, or nullopt: -c reached, the replayed file done, the output
  // closed or failed, the interface gone. Cheap enough to call every few milliseconds.
  std::optional<EndReason> should_end() const;
  // Detaches, drains every worker, closes the files. Idempotent.
  void stop();
  // Every counter, read now (any thread: the metrics server calls it per scrape).
  metrics::CaptureSnapshot snapshot() const;
  // The output failed (not merely closed by its reader), or the replayed file could not be
  // read to its end; the reason was logged.
  bool failed() const;

 private:
  explicit Pipeline(const CaptureOptions& o);
  Result<void> acquire_interface();
  Result<void> open_files();
  Result<void> attach_program();
  Result<void> open_sockets();
  Result<void> open_replay();
  void start_workers();
  Result<void> arm();
  Result<void> serve_metrics();
  metrics::QueueSnapshot queue_snapshot(const QueuePipeline& q) const;
  bool interface_gone() const;

  const CaptureOptions opt_;
  const std::string input_;  // the interface, or the replayed file's name: labels, interface 0
  std::optional<bpf_loader::InterfaceLock> lock_;
  std::unique_ptr<bpf_loader::XcapProgram> prog_;
  std::shared_ptr<sink::InterfaceTable> interfaces_;  // pcapng or --split with decapsulation
  std::unique_ptr<sink::FileRing> file_;
  worker::CaptureLimit limit_;
  std::vector<QueuePipeline> queues_;
  std::unique_ptr<metrics::MetricsServer> metrics_;
  bool stopped_ = false;
  bool close_failed_ = false;
};

}  // namespace xcap::pipeline
