#include "common/xcap_run.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <regex>

#include "common/fd.h"
#include "common/lab.h"

namespace xcap::test {

std::optional<StatsLine> parse_stats_line(const std::string& text) {
  static const std::regex re(
      R"(xcap: (\d+) packets captured, (\d+) dropped \(kernel (\d+), ring (\d+), filter-excluded (\d+), writer (\d+), decap-error (\d+)(?:, too-big (\d+))?\))");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  auto n = [&](int i) { return std::stoull(m[i].str()); };
  auto opt = [&](int i) { return m[i].matched ? n(i) : 0; };
  return StatsLine{n(1), n(2), n(3), n(4), n(5), n(6), n(7), opt(8)};
}

std::optional<Accounting> parse_accounting(const std::string& text) {
  static const std::regex re(
      R"(accounting: xdp seen (\d+), passed (\d+), redirected (\d+), no-socket (\d+), malformed (\d+), filter-excluded (\d+); sockets delivered (\d+), over-count (\d+); xdp too-big (\d+); passed before start (\d+))");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  auto n = [&](int i) { return std::stoull(m[i].str()); };
  return Accounting{n(1), n(2), n(3), n(4), n(5), n(6), n(7), n(8), n(9), n(10)};
}

std::unique_ptr<Subprocess> start_capture(const std::string& iface,
                                          const std::vector<std::string>& args, std::string* why,
                                          const std::string& stdout_path, double timeout_s) {
  std::vector<std::string> argv{bin("xcap"), "capture", "-i", iface};
  argv.insert(argv.end(), args.begin(), args.end());
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
  r.stats = parse_stats_line(r.err);
  if (!r.stats && r.why.empty()) r.why = "no stats line: " + r.err;
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
