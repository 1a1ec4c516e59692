// ArchiveConfig: what `xcap capture --archive ...` (and -z) asks of the archiver, as the
// command line parsed and checked it. The README's "Archive" section explains each flag.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace xcap::archive {

enum class Compression { Zstd, Gzip, None };

// ".zst", ".gz" or "" (what an object name ends in after the capture file's own extension).
constexpr std::string_view compression_suffix(Compression c) {
  return c == Compression::Zstd ? ".zst" : c == Compression::Gzip ? ".gz" : "";
}

struct ArchiveConfig {
  std::string url;                   // --archive s3://BUCKET/PREFIX as given; empty: no upload
  std::string bucket;                // from url
  std::string prefix;                // from url, without leading or trailing '/' (may be empty)
  std::string endpoint;              // --s3-endpoint: scheme://host[:port], no trailing '/'
  std::string region = "us-east-1";  // --s3-region
  bool path_style = false;           // --s3-path-style: ENDPOINT/BUCKET/KEY, else BUCKET.HOST
  Compression compress = Compression::Zstd;  // --compress
  int level = 0;                             // --compress-level; 0: the codec's default
  uint64_t part_size = 16ull << 20;          // --s3-part-size: multipart above this
  std::string sink_id;                       // --sink-id; default: the host name
  bool keep_local = false;                   // --keep-local: keep files after upload
  uint64_t spool_max = 0;                    // --spool-max bytes; 0: no cap
  double drain_timeout_s = 30;               // --archive-drain-timeout
  std::string hook;                          // -z CMD: run on every completed file
  // Retry: the n-th wait is uniform in [0, min(cap, base * 2^n)] (full jitter).
  double retry_base_s = 0.5;
  double retry_cap_s = 30;

  bool uploads() const { return !url.empty(); }
  bool enabled() const { return uploads() || !hook.empty(); }
};

}  // namespace xcap::archive
