#include "stream/http_connection.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <sstream>

namespace xcap::stream {

using tcp = asio::ip::tcp;

namespace {

bool readable(const std::string& path) {
  std::ifstream in(path);
  return bool(in);
}

}  // namespace

Result<std::shared_ptr<asio::ssl::context>> make_tls_context(const TlsFiles& f) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (f.ca.empty()) {
    ctx->set_default_verify_paths(ec);
  } else if (f.ca.find("-----BEGIN") != std::string::npos) {
    ctx->add_certificate_authority(asio::buffer(f.ca), ec);
    if (ec) return invalid_input("the CA certificate text: " + ec.message());
  } else {
    if (!readable(f.ca)) return errno_error("'" + f.ca + "': cannot read").context("CA");
    ctx->load_verify_file(f.ca, ec);
    if (ec) return invalid_input("'" + f.ca + "': not PEM certificates (" + ec.message() + ")");
  }
  if (f.cert.empty() != f.key.empty())
    return invalid_input("a client certificate needs both its certificate and its key");
  if (!f.cert.empty()) {
    if (!readable(f.cert)) return errno_error("'" + f.cert + "': cannot read");
    if (!readable(f.key)) return errno_error("'" + f.key + "': cannot read");
    ctx->use_certificate_chain_file(f.cert, ec);
    if (ec) return invalid_input("'" + f.cert + "': not a PEM certificate (" + ec.message() + ")");
    ctx->use_private_key_file(f.key, asio::ssl::context::pem, ec);
    if (ec) return invalid_input("'" + f.key + "': not a PEM key for it (" + ec.message() + ")");
  }
  return ctx;
}

HttpConnection::HttpConnection(asio::any_io_executor ex, std::shared_ptr<asio::ssl::context> tls)
    : ctx_(std::move(tls)) {
  if (ctx_)
    stream_ = std::make_unique<Tls>(ex, *ctx_);
  else
    stream_ = std::make_unique<Plain>(ex);
}

asio::awaitable<void> HttpConnection::connect(const std::string& host, uint16_t port,
                                              std::chrono::steady_clock::duration timeout) {
  auto ex = co_await asio::this_coro::executor;
  tcp::resolver resolver(ex);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto addrs = co_await resolver.async_resolve(host, std::to_string(port), asio::use_awaitable);
  tcp().expires_at(deadline);
  co_await tcp().async_connect(addrs, asio::use_awaitable);
  if (auto* s = std::get_if<std::unique_ptr<Tls>>(&stream_)) {
    Tls& t = **s;
    // SNI, and the name the certificate must carry (an address for an IP literal).
    if (!SSL_set_tlsext_host_name(t.native_handle(), host.c_str()))
      throw boost::system::system_error(boost::system::error_code(
          static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category()));
    t.set_verify_callback(asio::ssl::host_name_verification(host));
    tcp().expires_at(deadline);
    co_await t.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
  }
  tcp().expires_never();
}

void HttpConnection::shutdown_send() {
  boost::system::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_send, ignored);
}

std::string describe_network_error(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  if (ec.category() == asio::error::get_ssl_category() ||
      ec.category() == asio::ssl::error::get_stream_category()) {
    std::string why = ec.message();
    if (ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED)
      why = "certificate verify failed";
    return "TLS: " + why;
  }
  if (ec == asio::error::host_not_found || ec == asio::error::host_not_found_try_again)
    return "host not found";
  std::string m = ec.message();
  if (!m.empty()) m[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(m[0])));
  return m;
}

}  // namespace xcap::stream
