#include "archive/credentials.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace xcap::archive {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string shared_file_path() {
  if (std::string p = env("AWS_SHARED_CREDENTIALS_FILE"); !p.empty()) return p;
  if (std::string home = env("HOME"); !home.empty()) return home + "/.aws/credentials";
  return "";
}

}  // namespace

Result<Credentials> parse_credentials_file(std::string_view text, std::string_view profile) {
  Credentials c;
  bool in_profile = false, seen = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_profile = trim(line.substr(1, line.size() - 2)) == profile;
      seen = seen || in_profile;
      continue;
    }
    const size_t eq = line.find('=');
    if (!in_profile || eq == std::string_view::npos) continue;
    const std::string_view key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key = value;
    if (key == "aws_secret_access_key") c.secret_key = value;
    if (key == "aws_session_token") c.session_token = value;
  }
  if (!seen) return make_error(ErrorKind::NotFound, "no profile [" + std::string(profile) + "]");
  if (c.access_key.empty() || c.secret_key.empty())
    return make_error(
        ErrorKind::NotFound,
        "profile [" + std::string(profile) + "] lacks aws_access_key_id or aws_secret_access_key");
  return c;
}

Result<Credentials> load_credentials() {
  Credentials c{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN"),
                "environment"};
  if (!c.access_key.empty() && !c.secret_key.empty()) return c;
  const std::string path = shared_file_path();
  std::string profile = env("AWS_PROFILE");
  if (profile.empty()) profile = "default";
  std::ifstream in(path);
  if (path.empty() || !in)
    return make_error(ErrorKind::NotFound,
                      "no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or write "
                      "them to " +
                          (path.empty() ? "~/.aws/credentials" : path));
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parse_credentials_file(text.str(), profile);
  if (!parsed) return parsed.error().context("no credentials in " + path);
  parsed->origin = path + " [" + profile + "]";
  return parsed;
}

}  // namespace xcap::archive
