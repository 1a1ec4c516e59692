#include "common/xcap_run.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <charconv>
#include <csignal>
#include <regex>

#include "common/fd.h"
#include "common/lab.h"

namespace xcap::test {

std::optional<std::map<std::string, uint64_t>> parse_flat_json(const std::string& line) {
  std::map<std::string, uint64_t> out;
  size_t i = 0;
  auto at = [&](char c) { return i < line.size() && line[i] == c; };
  if (!at('{')) return std::nullopt;
  ++i;
  while (!at('}')) {
    if (!out.empty()) {
      if (!at(',')) return std::nullopt;
      ++i;
    }
    if (!at('"')) return std::nullopt;
    const size_t end = line.find('"', ++i);
    if (end == std::string::npos) return std::nullopt;
    const std::string key = line.substr(i, end - i);
    i = end + 1;
    if (!at(':')) return std::nullopt;
    uint64_t v = 0;
    const char* first = line.data() + ++i;
    auto [p, ec] = std::from_chars(first, line.data() + line.size(), v);
    if (ec != std::errc()) return std::nullopt;  // no digits, a sign, or out of range
    i += size_t(p - first);
    out[key] = v;
  }
  if (i + 1 != line.size()) return std::nullopt;  // nothing after the object
  return out;
}

std::optional<Stats> parse_stats_json(const std::string& text) {
  std::string last;
  for (size_t pos = 0; pos < text.size();) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) eol = text.size();
    if (text.compare(pos, 12, "{\"captured\":") == 0) last = text.substr(pos, eol - pos);
    pos = eol + 1;
  }
  auto kv = parse_flat_json(last);
  if (!kv) return std::nullopt;
  Stats s;
  const std::pair<const char*, uint64_t*> fields[] = {
      {"captured", &s.captured},
      {"dropped", &s.dropped},
      {"kernel", &s.kernel},
      {"ring", &s.ring},
      {"filter_excluded", &s.filter_excluded},
      {"writer", &s.writer},
      {"decap_error", &s.decap_error},
      {"too_big", &s.too_big},
      {"xdp_seen", &s.xdp_seen},
      {"xdp_passed", &s.xdp_passed},
      {"xdp_redirected", &s.xdp_redirected},
      {"xdp_no_socket", &s.xdp_no_socket},
      {"xdp_malformed", &s.xdp_malformed},
      {"xdp_filter_excluded", &s.xdp_filter_excluded},
      {"delivered", &s.delivered},
      {"over_count", &s.over_count},
      {"xdp_too_big", &s.xdp_too_big},
      {"not_ready", &s.not_ready},
  };
  for (const auto& [key, dst] : fields) {
    auto it = kv->find(key);
    if (it == kv->end()) return std::nullopt;
    *dst = it->second;
  }
  return s;
}

std::optional<StatsLine> parse_stats_line(const std::string& text) {
  static const std::regex re(
      R"((?:^|\n)xcap: (\d+) packets captured, (\d+) dropped \(kernel (\d+), ring (\d+), filter-excluded (\d+), writer (\d+), decap-error (\d+), too-big (\d+)\)\n)");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  auto n = [&](int i) { return std::stoull(m[i].str()); };
  return StatsLine{n(1), n(2), n(3), n(4), n(5), n(6), n(7), n(8)};
}

Scrape parse_metrics(const std::string& body) {
  Scrape out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find('\n', pos);
    if (eol == std::string::npos) eol = body.size();
    const std::string line = body.substr(pos, eol - pos);
    pos = eol + 1;
    if (line.empty() || line[0] == '#') continue;
    // The value follows the last space (label values here hold no spaces).
    const size_t sp = line.rfind(' ');
    if (sp == std::string::npos) continue;
    out[line.substr(0, sp)] = std::strtod(line.c_str() + sp + 1, nullptr);
  }
  return out;
}

Scrape scrape_metrics(int port) {
  return parse_metrics(http_get(port, "/metrics"));
}

std::optional<uint64_t> metric(const Scrape& s, const std::string& series) {
  auto it = s.find(series);
  if (it == s.end()) return std::nullopt;
  return static_cast<uint64_t>(it->second);
}

std::unique_ptr<Subprocess> start_capture(const std::string& iface,
                                          const std::vector<std::string>& args, std::string* why,
                                          const std::string& stdout_path, double timeout_s) {
  std::vector<std::string> argv{bin("xcap"), "capture", "-i", iface};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--stats-json");
  auto p = std::make_unique<Subprocess>(argv, stdout_path);
  if (!p->wait_for_stderr("capturing on", timeout_s)) {
    if (why) *why = "xcap did not start: " + p->err();
    return nullptr;
  }
  return p;
}

ReplayCapture capture_replay(const Lab& lab, const std::vector<std::string>& args,
                             const std::string& pcap, const std::string& rate) {
  ReplayCapture r;
  auto cap = start_capture(lab.cap_if(), args, &r.why);
  if (!cap) return r;
  auto gen = lab.send({"--pcap", pcap, "--rate", rate, "--quiet"});
  if (gen.status != 0) r.why = "xcap-gen failed: " + gen.output;
  cap->signal(SIGINT);
  const int status = cap->wait(60);
  r.err = cap->err();
  if (status != 0 && r.why.empty()) r.why = "xcap exited " + std::to_string(status) + ": " + r.err;
  r.stats = parse_stats_json(r.err);
  if (!r.stats && r.why.empty()) r.why = "no --stats-json line: " + r.err;
  return r;
}

std::string http_get(const std::string& host, int port, const std::string& path) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_flags = AI_NUMERICHOST;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res) != 0) return "";
  Fd fd(socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
  timeval tv{5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const bool connected = connect(fd.get(), res->ai_addr, res->ai_addrlen) == 0;
  freeaddrinfo(res);
  if (!connected) return "";
  const std::string h = host.find(':') == std::string::npos ? host : "[" + host + "]";
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: " + h + "\r\n\r\n";
  if (write(fd.get(), req.data(), req.size()) != ssize_t(req.size())) return "";
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof buf)) > 0) resp.append(buf, size_t(n));
  auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
}

std::string http_get(int port, const std::string& path) {
  return http_get("127.0.0.1", port, path);
}

int free_port() {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return ntohs(a.sin_port);
}

}  // namespace xcap::test
