// Putting one object: a single PUT up to the part size, a multipart upload above it. A
// multipart upload in progress is recorded in a hidden marker file beside the capture file
// (<dir>/.<name>.upload: the key and the upload id), so the next attempt, or the next start
// after a crash, aborts it before starting again: no upload is left open.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archive/s3_client.h"

namespace xcap::archive {

// Why a request failed: reason is the metric label (connect, forbidden, not_found,
// bad_digest, server, client, credentials, local), message the log line.
struct Failure {
  std::string reason;
  std::string message;
};
using Outcome = std::optional<Failure>;  // nullopt: done

struct ObjectUpload {
  std::string key;
  int fd = -1;  // the bytes to upload, [0, size)
  uint64_t size = 0;
  std::vector<std::string> headers;  // metadata and content type, on the PUT or the initiation
  std::string marker;                // the multipart marker file's path
};

// The failure a reply or an error stands for (status 2xx: none).
Failure failure_of(const Result<HttpReply>& r, const std::string& what);

// HEAD key: *exists says whether the object is there.
Outcome object_exists(S3Client& s3, const std::string& key, bool* exists);

// Aborts the multipart upload a marker file records, if any, and removes the marker. A store
// that cannot abort (405/501) is logged and the marker removed all the same.
Outcome abort_recorded_upload(S3Client& s3, const std::string& marker);

Outcome put_object(S3Client& s3, const ObjectUpload& up, uint64_t part_size);

}  // namespace xcap::archive
