#include "stream/http_fetch.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <optional>
#include <utility>

namespace xcap::stream {

namespace http = beast::http;

namespace {

constexpr size_t kMaxReplyBytes = 16 << 20;  // a Director's VM list is far below this

asio::awaitable<FetchReply> exchange(HttpConnection& conn, const Target& server,
                                     const FetchRequest& rq,
                                     std::chrono::steady_clock::time_point deadline) {
  co_await conn.connect(server.host, server.port, deadline - std::chrono::steady_clock::now());
  http::request<http::string_body> req{http::string_to_verb(rq.method), rq.path, 11};
  req.set(http::field::host, host_port(server.host, server.port));
  req.set(http::field::user_agent, "xcap/" XCAP_VERSION);
  for (const auto& [k, v] : rq.headers) req.set(k, v);
  if (!rq.body.empty()) req.body() = rq.body;
  req.prepare_payload();
  conn.tcp().expires_at(deadline);
  co_await conn.with_stream(
      [&](auto& s) { return http::async_write(s, req, asio::use_awaitable); });
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBytes);
  co_await conn.with_stream(
      [&](auto& s) { return http::async_read(s, buf, parser, asio::use_awaitable); });
  co_return FetchReply{static_cast<int>(parser.get().result_int()), parser.get().body()};
}

}  // namespace

Result<FetchReply> http_fetch(const Target& server, const FetchRequest& request,
                              std::shared_ptr<asio::ssl::context> tls,
                              std::chrono::steady_clock::duration timeout) {
  asio::io_context io;
  HttpConnection conn(io.get_executor(), server.tls ? std::move(tls) : nullptr);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::optional<Result<FetchReply>> out;
  asio::co_spawn(
      io, exchange(conn, server, request, deadline), [&](std::exception_ptr e, FetchReply reply) {
        if (!e) return out.emplace(std::move(reply)), void();
        try {
          std::rethrow_exception(e);
        } catch (const boost::system::system_error& se) {
          out.emplace(make_error(ErrorKind::System,
                                 server.name + ": " + describe_network_error(se.code())));
        } catch (const std::exception& x) {
          out.emplace(make_error(ErrorKind::System, server.name + ": " + x.what()));
        }
      });
  io.run();
  if (!out) return make_error(ErrorKind::System, server.name + ": no reply");
  return std::move(*out);
}

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t v =
        uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(v >> s) & 63];
  }
  if (i < in.size()) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    if (i + 1 < in.size()) v |= uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

}  // namespace xcap::stream
