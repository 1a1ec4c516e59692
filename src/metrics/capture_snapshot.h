// CaptureSnapshot: every counter of a running capture, read at one moment (a scrape, the end)
// into plain numbers. The pipeline fills it; the metrics schema (capture_metrics.h) and the
// stats line (src/cli/capture_totals.h) are computed from it, so both say the same thing.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "decap/tunnel.h"
#include "xcap_abi.h"

namespace xcap::metrics {

struct QueueSnapshot {
  uint32_t queue = 0;
  std::string iface;  // local mode: the queue's interface (its iface label); else empty
  // The worker's counters.
  uint64_t rx_packets = 0, rx_bytes = 0, batches = 0, filter_excluded = 0, delivered = 0,
           over_limit = 0;
  // The AF_XDP socket's (live capture only): XDP_STATISTICS and the worker's assembly.
  bool socket = false;
  uint64_t xsk_ring_full = 0, fill_ring_empty = 0, invalid_descs = 0, fill_ring_empty_events = 0,
           missing_meta = 0, too_big = 0;
  bool zero_copy = false, multi_buffer = false;  // how the socket was bound
  // Decapsulation (when on).
  bool decap = false;
  uint64_t decapsulated = 0, decap_dropped = 0, inner_kept = 0;
  std::array<uint64_t, kTunnelCount> decap_errors{};
  // A replay in mirror mode: frames that were not mirror traffic, skipped.
  bool replay_select = false;
  uint64_t not_mirror = 0;
  // The file sink (when writing): blocks this worker could not hand on.
  bool file = false;
  uint64_t writer_backpressure = 0;
  // Per mirror source (pcapng interface id), when decapsulation names sources.
  std::vector<uint64_t> source_packets, source_bytes;
};

struct FileSnapshot {
  uint64_t written_packets = 0, written_bytes = 0, backpressure_drops = 0, write_error_drops = 0,
           files_completed = 0, files_deleted = 0;
};

// The streaming server (--listen, xcap serve).
struct StreamSnapshot {
  uint64_t active = 0;         // streams now
  uint64_t handoff_drops = 0;  // records the workers could not hand to the fanout thread
  // Per client address: packets that client lost to its own full buffer, over all its
  // streams, ended ones included.
  std::map<std::string, uint64_t> dropped_by_client;
};

// Local mode: one interface's programs (bpf/xcap_local.bpf.c), per direction slot (0 in, 1 out)
// and enum xcap_local_counter.
struct LocalSnapshot {
  std::string iface;
  std::array<std::array<uint64_t, XCAP_LCNT_MAX>, 2> counters{};
  uint64_t count(xcap_local_counter c) const { return counters[0][c] + counters[1][c]; }
};

// The archiver (--archive, -z): uploads, failures by reason, the spool waiting for upload.
struct ArchiveSnapshot {
  uint64_t uploaded_files = 0, uploaded_bytes = 0;  // objects stored, bytes sent in them
  std::map<std::string, uint64_t> failures;         // failed attempts by reason
  uint64_t backlog_files = 0, backlog_bytes = 0;    // completed files not yet uploaded
  double oldest_backlog_age_s = 0;                  // age of the oldest of them (0: none)
  uint64_t spool_dropped_files = 0;                 // deleted unuploaded (--spool-max)
  uint64_t compress_in_bytes = 0, compress_out_bytes = 0;
};

struct CaptureSnapshot {
  std::string input;  // the interface, or the replayed file: the iface label
  std::vector<QueueSnapshot> queues;
  bool xdp = false;  // an XDP program (live capture)
  std::array<uint64_t, XCAP_CNT_MAX> xdp_counters{};
  bool file = false;
  FileSnapshot files;
  bool stream = false;
  StreamSnapshot streams;
  // The mirror sources' names by interface id (QueueSnapshot::source_packets' index).
  std::vector<std::string> source_names;
  // What /healthz would answer now, and whether XDP is still attached (a live capture's
  // scrape; unset in a replay or xcap serve's totals).
  bool health = false;
  bool healthy = false, xdp_attached = false;
  std::vector<LocalSnapshot> local;  // local mode: one per interface
  uint64_t local_count(xcap_local_counter c) const {
    uint64_t n = 0;
    for (const LocalSnapshot& l : local) n += l.count(c);
    return n;
  }
  bool archive = false;
  ArchiveSnapshot archived;

  uint64_t xdp_count(xcap_counter c) const { return xdp_counters[c]; }
  // Packets captured: in the files when writing, else handed to the (counting) sinks.
  uint64_t captured() const {
    if (file) return files.written_packets;
    uint64_t n = 0;
    for (const auto& q : queues) n += q.delivered;
    return n;
  }
};

}  // namespace xcap::metrics
