// merge_window: what `xcap archive get` does once it knows the objects: reads every object
// that overlaps a time window, keeps the packets inside the window that the filter selects,
// and writes them to one capture in timestamp order, with one output interface per sink and
// source (pcapng: "<sink-id>/<interface>", the interface being the file's own if_name, or
// the key's source part when the file names none).
//
// Memory stays bounded whatever the window: an object is opened only when the merge reaches
// its first packet's time (from its key), and each open object is read ahead by at most
// kLookaheadBytes, within which its records are put in order (a ring file's records are in
// order per worker, interleaved block by block). A packet that still comes out behind one
// already written is written anyway and counted (out_of_order).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "archive/object_name.h"
#include "common/fd.h"
#include "common/result.h"
#include "stream/merged_output.h"

namespace xcap::archive {

struct MergeRequest {
  uint64_t from_ns = 0, to_ns = UINT64_MAX;  // both included
  std::string filter;                        // a tcpdump expression; empty: every packet
};

struct MergeOutcome {
  uint64_t objects_read = 0;  // read to the end
  uint64_t packets_read = 0;  // every record of the objects read
  uint64_t packets_written = 0;
  uint64_t out_of_order = 0;
  uint32_t interfaces = 0;
  std::vector<std::string> failures;  // an object that could not be fetched or read, each
  std::optional<Error> output_error;  // writing the output failed: the merge stopped
};

// The object's bytes, as stored (compressed or not): a downloaded file, from offset 0.
using ObjectOpener = std::function<Result<Fd>(const ArchivedObject&)>;

inline constexpr size_t kLookaheadBytes = 32u << 20;

// objects: those that overlap the window, any order. The filter must compile (the caller
// checks it first, for a clear error before any download).
MergeOutcome merge_window(std::vector<ArchivedObject> objects, const MergeRequest& req,
                          const ObjectOpener& open, stream::MergedOutput& out);

}  // namespace xcap::archive
