#include "cli/capture_command.h"

#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "bpf_loader/interface_lock.h"
#include "bpf_loader/xcap_program.h"
#include "cli/capture_options.h"
#include "cli/capture_totals.h"
#include "common/log.h"
#include "metrics/metrics_server.h"
#include "source/xsk_source.h"
#include "worker/worker.h"

namespace xcap::cli {
namespace {

using bpf_loader::XcapProgram;

// The running pipeline. Member order is teardown order reversed: the metrics server goes
// first (it reads everything else), the interface lock last.
struct Capture {
  const CaptureOptions& opt;
  std::optional<bpf_loader::InterfaceLock> lock;
  std::unique_ptr<XcapProgram> prog;
  std::vector<std::unique_ptr<source::XskSource>> sources;
  std::shared_ptr<sink::InterfaceTable> interfaces;  // decap + pcapng or --split: one per source
  std::unique_ptr<sink::FileRing> file;
  worker::CaptureLimit limit;
  std::vector<std::unique_ptr<worker::Worker>> workers;
  std::unique_ptr<metrics::MetricsServer> metrics;

  explicit Capture(const CaptureOptions& o) : opt(o), limit(o.count) {}
  // Whatever state start() left: detach before the members go (workers, then sockets), so the
  // kernel never redirects to a socket being closed.
  ~Capture() {
    metrics.reset();
    if (prog) prog->detach();
  }

  CaptureTotals totals() const {
    CaptureTotals t;
    const bpf_loader::XdpCounters x = prog ? prog->counters() : bpf_loader::XdpCounters{};
    t.kernel += x[XCAP_CNT_NO_SOCKET];
    t.too_big += x[XCAP_CNT_TOO_BIG];
    for (const auto& s : sources) {
      auto k = s->kernel_stats();
      t.kernel += k.rx_dropped + k.rx_invalid_descs;
      t.ring += k.rx_ring_full;
      t.too_big += s->too_big();
    }
    for (const auto& w : workers) {
      if (w->decap()) t.decap_error += w->decap()->counters().dropped.get();
      t.filter_excluded += w->counters().filter_excluded.get();
    }
    t.filter_excluded += x[XCAP_CNT_FILTER_EXCLUDED];
    if (file) {
      auto fs = file->stats();
      t.captured = fs.written_packets;
      t.writer = fs.backpressure_drops + fs.write_error_drops;
    } else {
      for (const auto& w : workers) t.captured += w->counters().delivered.get();
    }
    return t;
  }

