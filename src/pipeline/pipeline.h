// Pipeline: one running capture, built from CaptureOptions. It starts the pieces in dependency
// order and stops them in reverse:
//
//   start: interface lock -> file ring -> fanout + streaming server (--listen) -> XDP program
//          (+ filter, + the server's endpoint left out) -> one source per queue -> workers ->
//          arm the program -> metrics server (a replay: file source -> file ring -> worker ->
//          metrics server)
//   stop : detach XDP -> drain and join the workers -> end the streams -> close the file ring
//          -> drain the archiver (--archive-drain-timeout)
//
// A failed start tears down what was built, XDP detached before any socket closes. A replay
// (-r FILE) has one PcapFileSource and neither lock nor program. Each queue's source, worker
// and sink ends live together in a QueuePipeline.
//
// Local mode (--mode local, pipeline_local.cpp) has the same steps with other parts: a lock
// and a LocalProgram (XDP ingress + TC egress) per interface, and for each interface one
// RingbufSource and its worker, whose records carry that interface's pcapng id.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archive/archiver.h"
#include "bpf_loader/interface_lock.h"
#include "bpf_loader/local_program.h"
#include "bpf_loader/xcap_program.h"
#include "common/result.h"
#include "metrics/capture_snapshot.h"
#include "metrics/metrics_server.h"
#include "pipeline/capture_options.h"
#include "pipeline/health.h"
#include "sink/fanout/fanout.h"
#include "sink/fanout/stream_server.h"
#include "sink/file/file_ring.h"
#include "sink/interface_table.h"
#include "source/pcap_file_source.h"
#include "source/ringbuf_source.h"
#include "source/xsk_source.h"
#include "worker/capture_limit.h"
#include "worker/worker.h"

namespace xcap::pipeline {

// The step of Pipeline::start that failed, so the caller can name the option behind it.
enum class StartStep { Interface, Archive, Output, Input, Stream, Program, Sockets, Arm, Metrics };

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
  source::XskSource* socket = nullptr;             // the source, when it is an AF_XDP socket
  source::PcapFileSource* file_input = nullptr;    // the source, when it replays a file
  source::RingbufSource* ring = nullptr;           // the source, in local mode
  std::string iface;                               // local mode: the interface (label)
  sink::FileRingProducer* file = nullptr;          // this worker's end of the file ring
  sink::fanout::FanoutProducer* stream = nullptr;  // this worker's end of the fanout
  std::unique_ptr<worker::Worker> worker;          // declared last: it goes before its source
};

// Under xcap serve, captures start and stop as clients come and go, under one fanout (and
// one interface table) that outlives them all.
struct SharedStream {
  sink::fanout::Fanout* fanout = nullptr;  // started and stopped by its owner
  unsigned first_producer = 0;  // this capture's workers feed producers [first, first + queues)
  std::shared_ptr<sink::InterfaceTable> interfaces;  // null: every frame is interface 0
  uint32_t iface_id = 0;     // this capture's interface in the table (frames no source claimed)
  std::string self_address;  // the streaming server's, whose connections are never captured
  uint16_t self_port = 0;
};

class Pipeline {
 public:
  // On error, *failed (when given) says which step failed. shared: see SharedStream.
  static Result<std::unique_ptr<Pipeline>> start(const CaptureOptions& o,
                                                 StartStep* failed = nullptr,
                                                 const SharedStream* shared = nullptr);
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
  // What GET /healthz answers (health.h): asks the kernel whether XDP is still attached.
  Health health();
  // The XDP program (live capture), for xcap serve's filter changes; null for a replay.
  bpf_loader::XcapProgram* program() { return prog_.get(); }
  // xcap serve: the kernel filter (XDP, or local mode's XDP and TC programs) becomes this
  // Ethernet cBPF program, or none when it is empty (see XcapProgram::replace_xdp_filter).
  Result<void> replace_kernel_filter(std::span<const CbpfInsn> ethernet_program);
  // The output failed (not merely closed by its reader), or the replayed file could not be
  // read to its end; the reason was logged.
  bool failed() const;

 private:
  Pipeline(const CaptureOptions& o, const SharedStream* shared);
  Result<void> acquire_interface();
  Result<void> check_archive();  // --archive: credentials and bucket, before any file
  Result<void> open_files();
  Result<void> open_stream();
  Result<void> attach_program();
  Result<void> open_sockets();
  Result<void> open_replay();
  void start_workers();
  Result<void> arm();
  Result<void> serve_metrics();
  // Local mode (pipeline_local.cpp).
  Result<void> acquire_local_interfaces();
  Result<void> attach_local();
  Result<void> open_rings();
  Result<void> arm_local();
  void detach_programs();
  void local_snapshot(metrics::CaptureSnapshot& s) const;
  metrics::QueueSnapshot queue_snapshot(const QueuePipeline& q) const;
  bool interface_gone() const;

  const CaptureOptions opt_;
  const std::string input_;  // the interface, or the replayed file's name: labels, interface 0
  std::optional<bpf_loader::InterfaceLock> lock_;
  std::unique_ptr<bpf_loader::XcapProgram> prog_;
  std::vector<bpf_loader::InterfaceLock> local_locks_;            // local mode
  std::vector<std::unique_ptr<bpf_loader::LocalProgram>> local_;  // local mode, per -i
  std::shared_ptr<sink::InterfaceTable> interfaces_;  // pcapng or --split with decapsulation
  std::unique_ptr<archive::Archiver> archiver_;       // --archive/-z; outlives file_ (its callback)
  std::unique_ptr<sink::FileRing> file_;
  std::unique_ptr<sink::fanout::Fanout> own_fanout_;  // --listen, unless shared
  sink::fanout::Fanout* fanout_ = nullptr;            // own_fanout_ or the shared one
  const std::optional<SharedStream> shared_;
  std::unique_ptr<sink::fanout::StreamServer> server_;  // --listen, unless shared
  std::string self_address_;  // the streaming server's endpoint: never captured
  uint16_t self_port_ = 0;
  worker::CaptureLimit limit_;
  std::vector<QueuePipeline> queues_;
  std::unique_ptr<metrics::MetricsServer> metrics_;
  HealthCheck health_;
  bool stopped_ = false;
  bool close_failed_ = false;
};

}  // namespace xcap::pipeline
