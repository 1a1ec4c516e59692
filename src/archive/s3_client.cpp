#include "archive/s3_client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "archive/credentials.h"
#include "archive/digest.h"
#include "archive/object_name.h"
#include "archive/s3_location.h"

namespace xcap::archive {
namespace {

struct CurlSlist {
  curl_slist* list = nullptr;
  ~CurlSlist() { curl_slist_free_all(list); }
  void add(const std::string& line) { list = curl_slist_append(list, line.c_str()); }
};

struct Body {
  const uint8_t* p;
  size_t left;
};

size_t read_body(char* buf, size_t size, size_t n, void* user) {
  auto* b = static_cast<Body*>(user);
  const size_t take = std::min(size * n, b->left);
  memcpy(buf, b->p, take);
  b->p += take;
  b->left -= take;
  return take;
}

// Where a reply's body goes: the reply, or reply_fd once the status says 2xx.
struct ReplySink {
  CURL* curl;
  HttpReply* reply;
  int fd;
};

size_t write_body(char* p, size_t size, size_t n, void* user) {
  auto* sink = static_cast<ReplySink*>(user);
  long status = 0;
  curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
  if (sink->fd < 0 || status / 100 != 2) {
    sink->reply->body.append(p, size * n);
    return size * n;
  }
  for (size_t done = 0; done < size * n;) {
    const ssize_t w = ::write(sink->fd, p + done, size * n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return 0;  // curl ends the transfer with CURLE_WRITE_ERROR
    done += size_t(w);
  }
  return size * n;
}

size_t write_header(char* p, size_t size, size_t n, void* user) {
  std::string_view line(p, size * n);
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    std::string_view v = line.substr(colon + 1);
    while (!v.empty() && (v.front() == ' ')) v.remove_prefix(1);
    while (!v.empty() && (v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
    static_cast<HttpReply*>(user)->headers[name] = std::string(v);
  }
  return size * n;
}

int progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* abort = static_cast<const std::atomic<bool>*>(user);
  return abort && abort->load(std::memory_order_relaxed) ? 1 : 0;
}

}  // namespace

std::string HttpReply::error_code() const {
  const size_t a = body.find("<Code>"), b = body.find("</Code>");
  if (a == std::string::npos || b == std::string::npos || b < a) return "";
  return body.substr(a + 6, b - a - 6);
}

std::string query_param(const std::string& name, const std::string& value) {
  std::string enc = encode_key(value), out;
  for (char c : enc) out += c == '/' ? std::string("%2F") : std::string(1, c);
  return name + "=" + out;
}

struct S3Client::Handle {
  CURL* curl = curl_easy_init();
  ~Handle() { curl_easy_cleanup(curl); }
};

S3Client::S3Client(const ArchiveConfig& cfg, const std::atomic<bool>* abort)
    : cfg_(cfg), abort_(abort), h_(std::make_unique<Handle>()) {
  if (!h_->curl) throw std::runtime_error("curl_easy_init failed");
}

S3Client::~S3Client() = default;

namespace {

// Everything but the method: where, how it is signed, timeouts, and where the reply goes.
void set_common(CURL* c, const std::string& url, const std::string& sigv4,
                const std::string& userpwd, curl_slist* headers, const std::atomic<bool>* abort,
                ReplySink* sink) {
  HttpReply* reply = sink->reply;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_AWS_SIGV4, sigv4.c_str());
  curl_easy_setopt(c, CURLOPT_USERPWD, userpwd.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 30L);
  curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
  curl_easy_setopt(c, CURLOPT_XFERINFODATA, abort);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, reply);
}

void set_method(CURL* c, const std::string& method, Body* body) {
  if (method == "HEAD") {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  } else if (method == "PUT" || method == "POST") {
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(c, CURLOPT_READDATA, body);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, curl_off_t(body->left));
    if (method == "POST") curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, "POST");
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
}

}  // namespace

Result<HttpReply> S3Client::send(const S3Request& req) {
  auto cred = load_credentials();
  if (!cred) return cred.error();
  CURL* c = h_->curl;
  curl_easy_reset(c);
  std::string url = object_url(cfg_.endpoint, cfg_.bucket, encode_key(req.key), cfg_.path_style);
  if (!req.query.empty()) url += "?" + req.query;
  const std::string sigv4 = "aws:amz:" + cfg_.region + ":s3";
  const std::string userpwd = cred->access_key + ":" + cred->secret_key;
  CurlSlist headers;
  for (const std::string& h : req.headers) headers.add(h);
  headers.add("x-amz-content-sha256: " + sha256_hex(req.body, req.body_len));
  if (req.body_len) headers.add("Content-MD5: " + md5_base64(req.body, req.body_len));
  if (!cred->session_token.empty()) headers.add("x-amz-security-token: " + cred->session_token);
  Body body{req.body, req.body_len};
  HttpReply reply;
  ReplySink sink{c, &reply, req.reply_fd};
  set_common(c, url, sigv4, userpwd, headers.list, abort_, &sink);
  set_method(c, req.method, &body);
  if (req.timeout_s > 0) curl_easy_setopt(c, CURLOPT_TIMEOUT, req.timeout_s);
  const CURLcode rc = curl_easy_perform(c);
  if (rc != CURLE_OK)
    return make_error(ErrorKind::System, req.method + " " + url + ": " + curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace xcap::archive
