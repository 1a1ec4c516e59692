// The archive's flags of `xcap capture` (--archive, --s3-*, --compress*, --sink-id,
// --keep-local, --spool-max, --archive-drain-timeout, -z): declared for --help and checked
// into ArchiveConfig. Reading credentials and asking the store are the archiver's, at start.
#pragma once

#include <boost/program_options.hpp>
#include <string>

#include "archive/archive_config.h"
#include "common/result.h"

namespace xcap::cli {

struct RawArchive {
  std::string url, endpoint, region = "us-east-1", compress = "zstd", level = "0", part_mib = "16",
                             sink_id, spool_mb = "0", drain_s = "30", hook;
  bool path_style = false, keep_local = false;
};

boost::program_options::options_description describe_archive(RawArchive& r);
// --s3-endpoint, --s3-region, --s3-path-style: how to reach the store (every archive command).
void add_store_access(boost::program_options::options_description& d, RawArchive& r);
// The store's part of ArchiveConfig (bucket, prefix, endpoint, region, path style) from r.url
// and the access flags.
Result<archive::ArchiveConfig> parse_store_access(const RawArchive& r);

// rotating: -C or -G was given (archiving needs a ring of completed files).
Result<archive::ArchiveConfig> parse_archive(const RawArchive& r, bool rotating);

}  // namespace xcap::cli
