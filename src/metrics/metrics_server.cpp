#include "metrics/metrics_server.h"

#include <prometheus/text_serializer.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <thread>

#include "metrics/listen_socket.h"

namespace xcap::metrics {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// A request must arrive whole within this, and an idle keep-alive connection closes after it:
// a client that connects and says nothing holds nothing for long.
constexpr auto kRequestTimeout = std::chrono::seconds(5);

// One connection: read a request, answer it, repeat while the client keeps it alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, const CollectFn& collect, const HealthFn& health)
      : stream_(std::move(socket)), collect_(collect), health_(health) {}

  void read() {
    request_ = {};
    stream_.expires_after(kRequestTimeout);
    http::async_read(stream_, buffer_, request_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (!ec) self->answer();
                     });
  }

 private:
  void answer() {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(request_.version());
    res->keep_alive(request_.keep_alive());
    res->set(http::field::server, "xcap");
    const std::string_view target(request_.target().data(), request_.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (request_.method() != http::verb::get && request_.method() != http::verb::head) {
      res->result(http::status::method_not_allowed);
      res->set(http::field::allow, "GET, HEAD");
      res->body() = "only GET and HEAD\n";
    } else if (path == "/metrics") {
      FamilyBuilder b;
      collect_(b);
      res->result(http::status::ok);
      res->set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res->body() = prometheus::TextSerializer().Serialize(b.take());
    } else if (path == "/healthz") {
      const HealthAnswer h = health_ ? health_() : HealthAnswer{};
      res->result(h.ok ? http::status::ok : http::status::service_unavailable);
      res->body() = h.reason + "\n";
    } else {
      res->result(http::status::not_found);
      res->body() = "not found: xcap serves /metrics and /healthz\n";
    }
    if (res->result() != http::status::ok) res->set(http::field::content_type, "text/plain");
    res->prepare_payload();
    if (request_.method() == http::verb::head) res->body().clear();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, size_t) {
                        if (!ec && res->keep_alive()) return self->read();
                        beast::error_code ignored;
                        self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> request_;
  const CollectFn& collect_;  // the server's, which outlives every session (joined thread)
  const HealthFn& health_;    // likewise
};

}  // namespace

struct MetricsServer::Impl {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  CollectFn collect;
  HealthFn health;
  std::thread thread;

  void accept() {
    acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted) return;  // closing
      if (!ec) std::make_shared<Session>(std::move(socket), collect, health)->read();
      accept();
    });
  }
};

Result<std::string> parse_listen_address(const std::string& s) {
  const auto colon = s.rfind(':');
  const std::string example = ": expected ADDR:PORT, e.g. 127.0.0.1:9100 or [::1]:9100";
  if (colon == std::string::npos || colon + 1 >= s.size())
    return invalid_input("'" + s + "'" + example);
  std::string host = s.substr(0, colon);
  const std::string port = s.substr(colon + 1);
  int p = -1;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (ec != std::errc() || ptr != port.data() + port.size() || p < 0 || p > 65535)
    return invalid_input("'" + s + "': port must be 0-65535");
  if (host.empty()) host = "0.0.0.0";
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  beast::error_code bad;
  const auto ip = asio::ip::make_address(host, bad);
  if (bad) return invalid_input("'" + s + "': '" + host + "' is not an IP address" + example);
  return ip.is_v6() ? "[" + host + "]:" + port : host + ":" + port;
}

MetricsServer::MetricsServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<MetricsServer>> MetricsServer::start(const std::string& addr,
                                                            CollectFn collect, HealthFn health) {
  auto at = split_listen_address(addr);
  if (!at) return at.error();
  auto impl = std::make_unique<Impl>();
  impl->collect = std::move(collect);
  impl->health = std::move(health);
  // Not v6_only: [::] takes IPv4 scrapers too (where net.ipv6.bindv6only is 0, the default).
  if (auto bound = listen_on(impl->acceptor, *at, /*v6_only=*/false); !bound) return bound.error();
  impl->accept();
  impl->thread = std::thread([io = &impl->io] { io->run(); });
  return std::unique_ptr<MetricsServer>(new MetricsServer(std::move(impl)));
}

MetricsServer::~MetricsServer() {
  // Closing the acceptor ends the accept loop; stop() abandons the sessions in flight, whose
  // sockets close as the io_context destroys their handlers. Then no collect call runs.
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->io.stop();
  });
  if (impl_->thread.joinable()) impl_->thread.join();
}

uint16_t MetricsServer::port() const {
  beast::error_code ec;
  return impl_->acceptor.local_endpoint(ec).port();
}

}  // namespace xcap::metrics
