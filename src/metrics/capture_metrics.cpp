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

void render_queue(const std::string& in, const QueueSnapshot& s, FamilyBuilder& b) {
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
  b.counter("xcap_captured_packets_total", "Packets written to the sinks", {{"iface", s.input}},
            double(s.captured()));
  b.counter("xcap_filter_excluded_packets_total", kExcludedHelp,
            {{"iface", s.input}, {"where", "worker"}}, double(worker_excluded));
  if (s.file) render_files(s, b);
  if (s.stream) render_streams(s, b);
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
