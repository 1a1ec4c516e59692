#include "stream/target_stream.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http.hpp>
#include <exception>
#include <limits>

namespace xcap::stream {

namespace http = beast::http;

namespace {

constexpr size_t kReadBytes = 64 * 1024;
constexpr size_t kErrorBodyBytes = 4096;  // an error's one-line reason, and some slack

std::string first_line(std::string s) {
  s = s.substr(0, s.find_first_of("\r\n"));
  return s.size() > 300 ? s.substr(0, 300) + "..." : s;
}

// "2 s", "0.5 s".
std::string seconds_text(std::chrono::steady_clock::duration d) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  std::string s = std::to_string(ms / 1000);
  if (ms % 1000) {
    std::string frac = std::to_string(1000 + ms % 1000).substr(1);
    while (frac.back() == '0') frac.pop_back();
    s += "." + frac;
  }
  return s + " s";
}

}  // namespace

TargetStream::TargetStream(asio::io_context& io, Target target,
                           std::shared_ptr<asio::ssl::context> tls, std::string path_and_query,
                           std::string token, std::chrono::steady_clock::duration idle,
                           TargetStreamCallbacks callbacks)
    : io_(io),
      target_(std::move(target)),
      path_(std::move(path_and_query)),
      token_(std::move(token)),
      idle_(idle),
      cb_(std::move(callbacks)),
      conn_(io.get_executor(), target_.tls ? std::move(tls) : nullptr),
      stop_timer_(io) {}

void TargetStream::start() {
  asio::co_spawn(io_, run(), asio::detached);
}

void TargetStream::end(StreamEnd e) {
  if (ended_) return;
  ended_ = true;
  stop_timer_.cancel();
  cb_.ended(e);
}

void TargetStream::stop(std::chrono::steady_clock::duration wait) {
  if (ended_ || stopping_) return;
  stopping_ = true;
  if (!connected_) return cut("stopped before the stream began");
  conn_.shutdown_send();
  stop_timer_.expires_after(wait);
  stop_timer_.async_wait([self = shared_from_this(), wait](boost::system::error_code ec) {
    if (ec || self->ended_) return;
    self->cut("no final statistics within " + seconds_text(wait) + " of the stop");
  });
}

void TargetStream::cut(std::string reason) {
  if (ended_ || cut_) return;
  cut_ = true;
  cut_reason_ = std::move(reason);
  conn_.cancel();
}

asio::awaitable<void> TargetStream::run() {
  auto self = shared_from_this();
  StreamEnd e{StreamEnd::Kind::Failed, ""};
  try {
    e = co_await follow();
  } catch (const boost::system::system_error& se) {
    e = {StreamEnd::Kind::Failed, describe_network_error(se.code())};
  } catch (const std::exception& x) {
    e = {StreamEnd::Kind::Failed, x.what()};
  }
  if (cut_) e = {StreamEnd::Kind::Stopped, cut_reason_};
  end(std::move(e));
}

// The response's body as it is read: the parser, and the last piece it gave.
struct TargetStream::BodyReader {
  beast::flat_buffer buf;
  http::response_parser<http::buffer_body> parser;
  std::vector<uint8_t> chunk = std::vector<uint8_t>(kReadBytes);
  size_t got = 0;  // bytes of chunk the last read_body filled
};

asio::awaitable<void> TargetStream::send_request() {
  http::request<http::empty_body> req{http::verb::get, path_, 11};
  req.set(http::field::host, host_port(target_.host, target_.port));
  req.set(http::field::user_agent, "xcap/" XCAP_VERSION);
  req.set(http::field::accept, "application/vnd.tcpdump.pcapng, text/plain");
  if (!token_.empty()) req.set(http::field::authorization, "Bearer " + token_);
  conn_.tcp().expires_after(idle_);
  co_await conn_.with_stream(
      [&](auto& s) { return http::async_write(s, req, asio::use_awaitable); });
}

asio::awaitable<boost::system::error_code> TargetStream::read_body(BodyReader& r) {
  r.parser.get().body().data = r.chunk.data();
  r.parser.get().body().size = r.chunk.size();
  // While stopping, the stop timer bounds the wait; idle_ is the longest silence otherwise.
  conn_.tcp().expires_after(idle_);
  boost::system::error_code ec;
  co_await conn_.with_stream([&](auto& s) {
    return http::async_read_some(s, r.buf, r.parser, asio::redirect_error(asio::use_awaitable, ec));
  });
  if (ec == http::error::need_buffer) ec = {};  // the chunk is full: not an error
  r.got = r.chunk.size() - r.parser.get().body().size;
  co_return ec;
}

asio::awaitable<std::string> TargetStream::refusal(BodyReader& r, unsigned status) {
  std::string text;
  boost::system::error_code ec;
  // Up to kErrorBodyBytes: the reason is one line, and a body without end must not hold us.
  while (!r.parser.is_done() && text.size() < kErrorBodyBytes && !ec) {
    ec = co_await read_body(r);
    text.append(reinterpret_cast<const char*>(r.chunk.data()), r.got);
  }
  const std::string line = first_line(text);
  co_return "HTTP " + std::to_string(status) + ": " +
      (line.empty() ? std::string(r.parser.get().reason()) : line);
}

StreamEnd TargetStream::read_failure(const boost::system::error_code& ec) const {
  using Kind = StreamEnd::Kind;
  if (cut_) return {Kind::Stopped, cut_reason_};
  if (ec == beast::error::timeout && stopping_)
    return {Kind::Stopped, "no final statistics before the connection timed out"};
  if (ec == beast::error::timeout)
    return {Kind::Failed, "nothing received for " + seconds_text(idle_)};
  if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
      ec == asio::error::eof || ec == asio::ssl::error::stream_truncated ||
      ec == asio::error::connection_reset) {
    if (stopping_)
      return {Kind::Stopped, "the server closed the connection without final statistics"};
    return {Kind::Failed, "connection closed before the end of the stream"};
  }
  return {stopping_ ? Kind::Stopped : Kind::Failed, describe_network_error(ec)};
}

asio::awaitable<StreamEnd> TargetStream::follow() {
  using Kind = StreamEnd::Kind;
  co_await conn_.connect(target_.host, target_.port, idle_);
  if (cut_) co_return StreamEnd{Kind::Stopped, cut_reason_};
  co_await send_request();

  BodyReader r;
  // A stream has no end in sight. (Not boost::none: Boost 1.74 compares a Content-Length
  // with an empty limit as exceeding it.)
  r.parser.body_limit(std::numeric_limits<uint64_t>::max());
  conn_.tcp().expires_after(idle_);
  co_await conn_.with_stream(
      [&](auto& s) { return http::async_read_header(s, r.buf, r.parser, asio::use_awaitable); });
  if (const unsigned status = r.parser.get().result_int(); status != 200) {
    std::string why = co_await refusal(r, status);
    co_return StreamEnd{Kind::Failed, std::move(why)};
  }
  connected_ = true;
  cb_.connected();

  while (!r.parser.is_done()) {
    const boost::system::error_code ec = co_await read_body(r);
    if (r.got > 0) {
      if (std::string bad = cb_.body(r.chunk.data(), r.got); !bad.empty())
        co_return StreamEnd{Kind::Failed, bad};
    }
    if (ec) co_return read_failure(ec);
  }
  co_return StreamEnd{Kind::Complete, ""};
}

}  // namespace xcap::stream
