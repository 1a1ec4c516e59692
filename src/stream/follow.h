// follow_targets: the run of `xcap stream`. One event loop (this thread) drives a TargetStream
// per target; each stream's pcapng is read block by block, its interfaces become output
// interfaces named TARGET/NAME, its packets go through the StreamMerger into the output, its
// statistics are passed through (mapped to the output's interface ids), and its events are
// reported on stderr, one line each:
//   TARGET: connected | congested (N lost) | cleared (N lost) | finished (end: ...) |
//           stopped (WHY) | failed (WHY)
// SIGINT/SIGTERM stop every stream (TargetStream::stop) and wait up to stop_wait for their
// final statistics; a second signal cuts them at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "stream/http_connection.h"
#include "stream/merged_output.h"
#include "stream/targets.h"

namespace xcap::stream {

struct FollowSettings {
  std::vector<Target> targets;
  std::string query;  // "filter=...&count=...&format=pcapng", sent to every target
  std::string token;  // bearer token; empty: none
  TlsFiles tls;
  uint64_t reorder_window_ns = 1'000'000'000;
  std::chrono::steady_clock::duration idle_timeout = std::chrono::seconds(10);
  std::chrono::steady_clock::duration stop_wait = std::chrono::seconds(2);
};

struct TargetOutcome {
  std::string name;
  uint64_t packets = 0;         // received
  uint64_t server_dropped = 0;  // isb_osdrop: the server dropped for this client
  uint64_t late = 0;            // written out of timestamp order
  bool failed = false;
  std::string ended;  // "finished (end: count reached)", "failed (HTTP 401: ...)"
};

struct FollowResult {
  std::vector<TargetOutcome> targets;
  std::optional<Error> output_error;  // the output failed: the run was cut short
};

// Runs until every stream has ended; writes the output and closes it.
Result<FollowResult> follow_targets(const FollowSettings& settings, MergedOutput& output);

// The summary line of one target:
// "TARGET: N packets received, N dropped by the server for this client, N late; ENDED".
std::string summary_line(const TargetOutcome& t);

}  // namespace xcap::stream
