// HttpConnection: one client connection to an HTTP server over TCP, or over TLS (certificate
// and host name verified, SNI sent, optional client certificate), for the coroutines of
// `xcap stream` (its streams and the BOSH Director's API). The Beast calls take the stream
// through with_stream(), whichever of the two it is.
#pragma once

#include <utility>  // before Asio: boost 1.74's awaitable.hpp uses std::exchange unincluded

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <variant>

#include "common/result.h"
#include "stream/tls_files.h"

namespace xcap::stream {

namespace asio = boost::asio;
namespace beast = boost::beast;

// A client TLS context that verifies the server against ca and presents cert/key when given.
// Errors name the file that could not be used.
Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsFiles& files);

class HttpConnection {
 public:
  using Plain = beast::tcp_stream;
  using Tls = beast::ssl_stream<beast::tcp_stream>;

  // tls null: plain TCP.
  HttpConnection(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> tls);

  // Resolves host, connects (any of its addresses) and, over TLS, handshakes, all within
  // timeout. Throws boost::system::system_error; tls_error() says whether TLS was at fault.
  asio::awaitable<void> connect(const std::string& host, uint16_t port,
                                std::chrono::steady_clock::duration timeout);

  // f(stream&) with the plain or the TLS stream.
  template <typename F>
  decltype(auto) with_stream(F&& f) {
    return std::visit([&](auto& s) -> decltype(auto) { return f(*s); }, stream_);
  }
  beast::tcp_stream& tcp() {
    return std::visit([](auto& s) -> beast::tcp_stream& { return beast::get_lowest_layer(*s); },
                      stream_);
  }
  // Sends FIN (the server reads end of stream) and keeps reading possible.
  void shutdown_send();
  // Ends whatever operation is pending (it fails with operation_aborted).
  void cancel() { tcp().cancel(); }
  bool tls() const { return std::holds_alternative<std::unique_ptr<Tls>>(stream_); }

 private:
  std::shared_ptr<asio::ssl::context> ctx_;
  std::variant<std::unique_ptr<Plain>, std::unique_ptr<Tls>> stream_;
};

// A connect/read failure in words: "connection refused", "TLS: certificate verify failed",
// "timed out".
std::string describe_network_error(const boost::system::error_code& ec);

}  // namespace xcap::stream
