// find_objects: which objects of an archive (s3://BUCKET/PREFIX, every sink's) hold packets of
// a time window, from their keys alone. Each sink's source is one "lane" of keys in time
// order (PREFIX/<sink>/<source>/<YYYY>/<MM>/<DD>/<first>_...), so a lane is listed from the
// day of (from - lookback) on, and no further than the first object that starts after the
// window: a window of an old archive costs a few listing requests, not the whole bucket.
// lookback is how long a file may span: a file that started more than lookback (rounded down
// to its day) before the window is not looked at.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archive/object_name.h"
#include "archive/store_reader.h"
#include "common/result.h"

namespace xcap::archive {

struct ArchiveQuery {
  uint64_t from_ns = 0, to_ns = UINT64_MAX;  // both included
  uint64_t lookback_ns = 0;
  std::vector<std::string> sinks, sources;  // empty: every one
};

struct FoundObjects {
  std::vector<ArchivedObject> objects;  // overlapping the window, by first packet then key
  uint64_t foreign = 0;                 // keys listed that xcap did not name (left alone)
};

Result<FoundObjects> find_objects(StoreReader& store, const std::string& prefix,
                                  const ArchiveQuery& q);

}  // namespace xcap::archive
