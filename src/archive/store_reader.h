// StoreReader: what the reading commands (xcap archive ls/get) ask of the store: the keys
// under a prefix (ListObjectsV2, page by page) and one object's bytes into a file. A request
// that gets no answer, or a 5xx (SlowDown, InternalError), is tried again with backoff, a few
// times; a 4xx is an answer and becomes an error at once, in words: no such bucket, the
// credentials refused.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "archive/archive_config.h"
#include "archive/s3_client.h"
#include "common/result.h"

namespace xcap::archive {

struct ListedKey {
  std::string key;
  uint64_t size = 0;
};

class StoreReader {
 public:
  // attempts: how often a request is tried before its error is returned; page_size: keys per
  // listing request (S3's most, 1000, by default).
  explicit StoreReader(const ArchiveConfig& cfg, unsigned attempts = 5, unsigned page_size = 1000);

  // Every key under prefix after start_after ("" for all), in key order, to visit until it
  // returns false.
  Result<void> list(const std::string& prefix, const std::string& start_after,
                    const std::function<bool(const ListedKey&)>& visit);
  // The "folders" right under prefix (which ends in '/'): each distinct key part up to the
  // next '/', such as PREFIX/<sink-id>/, in key order. One listing request per folder.
  Result<std::vector<std::string>> folders(const std::string& prefix);
  // The object's bytes, written to fd from its current offset. A failed try that wrote some
  // bytes starts again at offset 0 of fd (truncated).
  Result<void> download(const std::string& key, int fd);

 private:
  // what: the request in words, for the log line of a retry ("listing s3://b/p/").
  Result<HttpReply> send(const S3Request& req, const std::string& what);
  // Every page of a listing, to on_page (the reply's XML) until it returns false.
  Result<void> list_pages(const std::string& prefix, const std::string& start_after,
                          unsigned page_size,
                          const std::function<bool(const std::string&)>& on_page);
  Error refused(const std::string& what, const HttpReply& r) const;

  ArchiveConfig cfg_;
  unsigned attempts_;
  unsigned page_size_;
  S3Client s3_;
};

}  // namespace xcap::archive
