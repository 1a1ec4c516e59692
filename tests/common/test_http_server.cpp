#include "common/test_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace xcap::test {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string percent_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i] == '+' ? ' ' : s[i];
    }
  }
  return out;
}

const char* reason_of(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 429:
      return "Too Many Requests";
    case 503:
      return "Service Unavailable";
    default:
      return "Status";
  }
}

ssize_t receive(int fd, SSL* ssl, char* buf, size_t n) {
  if (!ssl) return recv(fd, buf, n, 0);
  const int r = SSL_read(ssl, buf, static_cast<int>(n));
  return r > 0 ? r : -1;
}

// Reads one request (headers, and a Content-Length body); false when the client sent none.
bool read_request(int fd, SSL* ssl, TestHttpRequest& req) {
  std::string in;
  char buf[4096];
  size_t head_end;
  while ((head_end = in.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = receive(fd, ssl, buf, sizeof buf);
    if (n <= 0) return false;
    in.append(buf, static_cast<size_t>(n));
  }
  const std::string head = in.substr(0, head_end);
  std::string body = in.substr(head_end + 4);
  size_t line_end = head.find("\r\n");
  const std::string first = head.substr(0, line_end);
  const auto sp1 = first.find(' '), sp2 = first.rfind(' ');
  req.method = first.substr(0, sp1);
  req.target = first.substr(sp1 + 1, sp2 - sp1 - 1);
  while (line_end != std::string::npos) {
    const size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    const std::string line = head.substr(start, line_end - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    req.headers[lower(line.substr(0, colon))] = value;
  }
  const size_t length =
      req.headers.count("content-length") ? std::stoul(req.headers["content-length"]) : 0;
  while (body.size() < length) {
    const ssize_t n = receive(fd, ssl, buf, sizeof buf);
    if (n <= 0) return false;
    body.append(buf, static_cast<size_t>(n));
  }
  req.body = body.substr(0, length);
  return true;
}

}  // namespace

std::string TestHttpRequest::query(const std::string& name) const {
  const auto q = target.find('?');
  if (q == std::string::npos) return "";
  const std::string qs = target.substr(q + 1);
  size_t start = 0;
  while (start <= qs.size()) {
    size_t end = qs.find('&', start);
    if (end == std::string::npos) end = qs.size();
    const std::string kv = qs.substr(start, end - start);
    const auto eq = kv.find('=');
    if (kv.substr(0, eq) == name)
      return eq == std::string::npos ? "" : percent_decode(kv.substr(eq + 1));
    start = end + 1;
  }
  return "";
}

bool TestHttpExchange::send_all(const std::string& s) {
  size_t off = 0;
  while (off < s.size()) {
    const ssize_t n = ssl_ ? SSL_write(ssl_, s.data() + off, static_cast<int>(s.size() - off))
                           : send(fd_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

void TestHttpExchange::respond(int status, const std::string& content_type,
                               const std::string& body) {
  send_all("HTTP/1.1 " + std::to_string(status) + " " + reason_of(status) + "\r\nContent-Type: " +
           content_type + "\r\nContent-Length: " + std::to_string(body.size()) +
           "\r\nConnection: close\r\n\r\n" + body);
}

void TestHttpExchange::start_chunked(const std::string& content_type) {
  send_all("HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
           "\r\nTransfer-Encoding: chunked\r\nCache-Control: no-store\r\n\r\n");
}

bool TestHttpExchange::send_chunk(const std::vector<uint8_t>& bytes) {
  if (bytes.empty()) return true;
  char size[32];
  snprintf(size, sizeof size, "%zx\r\n", bytes.size());
  return send_all(size + std::string(bytes.begin(), bytes.end()) + "\r\n");
}

void TestHttpExchange::end_chunked() {
  send_all("0\r\n\r\n");
}

bool TestHttpExchange::client_closed_within(std::chrono::milliseconds d) {
  if (client_closed_) return true;
  const auto end = std::chrono::steady_clock::now() + d;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() < 0) return false;
    pollfd p[2] = {{fd_, POLLIN | POLLRDHUP, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(p, 2, static_cast<int>(left.count())) <= 0) return false;
    if (p[1].revents) return false;  // stopping
    char c;
    const ssize_t n = recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n <= 0) return client_closed_ = true;  // FIN (0) or an error: the client is done
    recv(fd_, &c, 1, 0);                       // the client said something more: ignore it
  }
}

bool TestHttpExchange::stopping() const {
  pollfd p{stop_fd_, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

void TestHttpExchange::wait_until_stopping() const {
  pollfd p{stop_fd_, POLLIN, 0};
  while (poll(&p, 1, -1) <= 0) {
  }
}

TestHttpServer::TestHttpServer(Handler handler, const std::string& host, int port)
    : handler_(std::move(handler)) {
  listen_on(host, port);
}

TestHttpServer::TestHttpServer(Handler handler, const std::string& cert, const std::string& key,
                               const std::string& client_ca)
    : handler_(std::move(handler)) {
  tls_.reset(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  if (SSL_CTX_use_certificate_chain_file(tls_.get(), cert.c_str()) != 1 ||
      SSL_CTX_use_PrivateKey_file(tls_.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
    throw std::runtime_error("TestHttpServer: cannot use " + cert + " / " + key);
  if (!client_ca.empty()) {
    SSL_CTX_load_verify_locations(tls_.get(), client_ca.c_str(), nullptr);
    SSL_CTX_set_verify(tls_.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  listen_on("127.0.0.1", 0);
}

void TestHttpServer::listen_on(const std::string& host, int port) {
  host_ = host;
  listener_ = Fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  const int one = 1;
  setsockopt(listener_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  if (bind(listener_.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      listen(listener_.get(), 64) != 0)
    throw std::runtime_error("TestHttpServer: cannot listen on " + host + ":" +
                             std::to_string(port));
  socklen_t len = sizeof a;
  getsockname(listener_.get(), reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  stop_ = Fd(eventfd(0, EFD_CLOEXEC));
  acceptor_ = std::thread([this] { accept_loop(); });
}

TestHttpServer::~TestHttpServer() {
  const uint64_t one = 1;
  (void)!write(stop_.get(), &one, sizeof one);
  acceptor_.join();
  std::vector<std::thread> conns;
  {
    std::lock_guard lock(mu_);
    conns.swap(connections_);
  }
  for (auto& t : conns) t.join();
}

std::vector<TestHttpRequest> TestHttpServer::requests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

void TestHttpServer::accept_loop() {
  for (;;) {
    pollfd p[2] = {{listener_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (poll(p, 2, -1) < 0) continue;
    if (p[1].revents) return;
    Fd conn(accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    if (!conn.valid()) continue;
    std::lock_guard lock(mu_);
    connections_.emplace_back(
        [this, c = std::make_shared<Fd>(std::move(conn))]() mutable { serve(std::move(*c)); });
  }
}

void TestHttpServer::serve(Fd conn) {
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  if (tls_) {
    ssl.reset(SSL_new(tls_.get()));
    SSL_set_fd(ssl.get(), conn.get());
    if (SSL_accept(ssl.get()) != 1) {  // the client refused us, or we it (the alert is out)
      // Close gently: closing with the client's request unread would reset the connection,
      // and the client might see the reset before the alert.
      shutdown(conn.get(), SHUT_WR);
      char buf[4096];
      pollfd p{conn.get(), POLLIN, 0};
      while (poll(&p, 1, 2000) > 0 && recv(conn.get(), buf, sizeof buf, 0) > 0) {
      }
      return;
    }
  }
  TestHttpRequest req;
  if (!read_request(conn.get(), ssl.get(), req)) return;
  {
    std::lock_guard lock(mu_);
    requests_.push_back(req);
  }
  TestHttpExchange ex(conn.get(), ssl.get(), stop_.get(), std::move(req));
  handler_(ex);
  shutdown(conn.get(), SHUT_WR);
}

}  // namespace xcap::test
