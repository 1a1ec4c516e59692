#include "archive/store_reader.h"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <optional>
#include <string_view>
#include <thread>

#include "archive/backoff.h"
#include "common/log.h"

namespace xcap::archive {
namespace {

// The text of <tag>...</tag> in xml from *pos on (which moves past it); nullopt when absent.
std::optional<std::string> element(const std::string& xml, const std::string& tag, size_t* pos,
                                   size_t end = std::string::npos) {
  const std::string open = "<" + tag + ">", close = "</" + tag + ">";
  const size_t a = xml.find(open, *pos);
  if (a == std::string::npos || a >= end) return std::nullopt;
  const size_t b = xml.find(close, a + open.size());
  if (b == std::string::npos || b > end) return std::nullopt;
  *pos = b + close.size();
  return xml.substr(a + open.size(), b - a - open.size());
}

// XML's five entities and decimal or hex character references (keys and tokens may hold
// them). Anything else is kept as written.
std::string unescape(const std::string& s) {
  static const std::pair<const char*, char> kNamed[] = {
      {"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    const size_t semi = s[i] == '&' ? s.find(';', i) : std::string::npos;
    if (semi == std::string::npos) {
      out += s[i];
      continue;
    }
    const std::string_view ent(s.data() + i + 1, semi - i - 1);
    std::optional<uint32_t> c;
    for (auto [name, ch] : kNamed)
      if (ent == name) c = uint32_t(static_cast<unsigned char>(ch));
    if (!c && ent.size() > 1 && ent[0] == '#') {
      const bool hex = ent[1] == 'x';
      uint32_t v = 0;
      const char* from = ent.data() + (hex ? 2 : 1);
      auto [p, ec] = std::from_chars(from, ent.data() + ent.size(), v, hex ? 16 : 10);
      if (ec == std::errc() && p == ent.data() + ent.size() && v > 0 && v < 0x10000) c = v;
    }
    if (!c) {
      out += s[i];
      continue;
    }
    if (*c < 0x80) {
      out += char(*c);
    } else if (*c < 0x800) {
      out += char(0xC0 | (*c >> 6));
      out += char(0x80 | (*c & 0x3F));
    } else {
      out += char(0xE0 | (*c >> 12));
      out += char(0x80 | ((*c >> 6) & 0x3F));
      out += char(0x80 | (*c & 0x3F));
    }
    i = semi;
  }
  return out;
}

}  // namespace

StoreReader::StoreReader(const ArchiveConfig& cfg, unsigned attempts, unsigned page_size)
    : cfg_(cfg),
      attempts_(attempts ? attempts : 1),
      page_size_(page_size ? page_size : 1000),
      s3_(cfg_, nullptr) {}

Result<HttpReply> StoreReader::send(const S3Request& req, const std::string& what) {
  Backoff backoff(cfg_.retry_base_s, cfg_.retry_cap_s);
  for (unsigned i = 1;; i++) {
    if (req.reply_fd >= 0 &&
        (::ftruncate(req.reply_fd, 0) != 0 || ::lseek(req.reply_fd, 0, SEEK_SET) != 0))
      return errno_error("cannot reuse the download's temporary file");
    auto r = s3_.send(req);
    if (r && r->status / 100 != 5) return r;
    const std::string why =
        r ? "HTTP " + std::to_string(r->status) + " " + r->error_code() : r.error().message;
    if (i >= attempts_) {
      if (!r) return r.error();
      return *r;
    }
    const double wait = backoff.next();
    log_error("%s: %s; trying again in %.1f s", what.c_str(), why.c_str(), wait);
    std::this_thread::sleep_for(std::chrono::duration<double>(wait));
  }
}

Error StoreReader::refused(const std::string& what, const HttpReply& r) const {
  const std::string code = r.error_code();
  if (r.status == 404 && code == "NoSuchBucket")
    return invalid_input("no bucket '" + cfg_.bucket + "' at " + cfg_.endpoint);
  if (r.status == 404) return make_error(ErrorKind::NotFound, what + ": no such object");
  if (r.status == 403)
    return invalid_input(what + ": the store refused the credentials (" +
                         (code.empty() ? "HTTP 403" : code) + "): wrong access key or secret?");
  return make_error(ErrorKind::System, what + ": the store answered HTTP " +
                                           std::to_string(r.status) +
                                           (code.empty() ? "" : " " + code));
}

Result<void> StoreReader::list_pages(const std::string& prefix, const std::string& start_after,
                                     unsigned page_size,
                                     const std::function<bool(const std::string&)>& on_page) {
  const std::string what = "listing s3://" + cfg_.bucket + "/" + prefix;
  std::string token;
  for (;;) {
    // The query in canonical (sorted) order: libcurl signs it as written.
    std::string q;
    if (!token.empty()) q += query_param("continuation-token", token) + "&";
    q += "list-type=2&";
    if (page_size != 1000) q += "max-keys=" + std::to_string(page_size) + "&";
    q += query_param("prefix", prefix);
    if (!start_after.empty() && token.empty()) q += "&" + query_param("start-after", start_after);
    auto r = send(S3Request{"GET", "", q}, what);
    if (!r) return r.error().context(what);
    if (r->status != 200) return refused(what, *r);
    if (!on_page(r->body)) return ok();
    size_t at = 0;
    auto truncated = element(r->body, "IsTruncated", &at);
    at = 0;
    auto next = element(r->body, "NextContinuationToken", &at);
    if (!truncated || *truncated != "true") return ok();
    if (!next || next->empty())
      return make_error(ErrorKind::System,
                        what + ": a truncated page without a continuation token");
    token = unescape(*next);
  }
}

Result<void> StoreReader::list(const std::string& prefix, const std::string& start_after,
                               const std::function<bool(const ListedKey&)>& visit) {
  return list_pages(prefix, start_after, page_size_, [&](const std::string& xml) {
    size_t pos = 0;
    while (auto contents = element(xml, "Contents", &pos)) {
      size_t at = 0;
      auto key = element(*contents, "Key", &at);
      at = 0;
      auto size = element(*contents, "Size", &at);
      if (!key) continue;
      uint64_t bytes = 0;
      if (size) std::from_chars(size->data(), size->data() + size->size(), bytes);
      if (!visit({unescape(*key), bytes})) return false;
    }
    return true;
  });
}

Result<std::vector<std::string>> StoreReader::folders(const std::string& prefix) {
  // A skip scan: the first key after the last folder found names the next folder. Keys of
  // PREFIX/f/ all sort before PREFIX/f0 ('0' follows '/'), and a folder whose name continues
  // with a byte below '/' sorts before PREFIX/f/ and was met already. (Listing by delimiter
  // would do it too, but s3rver only reports common prefixes one level deep.)
  std::vector<std::string> out;
  std::string after;
  for (;;) {
    std::optional<std::string> first;
    auto r = list_pages(prefix, after, 1, [&](const std::string& xml) {
      size_t pos = 0;
      if (auto contents = element(xml, "Contents", &pos)) {
        size_t at = 0;
        if (auto key = element(*contents, "Key", &at)) first = unescape(*key);
      }
      return false;
    });
    if (!r) return r.error();
    if (!first) return out;
    const size_t slash = first->find('/', prefix.size());
    if (slash == std::string::npos) {  // an object right under prefix: no folder
      after = *first;
      continue;
    }
    out.push_back(first->substr(0, slash + 1));
    after = first->substr(0, slash) + "0";
  }
}

Result<void> StoreReader::download(const std::string& key, int fd) {
  S3Request req{"GET", key, ""};
  req.reply_fd = fd;
  const std::string what = "s3://" + cfg_.bucket + "/" + key;
  auto r = send(req, what);
  if (!r) return r.error().context(what);
  if (r->status != 200) return refused(what, *r);
  return ok();
}

}  // namespace xcap::archive