  void collect(metrics::FamilyBuilder& b) const;
};

void Capture::collect(metrics::FamilyBuilder& b) const {
  const std::string& ifc = opt.iface;
  b.gauge("xcap_build_info", "xcap build: version label, always 1", {{"version", XCAP_VERSION}}, 1);
  const char* drop_help = "Packets lost, by stage and reason";
  const char* excluded_help = "Packets the filter did not select, by where it decided";
  for (size_t i = 0; i < workers.size(); i++) {
    std::string q = std::to_string(sources[i]->queue());
    const auto& c = workers[i]->counters();
    b.counter("xcap_rx_packets_total", "Frames received from the AF_XDP socket of a queue",
              {{"iface", ifc}, {"queue", q}}, double(c.rx_packets.get()));
    b.counter("xcap_rx_bytes_total", "Bytes (wire length) received from the AF_XDP socket",
              {{"iface", ifc}, {"queue", q}}, double(c.rx_bytes.get()));
    b.counter("xcap_rx_batches_total", "Non-empty batches taken from the RX ring",
              {{"iface", ifc}, {"queue", q}}, double(c.batches.get()));
    auto k = sources[i]->kernel_stats();
    b.counter("xcap_dropped_packets_total", drop_help,
              {{"iface", ifc}, {"queue", q}, {"reason", "xsk_ring_full"}}, double(k.rx_ring_full));
    b.counter("xcap_dropped_packets_total", drop_help,
              {{"iface", ifc}, {"queue", q}, {"reason", "fill_ring_empty"}}, double(k.rx_dropped));
    b.counter("xcap_dropped_packets_total", drop_help,
              {{"iface", ifc}, {"queue", q}, {"reason", "xsk_invalid_desc"}},
              double(k.rx_invalid_descs));
    b.counter("xcap_dropped_packets_total", drop_help,
              {{"iface", ifc}, {"queue", q}, {"reason", "too_big"}}, double(sources[i]->too_big()));
    if (file)
      b.counter("xcap_dropped_packets_total", drop_help,
                {{"iface", ifc}, {"queue", q}, {"reason", "writer_backpressure"}},
                double(file->producer(unsigned(i)).backpressure_drops()));
    b.counter(
        "xcap_xsk_fill_ring_empty_events_total",
        "Times the kernel found the fill ring empty (a starved fill ring looks like a slow NIC)",
        {{"iface", ifc}, {"queue", q}}, double(k.fill_ring_empty_events));
    if (const worker::DecapStage* d = workers[i]->decap()) {
      const auto& dc = d->counters();
      b.counter("xcap_decapsulated_packets_total", "Frames with at least one tunnel stripped",
                {{"iface", ifc}, {"queue", q}}, double(dc.decapsulated.get()));
      for (unsigned t = 0; t < kTunnelCount; t++)
        if (uint64_t e = dc.errors[t].get(); e || Tunnel(t) != Tunnel::None)
          b.counter(
              "xcap_decap_errors_total",
              "Frames that failed to decapsulate, by the tunnel that failed (kept or dropped)",
              {{"iface", ifc}, {"queue", q}, {"tunnel", std::string(to_string(Tunnel(t)))}},
              double(e));
      b.counter("xcap_dropped_packets_total", drop_help,
                {{"iface", ifc}, {"queue", q}, {"reason", "decap_error"}},
                double(dc.dropped.get()));
      b.counter("xcap_decap_inner_kept_total",
                "Frames written as they stood above a nested tunnel level that did not parse "
                "(e.g. a customer's UDP to 4789 that is not VXLAN)",
                {{"iface", ifc}, {"queue", q}}, double(dc.inner_kept.get()));
    }
    b.counter("xcap_missing_metadata_packets_total",
              "Frames without XDP metadata, timestamped in user space instead",
              {{"iface", ifc}, {"queue", q}}, double(sources[i]->missing_meta()));
  }
  if (prog) {
    auto x = prog->counters();
    b.counter("xcap_xdp_packets_total", "Frames seen by the XDP program", {{"iface", ifc}},
              double(x[XCAP_CNT_RX_PACKETS]));
    b.counter("xcap_xdp_bytes_total", "Bytes seen by the XDP program", {{"iface", ifc}},
              double(x[XCAP_CNT_RX_BYTES]));
    const std::pair<const char*, xcap_counter> verdicts[] = {{"pass", XCAP_CNT_PASS},
                                                             {"redirect", XCAP_CNT_REDIRECT}};
    for (auto [name, idx] : verdicts)
      b.counter("xcap_xdp_verdicts_total", "XDP verdicts: pass to the host or redirect to capture",
                {{"iface", ifc}, {"verdict", name}}, double(x[idx]));
    const std::pair<const char*, xcap_counter> kinds[] = {{"vxlan", XCAP_CNT_VXLAN},
                                                          {"geneve", XCAP_CNT_GENEVE},
                                                          {"gre", XCAP_CNT_GRE},
                                                          {"malformed", XCAP_CNT_MALFORMED}};
    for (auto [name, idx] : kinds)
      b.counter("xcap_xdp_classified_packets_total", "Frames by what the XDP program found",
                {{"iface", ifc}, {"kind", name}}, double(x[idx]));
    b.counter("xcap_dropped_packets_total", drop_help,
              {{"iface", ifc}, {"queue", "any"}, {"reason", "xdp_no_socket"}},
              double(x[XCAP_CNT_NO_SOCKET]));
    b.counter("xcap_dropped_packets_total", drop_help,
              {{"iface", ifc}, {"queue", "any"}, {"reason", "too_big"}},
              double(x[XCAP_CNT_TOO_BIG]));
    b.counter("xcap_filter_excluded_packets_total", excluded_help,
              {{"iface", ifc}, {"where", "xdp"}}, double(x[XCAP_CNT_FILTER_EXCLUDED]));
    b.counter("xcap_xdp_not_ready_packets_total",
              "Frames for capture that came before every queue's socket was bound: passed to "
              "the host, neither captured nor dropped",
              {{"iface", ifc}}, double(x[XCAP_CNT_NOT_READY]));
    b.counter("xcap_xdp_filter_undecided_packets_total",
              "Captured frames the XDP filter left to the workers (GRE/ERSPAN, L3 GENEVE, nested)",
              {{"iface", ifc}}, double(x[XCAP_CNT_FILTER_UNDECIDED]));
  }
  CaptureTotals t = totals();
  b.counter("xcap_captured_packets_total", "Packets written to the sinks", {{"iface", ifc}},
            double(t.captured));
  uint64_t worker_excluded = 0;
  for (const auto& w : workers) worker_excluded += w->counters().filter_excluded.get();
  b.counter("xcap_filter_excluded_packets_total", excluded_help,
            {{"iface", ifc}, {"where", "worker"}}, double(worker_excluded));
  if (file) {
    auto fs = file->stats();
    b.counter("xcap_files_written_total", "Capture files completed (renamed from .part)",
              {{"iface", ifc}}, double(fs.files_completed));
    b.counter("xcap_files_deleted_total", "Capture files removed by -W", {{"iface", ifc}},
              double(fs.files_deleted));
    b.counter("xcap_written_bytes_total", "Bytes written to capture files", {{"iface", ifc}},
              double(fs.written_bytes));
    b.counter("xcap_dropped_packets_total", drop_help,
              {{"iface", ifc}, {"queue", "any"}, {"reason", "write_error"}},
              double(fs.write_error_drops));
  }
}

sink::FileRingConfig file_config(const CaptureOptions& o) {
  sink::FileRingConfig c;
  c.path = o.write_path;
  c.format = o.format;
  c.snaplen = o.snaplen;
  c.link_type = 1;
  c.iface_name = o.iface;
  c.rotate_bytes = o.rotate_mb * 1'000'000;
  c.rotate_seconds = o.rotate_seconds;
  c.max_files = o.max_files;
  c.split_by_source = o.split_by_source;
  return c;
}

// Moves this thread, and so every thread it starts from now on (the file writer, the metrics
// server), to the cores no worker is pinned to. A worker spins on its ring; any other thread
// that wakes on its core preempts it, and at 4 Mpps a 2048-slot ring overflows in half a
// millisecond. Workers set their own affinity. With no core to spare, nothing changes.
void keep_off_worker_cores(const std::vector<uint32_t>& queues, unsigned ncpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  unsigned spare = 0;
  for (unsigned cpu = 0; cpu < ncpu; cpu++)
    if (std::none_of(queues.begin(), queues.end(), [&](uint32_t q) { return q % ncpu == cpu; })) {
      CPU_SET(cpu, &set);
      spare++;
    }
  if (spare) pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

// Builds everything; on error returns it, and the destructors undo what was done.
Result<void> start(Capture& c) {
  const CaptureOptions& o = c.opt;
  auto lock = bpf_loader::InterfaceLock::acquire(o.iface);
  if (!lock) return lock.error();
  c.lock.emplace(std::move(lock.value()));
  if (auto r = bpf_loader::ensure_bpffs(); !r) return r.error();
  if (auto r = bpf_loader::remove_stale_programs(o.ifindex, o.iface); !r) return r.error();

  const unsigned ncpu = std::max(1u, std::thread::hardware_concurrency());
  auto worker_cpu = [&](uint32_t queue) { return o.pin_workers ? int(queue % ncpu) : -1; };
  if (o.pin_workers) keep_off_worker_cores(o.queues, ncpu);
  const bool decap = o.decap != DecapConfig::Mode::None;
  const bool pcapng = o.format == sink::FileFormat::Pcapng;
  if (decap && (pcapng || o.split_by_source))  // split: the names of the sources' files
    c.interfaces = std::make_shared<sink::InterfaceTable>(sink::InterfaceInfo{o.iface, 1});
  if (!o.write_path.empty()) {
    sink::FileRingConfig fc = file_config(o);
    fc.interfaces = c.interfaces;
    auto f = sink::FileRing::open(fc, unsigned(o.queues.size()));
    if (!f) return f.error();
    c.file = std::move(f.value());
  }

  bpf_loader::ProgramOptions po;
  po.ifname = o.iface;
  po.ifindex = o.ifindex;
  po.mode = o.mode;
  po.vxlan_ports = o.vxlan_ports;
  po.geneve_port = o.geneve_port;
  po.xdp_mode = o.xdp_mode;
  po.decap = bpf_loader::decap_tunnels(o.decap);
  auto prog = XcapProgram::attach(po);
  if (!prog) return prog.error();
  c.prog = std::move(prog.value());
  if (o.filter) {
    // Where the expression can be decided at XDP, unselected frames never cross into user
    // space. The workers filter too: frames XDP leaves undecided (GRE/ERSPAN, L3 GENEVE,
    // nested tunnels) are theirs, and for the others their verdict is the same.
    if (auto r = c.prog->install_xdp_filter(o.filter->ethernet().instructions()); r)
      log_info("filter \"%s\" runs in XDP (%s) and in the workers", o.filter->expression().c_str(),
               o.mode == XCAP_MODE_SPAN ? "on every frame" : "on VXLAN and GENEVE inner frames");
    else
      log_info("filter \"%s\" runs in the workers only: %s", o.filter->expression().c_str(),
               r.error().message.c_str());
  }

  for (uint32_t q : o.queues) {
    source::XskConfig xc;
    xc.ifname = o.iface;
    xc.queue = q;
    xc.frame_size = o.frame_size;
    xc.rx_size = o.rx_ring;
    xc.fill_size = o.fill_ring;
    xc.skb_mode = c.prog->attached_mode() == bpf_loader::XdpMode::Skb;
    xc.busy_poll = o.busy_poll;
    xc.mtu = interface_mtu(o.iface);
    // A way out for a driver whose multi-buffer misbehaves; jumbo frames are then too_big.
    const char* mb = getenv("XCAP_MULTI_BUFFER");
    xc.multi_buffer = !(mb && std::string(mb) == "off");
    auto s = source::XskSource::open(xc, c.prog->xsks_map_fd());
    if (!s) return s.error();
    c.sources.push_back(std::move(s.value()));
  }
  // Without multi-buffer a frame longer than a UMEM frame cannot reach the socket whole; the
  // XDP program drops it and counts it as too_big, instead of the kernel losing it among the
  // fill-ring drops.
  for (const auto& s : c.sources) {
    if (s->multi_buffer()) continue;
    const bool linear = s->kernel_linear_only();
    if (auto r = c.prog->set_max_frame(s->max_frame(), linear); !r) return r.error();
    log_info(
        "multi-buffer not available on %s (%s): frames over %u bytes%s are dropped and "
        "counted as too_big",
        o.iface.c_str(), s->multi_buffer_error().c_str(), s->max_frame(),
        linear ? " (and frames the driver split into fragments: on veth, over about 3,500)" : "");
    break;
  }
  if (o.filter) {
    if (decap && !o.filter->raw() && o.raw_ip_link)
      log_info("%s: bare IP inner frames (LINKTYPE_RAW) never match it",
               o.filter->raw_error().c_str());
  }

  for (size_t i = 0; i < c.sources.size(); i++) {
    worker::WorkerConfig wc;
    wc.batch_size = o.batch_size;
    wc.cpu = worker_cpu(c.sources[i]->queue());
    wc.rt_priority = o.rt_priority;
    std::unique_ptr<worker::DecapStage> stage;
    if (decap) {
      worker::DecapStageConfig dc;
      dc.decap.mode = o.decap;
      dc.decap.vxlan_ports = o.vxlan_ports;
      dc.decap.geneve_port = o.geneve_port;
      dc.decap.max_depth = o.decap_depth;
      dc.keep_errors = o.keep_decap_errors;
      dc.synthesize_ethernet = !o.raw_ip_link;
      dc.interfaces = c.interfaces.get();
      stage = std::make_unique<worker::DecapStage>(dc);
    }
    c.workers.push_back(std::make_unique<worker::Worker>(
        wc, *c.sources[i], std::move(stage), o.filter.get(),
        c.file ? &c.file->producer(unsigned(i)) : nullptr, c.limit));
  }
  for (auto& w : c.workers) w->start();
  // Every queue has its socket and worker: from here on a frame for capture is captured.
  if (auto r = c.prog->start_capturing(); !r) return r.error();

  // Last: a scrape reads every part built above.
  if (!o.metrics_addr.empty()) {
    auto m = metrics::MetricsServer::start(o.metrics_addr,
                                           [&c](metrics::FamilyBuilder& b) { c.collect(b); });
    if (!m) return m.error();
    c.metrics = std::move(m.value());
    log_info("metrics on http://%s/metrics", o.metrics_addr.c_str());
  }
  log_info("capturing on %s: %zu queue(s), %s mode, decap %s, AF_XDP %s", o.iface.c_str(),
           o.queues.size(), o.mode == XCAP_MODE_SPAN ? "span" : "mirror",
           std::string(to_string(o.decap)).c_str(),
           c.sources.front()->zero_copy() ? "zero-copy" : "copy");
  return ok();
}

enum class EndReason { Signal, Count, Duration, OutputClosed, OutputFailed, InterfaceGone };

// Waits for SIGINT/SIGTERM, -c, --duration, a failed output or the interface going away.
EndReason wait_for_end(Capture& c, const sigset_t& stop_signals) {
  using clock = std::chrono::steady_clock;
  const auto deadline = c.opt.duration_s > 0
                            ? clock::now() + std::chrono::duration_cast<clock::duration>(
                                                 std::chrono::duration<double>(c.opt.duration_s))
                            : clock::time_point::max();
  for (;;) {
    timespec tick{0, 20'000'000};
    int sig = sigtimedwait(&stop_signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) return EndReason::Signal;
    if (c.limit.reached()) return EndReason::Count;
    if (clock::now() >= deadline) return EndReason::Duration;
    if (c.file && c.file->failed()) {
      // A reader of -w - that left is the normal end of a pipe (the writer said so).
      if (c.file->output_closed()) return EndReason::OutputClosed;
      log_error("output failed; stopping");
      return EndReason::OutputFailed;
    }
    // Deleted (or moved to another namespace): its queues deliver nothing ever again.
    char name[IF_NAMESIZE];
    if (!if_indextoname(unsigned(c.opt.ifindex), name)) {
      log_error("interface %s (index %d) has disappeared; stopping and sealing the files",
                c.opt.iface.c_str(), c.opt.ifindex);
      return EndReason::InterfaceGone;
    }
  }
}

// Detach first so nothing new arrives, drain every ring, then flush the files.
void stop(Capture& c) {
  if (c.prog) c.prog->detach();
  for (auto& w : c.workers) w->drain();
  for (auto& w : c.workers) w->join();
  if (c.file) {
    if (auto r = c.file->close(); !r) log_error("%s", r.error().message.c_str());
  }
}

// With -v: where every frame went, for checking that the stats line adds up. Frames the XDP
// program redirected, found no socket for, dropped as too big, or its filter excluded equal
// captured + dropped (+ over -c).
void log_accounting(const Capture& c) {
  if (log_level() < LogLevel::Debug || !c.prog) return;
  auto x = c.prog->counters();
  uint64_t rx = 0, over = 0;
  for (const auto& w : c.workers) {
    rx += w->counters().rx_packets.get();
    over += w->counters().over_limit.get();
  }
  log_debug(
      "accounting: xdp seen %llu, passed %llu, redirected %llu, no-socket %llu, malformed %llu, "
      "filter-excluded %llu; sockets delivered %llu, over-count %llu; xdp too-big %llu; "
      "passed before start %llu",
      (unsigned long long)x[XCAP_CNT_RX_PACKETS], (unsigned long long)x[XCAP_CNT_PASS],
      (unsigned long long)x[XCAP_CNT_REDIRECT], (unsigned long long)x[XCAP_CNT_NO_SOCKET],
      (unsigned long long)x[XCAP_CNT_MALFORMED], (unsigned long long)x[XCAP_CNT_FILTER_EXCLUDED],
      (unsigned long long)rx, (unsigned long long)over, (unsigned long long)x[XCAP_CNT_TOO_BIG],
      (unsigned long long)x[XCAP_CNT_NOT_READY]);
}

}  // namespace

int capture_command(const std::vector<std::string>& args) {
  ParsedCapture parsed = parse_capture_args(args);
  if (!parsed.options) {
    if (parsed.exit_code == 0) {
      fputs(parsed.message.c_str(), stdout);
      return 0;
    }
    fprintf(stderr, "xcap capture: %s\n", parsed.message.c_str());
    return parsed.exit_code;
  }
  const CaptureOptions& o = *parsed.options;
  set_log_level(LogLevel(o.verbosity));

  // Signals are taken synchronously by the main thread; workers never see them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);  // a reader of -w - that goes away is an EPIPE, handled as failure

  Capture c(o);
  if (auto r = start(c); !r) {
    fprintf(stderr, "xcap: %s\n", r.error().message.c_str());
    return 1;
  }
  const EndReason end = wait_for_end(c, stop_signals);
  stop(c);
  CaptureTotals t = c.totals();
  c.metrics.reset();
  log_accounting(c);
  fprintf(stderr, "%s\n", stats_line(t).c_str());
  if (o.stats_json)
    fprintf(stderr, "%s\n",
            stats_json(t, capture_accounting(c.prog->counters(), c.workers)).c_str());
  const bool failed =
      end == EndReason::InterfaceGone || (c.file && c.file->failed() && !c.file->output_closed());
  return failed ? 1 : 0;
}

}  // namespace xcap::cli
