#include "archive/s3_location.h"

#include <algorithm>

namespace xcap::archive {
namespace {

bool valid_bucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok(b.front()) || !ok(b.back())) return false;
  return std::all_of(b.begin(), b.end(), [&](char c) { return ok(c) || c == '.' || c == '-'; });
}

std::string_view trim_slashes(std::string_view s) {
  while (!s.empty() && s.front() == '/') s.remove_prefix(1);
  while (!s.empty() && s.back() == '/') s.remove_suffix(1);
  return s;
}

}  // namespace

Result<S3Url> parse_s3_url(std::string_view url) {
  constexpr std::string_view kScheme = "s3://";
  if (url.substr(0, kScheme.size()) != kScheme)
    return invalid_input("'" + std::string(url) + "': expected s3://BUCKET[/PREFIX]");
  std::string_view rest = url.substr(kScheme.size());
  const size_t slash = rest.find('/');
  S3Url u;
  u.bucket = std::string(rest.substr(0, slash));
  if (!valid_bucket(u.bucket))
    return invalid_input("'" + std::string(url) + "': '" + u.bucket +
                         "' is not a bucket name (3-63 of a-z 0-9 . -)");
  if (slash != std::string_view::npos) u.prefix = std::string(trim_slashes(rest.substr(slash)));
  if (u.prefix.find("//") != std::string::npos)
    return invalid_input("'" + std::string(url) + "': empty path segment in the prefix");
  return u;
}

Result<std::string> normalize_endpoint(std::string_view endpoint, std::string_view region) {
  if (endpoint.empty()) return "https://s3." + std::string(region) + ".amazonaws.com";
  const bool http = endpoint.starts_with("http://"), https = endpoint.starts_with("https://");
  if (!http && !https)
    return invalid_input("'" + std::string(endpoint) + "': expected http(s)://HOST[:PORT]");
  std::string_view host = endpoint.substr(http ? 7 : 8);
  while (!host.empty() && host.back() == '/') host.remove_suffix(1);
  if (host.empty() || host.find_first_of("/?#@ ") != std::string_view::npos)
    return invalid_input("'" + std::string(endpoint) + "': expected http(s)://HOST[:PORT]");
  return std::string(http ? "http://" : "https://") + std::string(host);
}

std::string object_url(std::string_view endpoint, std::string_view bucket,
                       std::string_view encoded_key, bool path_style) {
  std::string url;
  if (path_style) {
    url = std::string(endpoint) + "/" + std::string(bucket);
  } else {
    const size_t host = endpoint.find("://") + 3;
    url = std::string(endpoint.substr(0, host)) + std::string(bucket) + "." +
          std::string(endpoint.substr(host));
  }
  return url + "/" + std::string(encoded_key);
}

}  // namespace xcap::archive
