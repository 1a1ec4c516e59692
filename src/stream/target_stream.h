// TargetStream: the HTTP side of following one target. Connects (TCP or TLS), sends
// GET /capture?..., and hands the chunked pcapng body to on_body piece by piece as it arrives.
// Runs as a coroutine on the caller's io_context; every callback runs there too.
//
// Stopping (Ctrl-C): stop() half-closes the connection (TCP FIN: HTTP has no other way to say
// "enough" mid-response) and keeps reading, so the server can end the stream itself with its
// final statistics and the terminating chunk; after `wait` the connection is cut.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "stream/http_connection.h"
#include "stream/targets.h"

namespace xcap::stream {

struct StreamEnd {
  enum class Kind {
    Complete,  // the server ended the stream (terminating chunk)
    Stopped,   // stop() was called and the stream did not complete in time: not a failure
    Failed,    // a connection, HTTP or stream error
  };
  Kind kind;
  std::string reason;  // Stopped/Failed: why, in words
};

struct TargetStreamCallbacks {
  std::function<void()> connected;  // 200 and its headers are in
  // A piece of the body; return an error text to fail the stream (malformed pcapng).
  std::function<std::string(const uint8_t* data, size_t n)> body;
  std::function<void(const StreamEnd&)> ended;  // exactly once
};

class TargetStream : public std::enable_shared_from_this<TargetStream> {
 public:
  // path_and_query: "/capture?format=pcapng&..."; token: the bearer token, or empty.
  // idle: the longest silence accepted (the server sends statistics every second).
  TargetStream(asio::io_context& io, Target target, std::shared_ptr<asio::ssl::context> tls,
               std::string path_and_query, std::string token,
               std::chrono::steady_clock::duration idle, TargetStreamCallbacks callbacks);

  void start();
  void stop(std::chrono::steady_clock::duration wait);
  // Cuts the connection now (the output failed, a second Ctrl-C); ends as Stopped.
  void cut(std::string reason);

 private:
  struct BodyReader;  // the response being read (target_stream.cpp)

  asio::awaitable<void> run();
  // Connects, asks, reads the body to its end: every step of one target's stream.
  asio::awaitable<StreamEnd> follow();
  // The steps of follow; each is awaited at once, so the BodyReader (follow's) outlives it.
  asio::awaitable<void> send_request();
  // One read of the body into r.chunk (r.got bytes), within idle_. need_buffer (the chunk is
  // full) is no error.
  asio::awaitable<boost::system::error_code> read_body(BodyReader& r);
  // A status other than 200: "HTTP 403: " and the body's first line, the server's reason.
  asio::awaitable<std::string> refusal(BodyReader& r, unsigned status);
  // How a failed read ends the stream: a cut or a stop is Stopped, a silence or a close
  // before the end is Failed.
  StreamEnd read_failure(const boost::system::error_code& ec) const;
  void end(StreamEnd e);

  asio::io_context& io_;
  const Target target_;
  const std::string path_, token_;
  const std::chrono::steady_clock::duration idle_;
  TargetStreamCallbacks cb_;
  HttpConnection conn_;
  asio::steady_timer stop_timer_;
  bool connected_ = false, stopping_ = false, cut_ = false, ended_ = false;
  std::string cut_reason_;
};

}  // namespace xcap::stream
