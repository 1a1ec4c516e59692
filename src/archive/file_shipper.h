// FileShipper: uploads one completed spool file: reads its facts (capture_facts.h), names its
// object (object_name.h), skips it when the object is already there (a crash after the upload,
// before the delete), compresses it (compressor.h) and puts it (object_upload.h) with its
// metadata. One attempt per call; the archiver retries.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "archive/archive_config.h"
#include "archive/object_upload.h"
#include "archive/s3_client.h"

namespace xcap::archive {

// A completed capture file waiting in the spool.
struct SpoolFile {
  std::string path;
  std::string source;  // "all" or the --split source part
  uint64_t seq = 0;
  std::string ext;  // pcap or pcapng
  uint64_t bytes = 0;
  int64_t mtime_s = 0;  // when it was completed (its mtime), for the backlog age
  bool hooked = false;  // -z already ran on it
};

// The multipart marker of a spool file: <dir>/.<name>.upload.
std::string marker_path(const std::string& path);

struct Shipped {
  std::string key;
  bool already_there = false;
  uint64_t sent_bytes = 0;  // the object's size
  uint64_t packets = 0;
};

class FileShipper {
 public:
  FileShipper(const ArchiveConfig& cfg, const std::atomic<bool>* abort)
      : cfg_(cfg), s3_(cfg, abort) {}
  Outcome ship(const SpoolFile& f, Shipped* out);
  S3Client& client() { return s3_; }

 private:
  const ArchiveConfig& cfg_;
  S3Client s3_;
};

}  // namespace xcap::archive
