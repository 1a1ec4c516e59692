#include "cli/archive_options.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>

#include "archive/object_name.h"
#include "archive/s3_location.h"
#include "cli/option_parsing.h"

namespace xcap::cli {

namespace po = boost::program_options;

void add_store_access(po::options_description& d, RawArchive& r) {
  add(d, "s3-endpoint", arg(&r.endpoint, "URL"),
      "the store's endpoint, e.g. http://127.0.0.1:9000 (default: AWS S3 of --s3-region)");
  add(d, "s3-region", arg(&r.region, "REGION"), "signing region (default us-east-1)");
  add(d, "s3-path-style", po::bool_switch(&r.path_style),
      "URLs as ENDPOINT/BUCKET/KEY instead of BUCKET.HOST/KEY");
}

po::options_description describe_archive(RawArchive& r) {
  po::options_description d("Archive (see README: Archive)");
  add(d, "archive", arg(&r.url, "s3://BUCKET/PREFIX"),
      "upload every completed ring file (needs -C or -G) to S3-compatible object storage, then "
      "delete it; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or ~/.aws/credentials");
  add_store_access(d, r);
  add(d, "s3-part-size", arg(&r.part_mib, "MiB"),
      "objects above this go up as multipart uploads of this part size (default 16, min 5)");
  add(d, "compress", arg(&r.compress, "zstd|gzip|none"), "compress before upload (default zstd)");
  add(d, "compress-level", arg(&r.level, "N"), "zstd 1-19 (default 3), gzip 1-9 (default 6)");
  add(d, "sink-id", arg(&r.sink_id, "ID"),
      "this sink's part of the object names (default: the host name)");
  add(d, "keep-local", po::bool_switch(&r.keep_local), "keep files after upload");
  add(d, "spool-max", arg(&r.spool_mb, "MB"),
      "most MB x 1,000,000 of completed files waiting for upload; over it the oldest is deleted "
      "and counted (default 0: no cap)");
  add(d, "archive-drain-timeout", arg(&r.drain_s, "SEC"),
      "on exit, wait at most SEC seconds for uploads to finish (default 30)");
  add(d, "postrotate-command,z", arg(&r.hook, "CMD"),
      "run CMD with each completed file's path as its only argument (no shell), before upload");
  return d;
}

namespace {

Result<void> parse_codec(const RawArchive& r, archive::ArchiveConfig& c) {
  using archive::Compression;
  if (r.compress == "zstd")
    c.compress = Compression::Zstd;
  else if (r.compress == "gzip")
    c.compress = Compression::Gzip;
  else if (r.compress == "none")
    c.compress = Compression::None;
  else
    return invalid_input("--compress '" + r.compress + "': expected zstd, gzip or none");
  const int max = c.compress == Compression::Zstd ? 19 : c.compress == Compression::Gzip ? 9 : 0;
  auto level = parse_uint<int>("--compress-level", r.level, 0, max);
  if (!level) return level.error();
  c.level = *level;
  return ok();
}

Result<std::string> default_sink_id() {
  char host[256] = "";
  if (::gethostname(host, sizeof host - 1) != 0) return errno_error("--sink-id: no host name");
  std::string id = host;
  std::replace_if(
      id.begin(), id.end(),
      [](char ch) {
        return !archive::valid_key_segment({&ch, 1});
      },
      '_');
  return id;
}

Result<void> parse_store(const RawArchive& r, archive::ArchiveConfig& c) {
  auto url = archive::parse_s3_url(r.url);
  if (!url) return url.error().context("--archive");
  c.url = r.url, c.bucket = url->bucket, c.prefix = url->prefix;
  if (r.region.empty() || !std::all_of(r.region.begin(), r.region.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
      }))
    return invalid_input("--s3-region '" + r.region + "': expected a region such as us-east-1");
  c.region = r.region;
  auto ep = archive::normalize_endpoint(r.endpoint, r.region);
  if (!ep) return ep.error().context("--s3-endpoint");
  c.endpoint = *ep;
  c.path_style = r.path_style;
  auto part = parse_uint<uint64_t>("--s3-part-size", r.part_mib, 5, 5 * 1024);
  if (!part) return part.error();
  c.part_size = *part << 20;
  return ok();
}

}  // namespace

Result<archive::ArchiveConfig> parse_store_access(const RawArchive& r) {
  archive::ArchiveConfig c;
  if (auto s = parse_store(r, c); !s) return s.error();
  return c;
}

Result<archive::ArchiveConfig> parse_archive(const RawArchive& r, bool rotating) {
  archive::ArchiveConfig c;
  c.hook = r.hook;
  c.keep_local = r.keep_local;
  if (!r.url.empty())
    if (auto s = parse_store(r, c); !s) return s.error();
  if (auto k = parse_codec(r, c); !k) return k.error();
  auto spool = parse_uint<uint64_t>("--spool-max", r.spool_mb, 0, 1'000'000'000);
  if (!spool) return spool.error();
  c.spool_max = *spool * 1'000'000;
  char* end = nullptr;
  c.drain_timeout_s = std::strtod(r.drain_s.c_str(), &end);
  if (r.drain_s.empty() || *end || !std::isfinite(c.drain_timeout_s) || c.drain_timeout_s < 0)
    return invalid_input("--archive-drain-timeout '" + r.drain_s + "': expected seconds");
  if (r.sink_id.empty()) {
    auto id = default_sink_id();
    if (!id) return id.error();
    c.sink_id = *id;
  } else if (!archive::valid_key_segment(r.sink_id)) {
    return invalid_input("--sink-id '" + r.sink_id + "': expected 1-128 of A-Z a-z 0-9 . _ -");
  } else {
    c.sink_id = r.sink_id;
  }
  if (c.enabled() && !rotating)
    return invalid_input(std::string(c.uploads() ? "--archive" : "-z") +
                         " needs a ring of completed files: -w PATH with -C or -G");
  return c;
}

}  // namespace xcap::cli
