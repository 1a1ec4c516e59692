#include "stream/targets.h"

#include <sys/wait.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace xcap::stream {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

Result<uint16_t> parse_port(const std::string& text, const std::string& port) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  if (port.empty() || ec != std::errc() || p != port.data() + port.size() || v == 0 || v > 65535)
    return invalid_input("'" + text + "': port '" + port + "' is not a number from 1 to 65535");
  return static_cast<uint16_t>(v);
}

}  // namespace

std::string host_port(const std::string& host, uint16_t port) {
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

Result<Target> parse_target(const std::string& given, uint16_t default_port, bool default_tls) {
  auto t = parse_endpoint(given, default_port, default_tls);
  if (t && t->path.empty()) t->path = "/capture";
  return t;
}

Result<Target> parse_endpoint(const std::string& given, uint16_t default_port, bool default_tls) {
  const std::string text = trim(given);
  if (text.empty()) return invalid_input("an empty target");
  Target t;
  t.path.clear();
  t.tls = default_tls;
  std::string rest = text;
  if (const auto scheme = text.find("://"); scheme != std::string::npos) {
    const std::string s = text.substr(0, scheme);
    if (s != "http" && s != "https")
      return invalid_input("'" + text + "': scheme '" + s + "' (expected http or https)");
    t.tls = s == "https";
    rest = text.substr(scheme + 3);
    if (const auto slash = rest.find('/'); slash != std::string::npos) {
      t.path = rest.substr(slash);
      rest = rest.substr(0, slash);
      if (t.path == "/") t.path.clear();
    }
    if (t.path.find_first_of("? #") != std::string::npos)
      return invalid_input("'" + text + "': the path cannot hold a query ('?'), '#' or spaces");
  }
  std::string port;
  if (!rest.empty() && rest.front() == '[') {
    const auto close = rest.find(']');
    if (close == std::string::npos)
      return invalid_input("'" + text + "': '[' without ']' around an IPv6 address");
    t.host = rest.substr(1, close - 1);
    const std::string after = rest.substr(close + 1);
    if (!after.empty() && after.front() != ':')
      return invalid_input("'" + text + "': expected ':PORT' after ']'");
    if (!after.empty()) port = after.substr(1);
    if (!after.empty() && port.empty()) return invalid_input("'" + text + "': ':' without a port");
  } else {
    const auto colon = rest.rfind(':');
    if (colon != std::string::npos && rest.find(':') != colon)
      return invalid_input("'" + text + "': an IPv6 address needs brackets, as [2001:db8::1]:" +
                           std::to_string(default_port));
    t.host = rest.substr(0, colon);
    if (colon != std::string::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return invalid_input("'" + text + "': ':' without a port");
    }
  }
  if (t.host.empty()) return invalid_input("'" + text + "': no host");
  if (t.host.find_first_of(" /@?#[]") != std::string::npos)
    return invalid_input("'" + text + "': '" + t.host + "' is not a host name or address");
  if (port.empty()) {
    t.port = default_port;
  } else {
    auto p = parse_port(text, port);
    if (!p) return p.error();
    t.port = *p;
  }
  t.name = host_port(t.host, t.port);
  return t;
}

std::vector<std::string> target_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    line = trim(line.substr(0, line.find('#')));
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

Result<std::vector<std::string>> read_targets_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    Error e = errno_error("'" + path + "': cannot read");
    e.kind = ErrorKind::InvalidInput;  // a file the command line named: bad input
    return e;
  }
  std::ostringstream s;
  s << in.rdbuf();
  return target_lines(s.str());
}

Result<std::vector<std::string>> run_targets_command(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "re");  // /bin/sh -c cmd; its stderr stays the user's
  if (!p) return errno_error("'" + cmd + "': cannot run");
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = pclose(p);
  if (status == -1) return errno_error("'" + cmd + "': cannot wait for it");
  if (WIFSIGNALED(status))
    return make_error(ErrorKind::System,
                      "'" + cmd + "' died of signal " + std::to_string(WTERMSIG(status)));
  if (WEXITSTATUS(status) != 0)
    return make_error(ErrorKind::System,
                      "'" + cmd + "' exited with status " + std::to_string(WEXITSTATUS(status)));
  return target_lines(out);
}

std::string url_encode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace xcap::stream
