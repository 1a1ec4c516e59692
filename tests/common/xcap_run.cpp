#include "common/xcap_run.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

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
      R"(accounting: xdp seen (\d+), passed (\d+), redirected (\d+), no-socket (\d+), malformed (\d+), filter-excluded (\d+); sockets delivered (\d+), over-count (\d+)(?:; xdp too-big (\d+))?)");
  std::smatch m;
  if (!std::regex_search(text, m, re)) return std::nullopt;
  auto n = [&](int i) { return std::stoull(m[i].str()); };
  auto opt = [&](int i) { return m[i].matched ? n(i) : 0; };
  return Accounting{n(1), n(2), n(3), n(4), n(5), n(6), n(7), n(8), opt(9)};
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

std::string http_get(int port, const std::string& path) {
  Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return "";
  std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (write(fd.get(), req.data(), req.size()) != ssize_t(req.size())) return "";
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd.get(), buf, sizeof buf)) > 0) resp.append(buf, size_t(n));
  auto body = resp.find("\r\n\r\n");
  return body == std::string::npos ? "" : resp.substr(body + 4);
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
