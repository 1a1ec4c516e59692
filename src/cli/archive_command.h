// `xcap archive push DIR --archive s3://BUCKET/PREFIX [archive flags]`: uploads every
// completed capture file (.pcap, .pcapng; not .part, not hidden) of DIR, written by another
// run or another tool, as a capture's archiver would: compressed, named from the file's own
// packets, skipped when already in the bucket, deleted after upload unless --keep-local.
// Waits until all are up (or --archive-drain-timeout). Returns the exit status: 0 every file
// is up, 1 some are left, 2 bad usage or a store that refuses (as capture checks it).
#pragma once

#include <string>
#include <vector>

namespace xcap::cli {

int archive_command(const std::vector<std::string>& args);

}  // namespace xcap::cli
