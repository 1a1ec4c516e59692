#include "metrics/capture_metrics.h"

#include <algorithm>
#include <map>
#include <utility>

namespace xcap::metrics {
namespace {

constexpr const char* kDropHelp = "Packets lost, by stage and reason";
constexpr const char* kExcludedHelp = "Packets the filter did not select, by where it decided";

void drop(FamilyBuilder& b, const std::string& in, const std::string& queue, const char* reason,
          uint64_t n) {
  b.counter("xcap_dropped_packets_total", kDropHelp,
            {{"iface", in}, {"queue", queue}, {"reason", reason}}, double(n));
}

void render_socket(const std::string& in, const std::string& q, const QueueSnapshot& s,
                   FamilyBuilder& b) {
  drop(b, in, q, "xsk_ring_full", s.xsk_ring_full);
  drop(b, in, q, "fill_ring_empty", s.fill_ring_empty);
  drop(b, in, q, "xsk_invalid_desc", s.invalid_descs);
  drop(b, in, q, "too_big", s.too_big);
  b.counter(
      "xcap_xsk_fill_ring_empty_events_total",
      "Times the kernel found the fill ring empty (a starved fill ring looks like a slow NIC)",
      {{"iface", in}, {"queue", q}}, double(s.fill_ring_empty_events));
  b.counter("xcap_missing_metadata_packets_total",
            "Frames without XDP metadata, timestamped in user space instead",
            {{"iface", in}, {"queue", q}}, double(s.missing_meta));
  b.gauge("xcap_socket_info",
          "How a queue's AF_XDP socket was bound, always 1: zero-copy (the driver's own "
          "buffers) or copy mode, and whether frames longer than a UMEM frame arrive whole",
          {{"iface", in},
           {"queue", q},
           {"mode", s.zero_copy ? "zero-copy" : "copy"},
           {"multi_buffer", s.multi_buffer ? "true" : "false"}},
          1);
}

void render_decap(const std::string& in, const std::string& q, const QueueSnapshot& s,
                  FamilyBuilder& b) {
  b.counter("xcap_decapsulated_packets_total", "Frames with at least one tunnel stripped",
            {{"iface", in}, {"queue", q}}, double(s.decapsulated));
  for (unsigned t = 0; t < kTunnelCount; t++)
    if (uint64_t e = s.decap_errors[t]; e || Tunnel(t) != Tunnel::None)
      b.counter("xcap_decap_errors_total",
                "Frames whose mirror tunnel failed to decapsulate, by its type (kept or dropped)",
                {{"iface", in}, {"queue", q}, {"tunnel", std::string(to_string(Tunnel(t)))}},
                double(e));
  drop(b, in, q, "decap_error", s.decap_dropped);
  b.counter("xcap_decap_inner_kept_total",
            "Frames written as they stood above a nested tunnel level that did not parse "
            "(e.g. a customer's UDP to 4789 that is not VXLAN)",
            {{"iface", in}, {"queue", q}}, double(s.inner_kept));
}

void render_queue(const std::string& input, const QueueSnapshot& s, FamilyBuilder& b) {
  const std::string& in = s.iface.empty() ? input : s.iface;
  const std::string q = std::to_string(s.queue);
  b.counter("xcap_rx_packets_total", "Frames received from the source of a queue",
            {{"iface", in}, {"queue", q}}, double(s.rx_packets));
  b.counter("xcap_rx_bytes_total", "Bytes (wire length) received from the source of a queue",
            {{"iface", in}, {"queue", q}}, double(s.rx_bytes));
  b.counter("xcap_rx_batches_total", "Non-empty batches taken from the source",
            {{"iface", in}, {"queue", q}}, double(s.batches));
  if (s.socket) render_socket(in, q, s, b);
  if (s.file) drop(b, in, q, "writer_backpressure", s.writer_backpressure);
  if (s.decap) render_decap(in, q, s, b);
  if (s.replay_select)
    b.counter("xcap_replay_not_mirror_packets_total",
              "Replayed frames that are not mirror traffic, skipped as a live mirror capture "
              "passes them to the host",
              {{"iface", in}, {"queue", q}}, double(s.not_mirror));
}

void render_xdp(const CaptureSnapshot& s, FamilyBuilder& b) {
  const std::string& in = s.input;
  b.counter("xcap_xdp_packets_total", "Frames seen by the XDP program", {{"iface", in}},
            double(s.xdp_count(XCAP_CNT_RX_PACKETS)));
  b.counter("xcap_xdp_bytes_total", "Bytes seen by the XDP program", {{"iface", in}},
            double(s.xdp_count(XCAP_CNT_RX_BYTES)));
  for (auto [name, idx] : {std::pair{"pass", XCAP_CNT_PASS}, {"redirect", XCAP_CNT_REDIRECT}})
    b.counter("xcap_xdp_verdicts_total", "XDP verdicts: pass to the host or redirect to capture",
              {{"iface", in}, {"verdict", name}}, double(s.xdp_count(idx)));
  for (auto [name, idx] : {std::pair{"vxlan", XCAP_CNT_VXLAN},
                           {"geneve", XCAP_CNT_GENEVE},
                           {"gre", XCAP_CNT_GRE},
                           {"malformed", XCAP_CNT_MALFORMED}})
    b.counter("xcap_xdp_classified_packets_total", "Frames by what the XDP program found",
              {{"iface", in}, {"kind", name}}, double(s.xdp_count(idx)));
  drop(b, in, "any", "xdp_no_socket", s.xdp_count(XCAP_CNT_NO_SOCKET));
  drop(b, in, "any", "too_big", s.xdp_count(XCAP_CNT_TOO_BIG));
  b.counter("xcap_filter_excluded_packets_total", kExcludedHelp, {{"iface", in}, {"where", "xdp"}},
            double(s.xdp_count(XCAP_CNT_FILTER_EXCLUDED)));
  b.counter("xcap_xdp_not_ready_packets_total",
            "Frames for capture that came before every queue's socket was bound: passed to "
            "the host, neither captured nor dropped",
            {{"iface", in}}, double(s.xdp_count(XCAP_CNT_NOT_READY)));
  b.counter("xcap_xdp_filter_undecided_packets_total",
            "Captured frames the XDP filter left to the workers (GRE/ERSPAN, L3 GENEVE, nested)",
            {{"iface", in}}, double(s.xdp_count(XCAP_CNT_FILTER_UNDECIDED)));
  b.counter("xcap_xdp_stream_own_packets_total",
            "Frames of xcap's own streaming connections: passed to the host, never captured",
            {{"iface", in}}, double(s.xdp_count(XCAP_CNT_SELF)));
}

// Local mode: each interface's programs, by direction (in: XDP, out: TC).
void render_local(const LocalSnapshot& l, FamilyBuilder& b) {
  const std::string& in = l.iface;
  for (unsigned d = 0; d < 2; d++) {
    const std::string dir = d ? "out" : "in";
    const auto& c = l.counters[d];
    b.counter("xcap_local_packets_total", "Packets the local-mode programs saw, by direction",
              {{"iface", in}, {"direction", dir}}, double(c[XCAP_LCNT_PACKETS]));
    b.counter("xcap_local_bytes_total", "Bytes the local-mode programs saw, by direction",
              {{"iface", in}, {"direction", dir}}, double(c[XCAP_LCNT_BYTES]));
    b.counter("xcap_local_copied_packets_total",
              "Records the local-mode programs wrote to the ring buffer",
              {{"iface", in}, {"direction", dir}}, double(c[XCAP_LCNT_COPIED]));
    b.counter("xcap_dropped_packets_total", kDropHelp,
              {{"iface", in}, {"queue", "any"}, {"reason", "ringbuf_full"}, {"direction", dir}},
              double(c[XCAP_LCNT_RINGBUF_FULL]));
    b.counter("xcap_filter_excluded_packets_total", kExcludedHelp,
              {{"iface", in}, {"where", d ? "tc" : "xdp"}}, double(c[XCAP_LCNT_FILTER_EXCLUDED]));
    b.counter("xcap_local_filter_undecided_packets_total",
              "Packets the kernel filter left to user space (a load past the linear part)",
              {{"iface", in}, {"direction", dir}}, double(c[XCAP_LCNT_FILTER_UNDECIDED]));
    b.counter("xcap_local_stream_own_packets_total",
              "Packets of xcap's own streaming connections: never copied",
              {{"iface", in}, {"direction", dir}}, double(c[XCAP_LCNT_SELF]));
    b.counter("xcap_local_not_ready_packets_total",
              "Packets before the capture was armed: passed, neither captured nor dropped",
              {{"iface", in}, {"direction", dir}}, double(c[XCAP_LCNT_NOT_READY]));
  }
}

void render_streams(const CaptureSnapshot& s, FamilyBuilder& b) {
  const std::string& in = s.input;
  b.gauge("xcap_streams", "Streaming clients now", {{"iface", in}}, double(s.streams.active));
  b.counter("xcap_stream_handoff_dropped_packets_total",
            "Packets the workers could not hand to the streaming thread (every client lost them; "
            "files did not)",
            {{"iface", in}}, double(s.streams.handoff_drops));
  for (const auto& [client, n] : s.streams.dropped_by_client)
    b.counter("xcap_stream_dropped_packets_total",
              "Packets a streaming client lost because it read too slowly (its buffer was full)",
              {{"iface", in}, {"client", client}}, double(n));
}

void render_files(const CaptureSnapshot& s, FamilyBuilder& b) {
  const std::string& in = s.input;
  b.counter("xcap_files_written_total", "Capture files completed (renamed from .part)",
            {{"iface", in}}, double(s.files.files_completed));
  b.counter("xcap_files_deleted_total", "Capture files removed by -W", {{"iface", in}},
            double(s.files.files_deleted));
  b.counter("xcap_written_bytes_total", "Bytes written to capture files", {{"iface", in}},
            double(s.files.written_bytes));
  drop(b, in, "any", "write_error", s.files.write_error_drops);
}

// Per mirror source, summed over the queues; interface 0 (the capture interface) is not a
// source, and a source no queue saw is left out.
void render_sources(const CaptureSnapshot& s, FamilyBuilder& b) {
  std::vector<uint64_t> packets(s.source_names.size()), bytes(s.source_names.size());
  for (const QueueSnapshot& q : s.queues)
    for (size_t id = 0; id < q.source_packets.size() && id < packets.size(); id++) {
      packets[id] += q.source_packets[id];
      bytes[id] += q.source_bytes[id];
    }
  for (size_t id = 1; id < packets.size(); id++) {
    if (!packets[id]) continue;
    const LabelList labels{{"iface", s.input}, {"source", s.source_names[id]}};
    b.counter("xcap_source_packets_total",
              "Packets captured per mirror source (tunnel endpoint and VNI; with pcapng or "
              "--split source)",
              labels, double(packets[id]));
    b.counter("xcap_source_bytes_total", "Bytes (wire length) captured per mirror source", labels,
              double(bytes[id]));
  }
}

void render_archive(const ArchiveSnapshot& a, FamilyBuilder& b) {
  b.counter("xcap_archive_uploaded_files_total", "Capture files stored in the archive", {},
            double(a.uploaded_files));
  b.counter("xcap_archive_uploaded_bytes_total", "Bytes of the objects stored (compressed)", {},
            double(a.uploaded_bytes));
  std::map<std::string, uint64_t> failures = a.failures;
  for (const char* r : {"connect", "forbidden", "not_found", "server", "client", "local"})
    failures.emplace(r, 0);
  for (const auto& [reason, n] : failures)
    b.counter("xcap_archive_upload_failures_total", "Failed upload attempts (each retried)",
              {{"reason", reason}}, double(n));
  b.gauge("xcap_archive_backlog_files", "Completed files waiting for upload", {},
          double(a.backlog_files));
  b.gauge("xcap_archive_backlog_bytes", "Bytes of the completed files waiting for upload", {},
          double(a.backlog_bytes));
  b.gauge("xcap_archive_oldest_backlog_age_seconds",
          "Age of the oldest file waiting for upload (0: none)", {}, a.oldest_backlog_age_s);
  b.counter("xcap_archive_spool_dropped_files_total",
            "Completed files deleted before upload because the spool was over --spool-max", {},
            double(a.spool_dropped_files));
  b.counter("xcap_compress_in_bytes_total", "Bytes of capture files compressed for upload", {},
            double(a.compress_in_bytes));
  b.counter("xcap_compress_out_bytes_total", "Bytes they compressed to", {},
            double(a.compress_out_bytes));
  if (a.compress_in_bytes)
    b.gauge("xcap_compress_ratio", "Bytes in over bytes out of the compression so far", {},
            double(a.compress_in_bytes) / double(std::max<uint64_t>(a.compress_out_bytes, 1)));
}

void render_capture(const CaptureSnapshot& s, FamilyBuilder& b) {
  uint64_t worker_excluded = 0;
  for (const QueueSnapshot& q : s.queues) {
    render_queue(s.input, q, b);
    worker_excluded += q.filter_excluded;
  }
  if (s.xdp) render_xdp(s, b);
  for (const LocalSnapshot& l : s.local) render_local(l, b);
  b.counter("xcap_captured_packets_total", "Packets written to the sinks", {{"iface", s.input}},
            double(s.captured()));
  b.counter("xcap_filter_excluded_packets_total", kExcludedHelp,
            {{"iface", s.input}, {"where", "worker"}}, double(worker_excluded));
  if (s.file) render_files(s, b);
  if (s.stream) render_streams(s, b);
  if (!s.source_names.empty()) render_sources(s, b);
  if (s.health) {
    b.gauge("xcap_healthy",
            "1 while GET /healthz answers 200: XDP attached, every worker running, the writer "
            "keeping up",
            {{"iface", s.input}}, s.healthy ? 1 : 0);
    b.gauge("xcap_xdp_attached",
            "1 while the kernel still runs xcap's XDP program on the interface (0: detached by "
            "another tool, nothing is captured)",
            {{"iface", s.input}}, s.xdp_attached ? 1 : 0);
  }
  if (s.archive) render_archive(s.archived, b);
}

void render_build_info(FamilyBuilder& b) {
  b.gauge("xcap_build_info", "xcap build: version label, always 1", {{"version", XCAP_VERSION}}, 1);
}

}  // namespace

void render_capture_metrics(const CaptureSnapshot& s, FamilyBuilder& b) {
  render_build_info(b);
  render_capture(s, b);
}

void render_capture_metrics(const std::vector<CaptureSnapshot>& all, FamilyBuilder& b) {
  render_build_info(b);
  for (const CaptureSnapshot& s : all) render_capture(s, b);
}

}  // namespace xcap::metrics
