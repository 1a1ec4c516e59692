// TestHttpServer: a small HTTP/1.1 server on 127.0.0.1 (port 0: the kernel picks) for the
// tests of `xcap stream`. Each connection gets its own thread and a TestHttpExchange, through
// which the test's handler answers: a whole response, or a chunked body sent piece by piece
// with pauses, watching for the client's half-close. Written on plain sockets, not Beast, so
// the client under test is checked against a second implementation of the protocol.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/fd.h"

struct ssl_st;  // OpenSSL's SSL and SSL_CTX, kept out of this header
struct ssl_ctx_st;

namespace xcap::test {

struct TestHttpRequest {
  std::string method, target;                  // "GET", "/capture?count=3"
  std::map<std::string, std::string> headers;  // names lower-case
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
  std::string path() const { return target.substr(0, target.find('?')); }
  // A query parameter, percent-decoded; "" when absent.
  std::string query(const std::string& name) const;
};

using SslHandle = ::ssl_st;

class TestHttpExchange {
 public:
  TestHttpExchange(int fd, SslHandle* ssl, int stop_fd, TestHttpRequest req)
      : fd_(fd), ssl_(ssl), stop_fd_(stop_fd), req_(std::move(req)) {}
  const TestHttpRequest& request() const { return req_; }

  // A whole response with Content-Length; the connection closes after it.
  void respond(int status, const std::string& content_type, const std::string& body);
  // 200, Transfer-Encoding: chunked; then send_chunk() and end_chunked().
  void start_chunked(const std::string& content_type = "application/vnd.tcpdump.pcapng");
  bool send_chunk(const std::vector<uint8_t>& bytes);  // false: the client is gone
  void end_chunked();                                  // the terminating 0-size chunk
  // Waits up to d (or until the server stops); true when the client half-closed or closed
  // its side in the meantime.
  bool client_closed_within(std::chrono::milliseconds d);
  // True when the server is stopping (tests end).
  bool stopping() const;
  // Waits for that, whatever the client does (a server that ignores a half-close).
  void wait_until_stopping() const;

 private:
  bool send_all(const std::string& s);
  int fd_;
  SslHandle* ssl_;  // null: plain TCP
  int stop_fd_;
  TestHttpRequest req_;
  bool client_closed_ = false;
};

class TestHttpServer {
 public:
  using Handler = std::function<void(TestHttpExchange&)>;
  // host: a loopback address (127.0.0.1, 127.0.0.2, ...); port 0: any free one.
  explicit TestHttpServer(Handler handler, const std::string& host = "127.0.0.1", int port = 0);
  // The same over TLS with this PEM certificate and key; with client_ca, a client certificate
  // signed by it is required.
  TestHttpServer(Handler handler, const std::string& cert, const std::string& key,
                 const std::string& client_ca = "");
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  int port() const { return port_; }
  std::string address() const { return host_ + ":" + std::to_string(port_); }
  std::vector<TestHttpRequest> requests() const;

 private:
  friend class TestHttpExchange;
  void accept_loop();
  void serve(Fd conn);

  void listen_on(const std::string& host, int port);
  Handler handler_;
  std::shared_ptr<::ssl_ctx_st> tls_;  // null: plain
  Fd listener_, stop_;                 // stop_: an eventfd every poll() also watches
  std::string host_;
  int port_ = 0;
  std::thread acceptor_;
  mutable std::mutex mu_;
  std::vector<std::thread> connections_;
  std::vector<TestHttpRequest> requests_;
};

}  // namespace xcap::test
