#include "pipeline/pipeline.h"

#include <net/if.h>
#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include "common/capabilities.h"
#include "common/log.h"
#include "common/monotonic_clock.h"
#include "metrics/capture_metrics.h"
#include "pipeline/stream_server_options.h"
#include "sink/file/file_namer.h"

namespace xcap::pipeline {
namespace {

unsigned cpu_count() {
  return std::max(1u, std::thread::hardware_concurrency());
}

// Moves this thread, and so every thread it starts from now on (the file writer, the metrics
// server), to the cores no worker is pinned to. Any other thread that runs on a worker's core
// delays the worker's next batch (a napping worker wakes a scheduler tick late behind it),
// and the RX ring fills meanwhile. Workers set their own affinity. With no core to spare,
// nothing changes.
void keep_off_worker_cores(const std::vector<uint32_t>& queues) {
  const unsigned ncpu = cpu_count();
  cpu_set_t set;
  CPU_ZERO(&set);
  unsigned spare = 0;
  for (unsigned cpu = 0; cpu < ncpu; cpu++)
    if (std::none_of(queues.begin(), queues.end(), [&](uint32_t q) { return q % ncpu == cpu; })) {
      CPU_SET(cpu, &set);
      spare++;
    }
  // Best effort: should the kernel refuse, the threads only share cores with the workers.
  if (spare && pthread_setaffinity_np(pthread_self(), sizeof set, &set) != 0)
    log_debug("cannot keep xcap's other threads off the workers' cores");
}

sink::FileRingConfig file_config(const CaptureOptions& o, const std::string& input) {
  sink::FileRingConfig c;
  c.path = o.write_path;
  c.format = o.format;
  c.snaplen = o.snaplen;
  c.link_type = linktype_value(LinkType::Ethernet);
  c.iface_name = input;
  c.rotate_bytes = o.rotate_mb * 1'000'000;
  c.rotate_seconds = o.rotate_seconds;
  c.max_files = o.max_files;
  c.split_by_source = o.split_by_source;
  return c;
}

worker::WorkerStages worker_stages(const CaptureOptions& o, sink::InterfaceTable* interfaces) {
  worker::WorkerStages st;
  DecapConfig decap;
  decap.mode = o.decap;
  decap.vxlan_ports = o.vxlan_ports;
  decap.geneve_port = o.geneve_port;
  decap.max_depth = o.decap_depth;
  // Live, the XDP program took only mirror traffic already.
  if (o.replay() && o.mode == XCAP_MODE_MIRROR)
    st.select = std::make_unique<worker::MirrorSelect>(decap);
  if (o.decap != DecapConfig::Mode::None) {
    worker::DecapStageConfig dc;
    dc.decap = decap;
    dc.keep_errors = o.keep_decap_errors;
    dc.synthesize_ethernet = !o.raw_ip_link;
    dc.interfaces = interfaces;
    st.decap = std::make_unique<worker::DecapStage>(dc);
  }
  st.filter = o.filter.get();
  return st;
}

}  // namespace

Pipeline::Pipeline(const CaptureOptions& o, const SharedStream* shared)
    : opt_(o),
      input_(o.replay() ? std::filesystem::path(o.read_path).filename().string() : o.iface),
      shared_(shared ? std::optional<SharedStream>(*shared) : std::nullopt),
      limit_(o.count) {
  if (shared_) {
    interfaces_ = shared_->interfaces;
    self_address_ = shared_->self_address;
    self_port_ = shared_->self_port;
  }
}

Result<std::unique_ptr<Pipeline>> Pipeline::start(const CaptureOptions& o, StartStep* failed,
                                                  const SharedStream* shared) {
  std::unique_ptr<Pipeline> p(new Pipeline(o, shared));
  StartStep ignored;
  StartStep& step = failed ? *failed : ignored;
  auto run = [&](StartStep s, Result<void> (Pipeline::*f)()) {
    step = s;
    return (p.get()->*f)();
  };
  if (o.replay()) {  // the input is checked before an output file is made
    if (auto r = run(StartStep::Input, &Pipeline::open_replay); !r) return r.error();
    if (auto r = run(StartStep::Archive, &Pipeline::check_archive); !r) return r.error();
    if (auto r = run(StartStep::Output, &Pipeline::open_files); !r) return r.error();
  } else if (o.local()) {
    if (auto r = run(StartStep::Interface, &Pipeline::acquire_local_interfaces); !r)
      return r.error();
    if (auto r = run(StartStep::Output, &Pipeline::open_files); !r) return r.error();
    if (auto r = run(StartStep::Stream, &Pipeline::open_stream); !r) return r.error();
    if (auto r = run(StartStep::Program, &Pipeline::attach_local); !r) return r.error();
    if (auto r = run(StartStep::Sockets, &Pipeline::open_rings); !r) return r.error();
  } else {
    if (auto r = run(StartStep::Interface, &Pipeline::acquire_interface); !r) return r.error();
    if (o.pin_workers) keep_off_worker_cores(o.queues);
    if (auto r = run(StartStep::Archive, &Pipeline::check_archive); !r) return r.error();
    if (auto r = run(StartStep::Output, &Pipeline::open_files); !r) return r.error();
    if (auto r = run(StartStep::Stream, &Pipeline::open_stream); !r) return r.error();
    if (auto r = run(StartStep::Program, &Pipeline::attach_program); !r) return r.error();
    if (auto r = run(StartStep::Sockets, &Pipeline::open_sockets); !r) return r.error();
  }
  p->start_workers();
  if (auto r = run(StartStep::Arm, &Pipeline::arm); !r) return r.error();
  // Last: it reads everything above.
  if (auto r = run(StartStep::Metrics, &Pipeline::serve_metrics); !r) return r.error();
  return p;
}

Pipeline::~Pipeline() {
  // Whatever start() or stop() left: no scrape during teardown, and XDP detached before the
  // members go (workers, then sockets), so the kernel never redirects to a closing socket.
  metrics_.reset();
  detach_programs();
}

Result<void> Pipeline::acquire_interface() {
  const uint64_t umem_bytes =
      uint64_t(opt_.queues.size()) * opt_.fill_ring * std::max<uint32_t>(opt_.frame_size, 2048);
  if (auto r = check_capture_capabilities(umem_bytes); !r) return r.error();
  auto lock =
      bpf_loader::InterfaceLock::acquire(opt_.iface, bpf_loader::InterfaceLock::default_dir());
  if (!lock) return lock.error();
  lock_.emplace(std::move(lock.value()));
  if (auto r = bpf_loader::ensure_bpffs(); !r) return r.error();
  if (auto r = bpf_loader::remove_stale_programs(opt_.ifindex, opt_.iface); !r) return r.error();
  return ok();
}

Result<void> Pipeline::open_files() {
  const bool decap = opt_.decap != DecapConfig::Mode::None;
  const bool pcapng = opt_.format == sink::FileFormat::Pcapng;
  const bool streaming = !opt_.stream.listen.empty();  // streams are pcapng
  if (!interfaces_ && ((decap && (pcapng || opt_.split_by_source || streaming)) ||
                       opt_.local_ifaces.size() > 1)) {  // split: the sources' files
    const uint32_t ethernet = linktype_value(LinkType::Ethernet);
    interfaces_ = std::make_shared<sink::InterfaceTable>(sink::InterfaceInfo{input_, ethernet});
    for (size_t i = 1; i < opt_.local_ifaces.size(); i++)  // local mode: one per -i, in order
      interfaces_->add(opt_.local_ifaces[i], ethernet);
  }
  if (opt_.write_path.empty()) return ok();
  sink::FileRingConfig fc = file_config(opt_, input_);
  fc.interfaces = interfaces_;
  if (opt_.archive.enabled()) {
    archiver_ = archive::Archiver::create(opt_.archive, sink::rotation_base(opt_.write_path));
    fc.on_completed = [a = archiver_.get()](const std::string& path) { a->file_completed(path); };
  }
  const unsigned workers = opt_.replay() ? 1 : unsigned(opt_.queues.size());
  auto f = sink::FileRing::open(fc, workers);  // seals what dead runs left first
  if (!f) return f.error();
  file_ = std::move(f.value());
  if (archiver_) archiver_->start();  // then ships the spool, earlier runs' files first
  return ok();
}

Result<void> Pipeline::check_archive() {
  return archive::check_store(opt_.archive);
}

Result<void> Pipeline::open_stream() {
  if (shared_) {
    fanout_ = shared_->fanout;
    return ok();
  }
  if (opt_.stream.listen.empty()) return ok();
  sink::fanout::FanoutConfig fc;
  fc.workers = unsigned(opt_.queues.size());
  fc.interfaces = interfaces_;
  fc.iface0 = input_;
  auto f = sink::fanout::Fanout::open(fc);
  if (!f) return f.error();
  own_fanout_ = std::move(f.value());
  fanout_ = own_fanout_.get();
  auto cfg = stream_server_config(opt_.stream);
  if (!cfg) return cfg.error();
  auto server = sink::fanout::StreamServer::start(*cfg, *own_fanout_);
  if (!server) return server.error();
  server_ = std::move(server.value());
  const auto endpoints = server_->endpoints();
  if (!endpoints.empty())
    self_address_ = endpoints.front().address, self_port_ = endpoints.front().port;
  return ok();
}

Result<void> Pipeline::attach_program() {
  bpf_loader::ProgramOptions po;
  po.ifname = opt_.iface;
  po.ifindex = opt_.ifindex;
  po.mode = opt_.mode;
  po.vxlan_ports = opt_.vxlan_ports;
  po.geneve_port = opt_.geneve_port;
  po.xdp_mode = opt_.xdp_mode;
  po.decap = bpf_loader::decap_tunnels(opt_.decap);
  po.wake_threshold = std::max(1u, opt_.rx_ring / defaults::kWakeRingFraction);
  auto prog = bpf_loader::XcapProgram::attach(po);
  if (!prog) return prog.error();
  prog_ = std::move(prog.value());
  if (self_port_)
    if (auto r = prog_->set_self_endpoint(self_address_, self_port_); !r) return r.error();
  if (!opt_.filter) return ok();
  // Where the expression can be decided at XDP, unselected frames never cross into user
  // space. The workers filter too: frames XDP leaves undecided (GRE/ERSPAN, L3 GENEVE, nested
  // tunnels) are theirs, and for the others their verdict is the same.
  const char* expr = opt_.filter->expression().c_str();
  if (auto r = prog_->install_xdp_filter(opt_.filter->ethernet().instructions()); r)
    log_info("filter \"%s\" runs in XDP (%s) and in the workers", expr,
             opt_.mode == XCAP_MODE_SPAN ? "on every frame" : "on VXLAN and GENEVE inner frames");
  else
    log_info("filter \"%s\" runs in the workers only: %s", expr, r.error().message.c_str());
  return ok();
}

Result<void> Pipeline::open_sockets() {
  for (uint32_t q : opt_.queues) {
    source::XskConfig xc;
    xc.ifname = opt_.iface;
    xc.queue = q;
    xc.frame_size = opt_.frame_size;
    xc.rx_size = opt_.rx_ring;
    xc.fill_size = opt_.fill_ring;
    xc.skb_mode = prog_->attached_mode() == bpf_loader::XdpMode::Skb;
    xc.busy_poll = opt_.busy_poll;
    xc.mtu = opt_.mtu;
    // A way out for a driver whose multi-buffer misbehaves; jumbo frames are then too_big.
    const char* mb = getenv("XCAP_MULTI_BUFFER");
    xc.multi_buffer = !(mb && std::string(mb) == "off");
    auto s = source::XskSource::open(xc, prog_->xsks_map_fd());
    if (!s) return s.error();
    // Without early wake-up the worker keeps its naps short (start_workers): a burst must
    // fit in the ring during one.
    auto wake = source::WakeChannel::open(prog_->wake_rings_fd(), prog_->wake_slot(q), q);
    if (wake)
      (*s)->set_wake(std::move(wake.value()));
    else
      log_info("queue %u: no early wake-up (%s): shorter naps", q, wake.error().message.c_str());
    QueuePipeline qp;
    qp.socket = s->get();
    qp.source = std::move(s.value());
    queues_.push_back(std::move(qp));
  }
  // Without multi-buffer a frame longer than a UMEM frame cannot reach the socket whole; the
  // XDP program drops it and counts it as too_big, instead of the kernel losing it among the
  // fill-ring drops.
  for (const QueuePipeline& qp : queues_) {
    const source::XskSource& s = *qp.socket;
    if (s.multi_buffer()) continue;
    const bool linear = s.kernel_linear_only();
    if (auto r = prog_->set_max_frame(s.max_frame(), linear); !r) return r.error();
    log_info(
        "multi-buffer not available on %s (%s): frames over %u bytes%s are dropped and "
        "counted as too_big",
        opt_.iface.c_str(), s.multi_buffer_error().c_str(), s.max_frame(),
        linear ? " (and frames the driver split into fragments: on veth, over about 3,500)" : "");
    break;
  }
  return ok();
}

Result<void> Pipeline::open_replay() {
  auto s = source::PcapFileSource::open(opt_.read_path);
  if (!s) return s.error();
  QueuePipeline qp;
  qp.file_input = s->get();
  qp.source = std::move(s.value());
  queues_.push_back(std::move(qp));
  return ok();
}

void Pipeline::start_workers() {
  const unsigned ncpu = cpu_count();
  for (size_t i = 0; i < queues_.size(); i++) {
    QueuePipeline& qp = queues_[i];
    worker::WorkerConfig wc;
    wc.batch_size = opt_.batch_size;
    const bool pin = opt_.pin_workers && !opt_.replay();
    wc.cpu = pin ? int(qp.source->queue() % ncpu) : -1;
    wc.rt_priority = opt_.rt_priority;
    wc.nap_target = std::max(1u, opt_.rx_ring / 8);
    if (qp.socket && qp.socket->wakes_early()) wc.nap_max_ns = defaults::kWorkerNapMaxWokenNs;
    if (shared_) wc.iface_id = shared_->iface_id;
    if (opt_.local()) {
      // A ring buffer source sleeps between short drains: no core to pin, no spinning.
      wc.cpu = -1;
      wc.nap_max_ns = defaults::kWorkerNapMaxWokenNs;  // a quarter-full ring wakes it early
      if (!shared_) wc.iface_id = uint32_t(i);
    }
    std::vector<sink::WorkerSink*> sinks;
    if (file_) {
      qp.file = &file_->producer(unsigned(i));
      sinks.push_back(qp.file);
    }
    if (fanout_) {
      qp.stream = &fanout_->producer((shared_ ? shared_->first_producer : 0) + unsigned(i));
      sinks.push_back(qp.stream);
    }
    qp.worker = std::make_unique<worker::Worker>(
        wc, *qp.source, worker_stages(opt_, interfaces_.get()), std::move(sinks), limit_);
  }
  for (QueuePipeline& qp : queues_) qp.worker->start();
  if (own_fanout_) own_fanout_->start();
}

Result<void> Pipeline::arm() {
  if (opt_.filter && opt_.decap != DecapConfig::Mode::None && !opt_.filter->raw() &&
      opt_.raw_ip_link)
    log_info("%s: bare IP inner frames (LINKTYPE_RAW) never match it",
             opt_.filter->raw_error().c_str());
  if (opt_.replay()) {
    log_info("replaying %s: decap %s", opt_.read_path.c_str(),
             std::string(to_string(opt_.decap)).c_str());
    return ok();
  }
  if (opt_.local()) return arm_local();
  // Every queue has its socket and worker: from here on a frame for capture is captured.
  if (auto r = prog_->start_capturing(); !r) return r.error();
  const source::XskSource& first = *queues_.front().socket;
  log_info("capturing on %s: %zu queue(s), %s mode, decap %s, AF_XDP %s%s", opt_.iface.c_str(),
           opt_.queues.size(), opt_.mode == XCAP_MODE_SPAN ? "span" : "mirror",
           std::string(to_string(opt_.decap)).c_str(), first.zero_copy() ? "zero-copy" : "copy",
           first.multi_buffer() ? ", multi-buffer" : "");
  return ok();
}

Result<void> Pipeline::serve_metrics() {
  if (opt_.metrics_addr.empty()) return ok();
  auto m = metrics::MetricsServer::start(
      opt_.metrics_addr,
      [this](metrics::FamilyBuilder& b) {
        metrics::CaptureSnapshot s = snapshot();
        if (prog_) {
          // One netlink query serves both gauges.
          const Health h = health();
          s.health = true;
          s.healthy = h.ok;
          s.xdp_attached = h.xdp_attached;
        }
        metrics::render_capture_metrics(s, b);
      },
      [this] {
        const Health h = health();
        return metrics::HealthAnswer{h.ok, h.reason};
      });
  if (!m) return m.error();
  metrics_ = std::move(m.value());
  log_info("metrics on http://%s/metrics", opt_.metrics_addr.c_str());
  return ok();
}

Health Pipeline::health() {
  HealthInputs in;
  in.iface = opt_.iface;
  in.xdp = !opt_.replay();
  in.xdp_attached = prog_ && prog_->still_attached();
  for (const QueuePipeline& q : queues_)
    in.queues.emplace_back(q.source->queue(), q.worker && q.worker->running());
  if (file_) {
    const sink::FileRingStats st = file_->stats();
    in.file = true;
    in.file_failed = file_->failed();
    in.write_started_ns = st.write_started_ns;
    in.backpressure_drops = st.backpressure_drops;
  }
  return health_.evaluate(in, monotonic_ns());
}

bool Pipeline::interface_gone() const {
  char name[IF_NAMESIZE];
  return !opt_.replay() && !if_indextoname(unsigned(opt_.ifindex), name);
}

std::optional<EndReason> Pipeline::should_end() const {
  if (limit_.reached()) return EndReason::Count;
  if (opt_.replay() && std::all_of(queues_.begin(), queues_.end(),
                                   [](const QueuePipeline& q) { return q.worker->finished(); }))
    return EndReason::InputDone;
  // A reader of -w - that left is the normal end of a pipe (the writer said so).
  if (file_ && file_->failed())
    return file_->output_closed() ? EndReason::OutputClosed : EndReason::OutputFailed;
  // Deleted (or moved to another namespace): its queues deliver nothing ever again.
  if (interface_gone()) return EndReason::InterfaceGone;
  return std::nullopt;
}

void Pipeline::stop() {
  if (stopped_) return;
  stopped_ = true;
  detach_programs();  // nothing new arrives
  for (QueuePipeline& q : queues_) q.worker->drain();
  for (QueuePipeline& q : queues_) q.worker->join();
  // Every stream gets what the workers handed on and its last statistics block, then the
  // server lets the clients take it.
  if (own_fanout_) own_fanout_->stop("end: server stopping");
  if (server_) server_->stop("end: server stopping");
  if (file_) {
    if (auto r = file_->close(); !r) {
      log_error("%s", r.error().message.c_str());
      close_failed_ = true;
    }
  }
  // The last file is complete now: upload what is complete, bounded.
  if (archiver_) archiver_->drain_and_stop(opt_.archive.drain_timeout_s);
  for (const QueuePipeline& q : queues_)
    if (q.file_input && !q.file_input->read_error().empty())
      log_error("-r %s: read error after %llu records: %s", opt_.read_path.c_str(),
                (unsigned long long)q.file_input->records(), q.file_input->read_error().c_str());
}

bool Pipeline::failed() const {
  if (file_ && file_->failed() && !file_->output_closed()) return true;
  if (close_failed_) return true;
  return std::any_of(queues_.begin(), queues_.end(), [](const QueuePipeline& q) {
    return q.file_input && !q.file_input->read_error().empty();
  });
}

metrics::QueueSnapshot Pipeline::queue_snapshot(const QueuePipeline& q) const {
  metrics::QueueSnapshot s;
  s.queue = q.source->queue();
  s.iface = q.iface;
  const worker::WorkerCounters& c = q.worker->counters();
  s.rx_packets = c.rx_packets.get();
  s.rx_bytes = c.rx_bytes.get();
  s.batches = c.batches.get();
  s.filter_excluded = c.filter_excluded.get();
  s.delivered = c.delivered.get();
  s.over_limit = c.over_limit.get();
  if (q.socket) {
    const source::XskKernelStats k = q.socket->kernel_stats();
    s.socket = true;
    s.xsk_ring_full = k.rx_ring_full;
    s.fill_ring_empty = k.rx_dropped;
    s.invalid_descs = k.rx_invalid_descs;
    s.fill_ring_empty_events = k.fill_ring_empty_events;
    s.missing_meta = q.socket->missing_meta();
    s.too_big = q.socket->too_big();
    s.zero_copy = q.socket->zero_copy();
    s.multi_buffer = q.socket->multi_buffer();
  }
  if (const worker::SourceCounters* sc = q.worker->source_counters(); sc && interfaces_) {
    const uint32_t n = std::min(interfaces_->published(), worker::SourceCounters::kSlots);
    for (uint32_t id = 0; id < n; id++) {
      s.source_packets.push_back(sc->packets(id));
      s.source_bytes.push_back(sc->bytes(id));
    }
  }
  if (const worker::DecapStage* d = q.worker->decap()) {
    const worker::DecapCounters& dc = d->counters();
    s.decap = true;
    s.decapsulated = dc.decapsulated.get();
    s.decap_dropped = dc.dropped.get();
    s.inner_kept = dc.inner_kept.get();
    for (unsigned t = 0; t < kTunnelCount; t++) s.decap_errors[t] = dc.errors[t].get();
  }
  if (const worker::MirrorSelect* m = q.worker->mirror_select()) {
    s.replay_select = true;
    s.not_mirror = m->skipped().get();
  }
  if (q.file) {
    s.file = true;
    s.writer_backpressure = q.file->backpressure_drops();
  }
  return s;
}

metrics::CaptureSnapshot Pipeline::snapshot() const {
  metrics::CaptureSnapshot s;
  s.input = input_;
  for (const QueuePipeline& q : queues_)
    if (q.worker) s.queues.push_back(queue_snapshot(q));
  local_snapshot(s);
  if (prog_) {
    s.xdp = true;
    const bpf_loader::XdpCounters x = prog_->counters();
    std::copy(std::begin(x.v), std::end(x.v), s.xdp_counters.begin());
  }
  if (file_) {
    const sink::FileRingStats fs = file_->stats();
    s.file = true;
    s.files = {fs.written_packets,   fs.written_bytes,   fs.backpressure_drops,
               fs.write_error_drops, fs.files_completed, fs.files_deleted};
  }
  if (interfaces_) {
    const uint32_t n = std::min(interfaces_->published(), worker::SourceCounters::kSlots);
    for (uint32_t id = 0; id < n; id++)
      s.source_names.push_back(id == worker::SourceCounters::kSlots - 1 ? "other"
                                                                        : interfaces_->at(id).name);
  }
  if (archiver_) {
    s.archive = true;
    s.archived = archiver_->stats();
  }
  if (own_fanout_) {  // a shared fanout is its owner's to report
    s.stream = true;
    s.streams.active = own_fanout_->subscriptions().size();
    s.streams.handoff_drops = own_fanout_->handoff_drops();
    s.streams.dropped_by_client = server_->dropped_by_client();
  }
  return s;
}

}  // namespace xcap::pipeline
