// Compresses a completed capture file for upload, off the writer thread: zstd (libzstd) or
// gzip (zlib), streamed through a small buffer into an anonymous file (O_TMPFILE) in the
// spool directory, so nothing is left behind when xcap dies mid-way.
#pragma once

#include <cstdint>
#include <string>

#include "archive/archive_config.h"
#include "common/fd.h"
#include "common/result.h"

namespace xcap::archive {

struct Compressed {
  Fd fd;               // the compressed bytes, from offset 0
  uint64_t bytes = 0;  // its size
};

// Compresses [0, EOF) of in at level (0: the codec's default) into a new anonymous file in
// dir. compression must not be None.
Result<Compressed> compress_file(int in, const std::string& dir, Compression compression,
                                 int level);

}  // namespace xcap::archive
