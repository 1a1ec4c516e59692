// S3Client: one S3 request at a time over libcurl, signed by libcurl's own SigV4
// (CURLOPT_AWS_SIGV4). libcurl 7.88 signs the URL exactly as written, so the caller's query
// must already be canonical (sorted, "uploads=" not "uploads", values encoded) and keys go
// through encode_key; the client adds x-amz-content-sha256 (the payload's SHA-256) itself, and
// Content-MD5 to every request with a body, so the store verifies what it received.
// Credentials are loaded again for every request (credentials.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "archive/archive_config.h"
#include "common/result.h"

namespace xcap::archive {

struct S3Request {
  std::string method = "GET";        // GET, HEAD, PUT, POST, DELETE
  std::string key;                   // raw object key; empty: the bucket itself
  std::string query;                 // canonical query (query_param()), without '?'
  std::vector<std::string> headers;  // extra "Name: value" lines (signed)
  const uint8_t* body = nullptr;
  size_t body_len = 0;
  // >= 0: a successful (2xx) reply's body is written to this file instead of HttpReply::body
  // (a download); an error reply's body still goes to HttpReply::body.
  int reply_fd = -1;
  // > 0: the whole request, answer included, ends with an error after this long.
  long timeout_s = 0;
};

struct HttpReply {
  long status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  // The <Code> of an S3 error body, or "".
  std::string error_code() const;
};

// "name=value" with value percent-encoded for a query (every byte but A-Za-z0-9-_.~).
std::string query_param(const std::string& name, const std::string& value);

class S3Client {
 public:
  // abort (may be null): when it becomes true, a transfer in progress ends with an error.
  S3Client(const ArchiveConfig& cfg, const std::atomic<bool>* abort);
  ~S3Client();
  S3Client(const S3Client&) = delete;
  S3Client& operator=(const S3Client&) = delete;

  // Any HTTP status is a reply; an error is no reply at all (no credentials, connection
  // refused, timeout, aborted): its message says which.
  Result<HttpReply> send(const S3Request& req);

 private:
  struct Handle;
  const ArchiveConfig cfg_;
  const std::atomic<bool>* abort_;
  std::unique_ptr<Handle> h_;
};

}  // namespace xcap::archive
