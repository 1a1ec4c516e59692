#include "archive/object_upload.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "common/log.h"

namespace xcap::archive {
namespace {

bool good(const Result<HttpReply>& r) {
  return r && r->status / 100 == 2;
}

std::string reason_of_status(long status, const std::string& code) {
  if (status == 403) return "forbidden";
  if (status == 404) return "not_found";
  if (code == "BadDigest" || code == "XAmzContentSHA256Mismatch") return "bad_digest";
  if (status >= 500) return "server";
  return "client";
}

Result<std::vector<uint8_t>> read_range(int fd, uint64_t off, uint64_t n) {
  std::vector<uint8_t> buf(n);
  size_t done = 0;
  while (done < n) {
    const ssize_t r = ::pread(fd, buf.data() + done, n - done, off_t(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("cannot read the file to upload");
    if (r == 0) return make_error(ErrorKind::System, "the file to upload is shorter than it was");
    done += size_t(r);
  }
  return buf;
}

std::string xml_field(const std::string& body, const std::string& name) {
  const size_t a = body.find("<" + name + ">"), b = body.find("</" + name + ">");
  if (a == std::string::npos || b == std::string::npos) return "";
  return body.substr(a + name.size() + 2, b - a - name.size() - 2);
}

Outcome put_single(S3Client& s3, const ObjectUpload& up) {
  auto data = read_range(up.fd, 0, up.size);
  if (!data) return Failure{"local", data.error().message};
  S3Request req{"PUT", up.key, "", up.headers, data->data(), data->size()};
  auto r = s3.send(req);
  if (!good(r)) return failure_of(r, "PUT " + up.key);
  return std::nullopt;
}

// Every part, in order; *etags gets their ETags.
Outcome put_parts(S3Client& s3, const ObjectUpload& up, const std::string& id, uint64_t part_size,
                  std::vector<std::string>* etags) {
  for (uint64_t off = 0, n = 1; off < up.size; off += part_size, n++) {
    auto data = read_range(up.fd, off, std::min(part_size, up.size - off));
    if (!data) return Failure{"local", data.error().message};
    S3Request req{"PUT",
                  up.key,
                  query_param("partNumber", std::to_string(n)) + "&" + query_param("uploadId", id),
                  {},
                  data->data(),
                  data->size()};
    auto r = s3.send(req);
    if (!good(r)) return failure_of(r, "PUT part " + std::to_string(n) + " of " + up.key);
    etags->push_back(r->headers["etag"]);
  }
  return std::nullopt;
}

Outcome complete_upload(S3Client& s3, const ObjectUpload& up, const std::string& id,
                        const std::vector<std::string>& etags) {
  std::string xml = "<CompleteMultipartUpload>";
  for (size_t i = 0; i < etags.size(); i++)
    xml += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>" + etags[i] +
           "</ETag></Part>";
  xml += "</CompleteMultipartUpload>";
  S3Request req{"POST",
                up.key,
                query_param("uploadId", id),
                {"Content-Type: application/xml"},
                reinterpret_cast<const uint8_t*>(xml.data()),
                xml.size()};
  auto r = s3.send(req);
  // S3 may answer 200 with an error body to a completion that failed late.
  if (!good(r) || !r->error_code().empty()) return failure_of(r, "completing " + up.key);
  return std::nullopt;
}

Outcome put_multipart(S3Client& s3, const ObjectUpload& up, uint64_t part_size) {
  S3Request init{"POST", up.key, "uploads=", up.headers};
  auto r = s3.send(init);
  if (!good(r)) return failure_of(r, "starting the multipart upload of " + up.key);
  const std::string id = xml_field(r->body, "UploadId");
  if (id.empty()) return Failure{"client", "no UploadId in the answer for " + up.key};
  {
    std::ofstream m(up.marker, std::ios::trunc);
    m << up.key << "\n" << id << "\n";
    if (!m.flush()) return Failure{"local", up.marker + ": cannot record the upload"};
  }
  std::vector<std::string> etags;
  if (auto f = put_parts(s3, up, id, part_size, &etags)) return f;
  if (auto f = complete_upload(s3, up, id, etags)) return f;
  ::unlink(up.marker.c_str());
  return std::nullopt;
}

}  // namespace

Failure failure_of(const Result<HttpReply>& r, const std::string& what) {
  if (!r) {
    const bool cred = r.error().kind == ErrorKind::NotFound;
    return {cred ? "credentials" : "connect", what + ": " + r.error().message};
  }
  const std::string code = r->error_code();
  return {reason_of_status(r->status, code),
          what + ": HTTP " + std::to_string(r->status) + (code.empty() ? "" : " " + code)};
}

Outcome object_exists(S3Client& s3, const std::string& key, bool* exists) {
  auto r = s3.send(S3Request{"HEAD", key});
  *exists = good(r);
  if (*exists || (r && r->status == 404)) return std::nullopt;
  return failure_of(r, "HEAD " + key);
}

Outcome abort_recorded_upload(S3Client& s3, const std::string& marker) {
  std::ifstream in(marker);
  if (!in) return std::nullopt;
  std::string key, id;
  std::getline(in, key);
  std::getline(in, id);
  if (!key.empty() && !id.empty()) {
    auto r = s3.send(S3Request{"DELETE", key, query_param("uploadId", id)});
    // 404: gone already. 405/501: a store without AbortMultipartUpload (s3rver); its parts
    // stay there for the store's own clean-up (an S3 lifecycle rule), the file goes up anew.
    const bool unsupported = r && (r->status == 405 || r->status == 501);
    if (unsupported)
      log_error("archive: the store cannot abort the upload %s of %s (HTTP %ld); uploading anew",
                id.c_str(), key.c_str(), r->status);
    if (!good(r) && !unsupported && !(r && r->status == 404))
      return failure_of(r, "aborting upload of " + key);
  }
  ::unlink(marker.c_str());
  return std::nullopt;
}

Outcome put_object(S3Client& s3, const ObjectUpload& up, uint64_t part_size) {
  if (auto f = abort_recorded_upload(s3, up.marker)) return f;
  return up.size <= part_size ? put_single(s3, up) : put_multipart(s3, up, part_size);
}

}  // namespace xcap::archive
