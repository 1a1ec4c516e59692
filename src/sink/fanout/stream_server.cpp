#include "sink/fanout/stream_server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <condition_variable>
#include <ctime>
#include <mutex>
#include <thread>

#include "common/log.h"
#include "metrics/listen_socket.h"
#include "sink/fanout/capture_request.h"
#include "sink/fanout/stream_auth.h"

namespace xcap::sink::fanout {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

namespace {

// How often a stream with nothing to send looks again: well under the fanout's 10 ms flush.
constexpr auto kPollInterval = 5ms;
// A stream's bytes go out in chunks of at most this, each with write_stall_timeout to finish.
constexpr size_t kWriteSlice = 64 * 1024;
// After an error answer, the client's remaining bytes are read and dropped this long before
// the socket closes, so a close with unread data (a reset) cannot destroy the answer.
constexpr auto kLingerTime = 1s;
// A failed accept (EMFILE: out of descriptors) is retried after this, not in a busy loop.
constexpr auto kAcceptRetry = 100ms;

std::string ip_of(const asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return asio::ip::make_address_v4(asio::ip::v4_mapped, a.to_v6()).to_string();
  return a.to_string();
}

std::string endpoint_text(const tcp::endpoint& ep) {
  const std::string ip = ip_of(ep.address());
  const bool v6 = ip.find(':') != std::string::npos;
  return (v6 ? "[" + ip + "]" : ip) + ":" + std::to_string(ep.port());
}

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t s = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20 || c >= 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\u%04x", c);
      out += hex;
    } else {
      out += ch;
    }
  }
  out += '"';
}

// A reason made one printable line (libpcap's messages, parameter values).
std::string printable(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

void set_keepalive(tcp::socket& s) {
  // A streaming client that vanished (cable, crash) while nothing is sent: the kernel finds
  // out in about a minute (30 s idle, then 3 probes 10 s apart) and the read fails.
  const int on = 1, idle = 30, intvl = 10, cnt = 3;
  const int fd = s.native_handle();
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl);
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt);
}

}  // namespace

// ---- the state every connection shares ----------------------------------------------------
// Held by shared_ptr by the server and by each connection, so a connection that outlives the
// io_context's run (destroyed with it) still finds it.
struct ServerState {
  ServerState(const StreamServerConfig& c, StreamHost& h) : cfg(c), host(h), token(c.token) {}

  const StreamServerConfig cfg;
  StreamHost& host;
  const BearerToken token;
  std::shared_ptr<ssl::context> tls;  // null: plain HTTP
  std::atomic<unsigned> connections{0};
  bool stopping = false;  // server thread only

  struct Stream {
    StreamInfo info;
    std::string client_ip;
    std::shared_ptr<Subscription> sub;
  };
  mutable std::mutex mu;
  std::condition_variable streams_changed;
  uint64_t next_id = 0;
  std::map<uint64_t, Stream> streams;  // active, by start order
  // Ended streams whose subscription the fanout has not finished yet (their counts may move).
  std::vector<std::pair<std::string, std::shared_ptr<Subscription>>> retiring;
  std::map<std::string, uint64_t> dropped_ended;  // by client IP, final

  // 0 with *why set when a limit refuses the client (429 or 503).
  uint64_t add_stream(Stream s, http::status* refused, std::string* why) {
    std::lock_guard lock(mu);
    unsigned mine = 0;
    for (const auto& [id, st] : streams) mine += st.client_ip == s.client_ip;
    if (streams.size() >= cfg.max_streams) {
      *refused = http::status::service_unavailable;
      *why = "too many streams: " + std::to_string(cfg.max_streams) +
             " are active (the server's limit); try again later";
      return 0;
    }
    if (mine >= cfg.max_streams_per_client) {
      *refused = http::status::too_many_requests;
      *why = "too many streams: " + s.client_ip + " has " + std::to_string(mine) +
             " active (the limit per client)";
      return 0;
    }
    const uint64_t id = ++next_id;
    streams.emplace(id, std::move(s));
    return id;
  }

  void remove_stream(uint64_t id) {
    {
      std::lock_guard lock(mu);
      const auto it = streams.find(id);
      if (it == streams.end()) return;
      retiring.emplace_back(it->second.client_ip, it->second.sub);
      streams.erase(it);
      settle_locked();
    }
    streams_changed.notify_all();
  }

  // Moves the retiring streams the fanout has finished into dropped_ended.
  void settle_locked() {
    std::erase_if(retiring, [&](const auto& r) {
      if (!r.second->ended()) return false;
      dropped_ended[r.first] += r.second->stats().dropped;
      return true;
    });
  }
};

// ---- one connection ---------------------------------------------------------------------------
// Stream is beast::tcp_stream (HTTP) or beast::ssl_stream<beast::tcp_stream> (HTTPS). Reads
// requests one at a time; GET /capture turns the connection into a stream until it ends.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

 public:
  Session(Stream stream, std::shared_ptr<ServerState> state, const tcp::endpoint& peer)
      : stream_(std::move(stream)),
        state_(std::move(state)),
        peer_(endpoint_text(peer)),
        peer_ip_(ip_of(peer.address())),
        poll_timer_(stream_.get_executor()),
        duration_timer_(stream_.get_executor()),
        stall_timer_(stream_.get_executor()),
        linger_timer_(stream_.get_executor()) {
    state_->connections++;
  }

  ~Session() {
    end_stream("end: client closed");
    state_->connections--;
  }

  void start() {
    // The first request, TLS handshake included, must arrive whole within request_timeout.
    lowest().expires_after(state_->cfg.request_timeout);
    if constexpr (kTls) {
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->close();
                                self->read_request();
                              });
    } else {
      read_request();
    }
  }

 private:
  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(kMaxRequestHead);
    http::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->on_request(ec); });
  }

  void on_request(beast::error_code ec) {
    if (ec == http::error::header_limit || ec == http::error::buffer_overflow)
      return refuse(http::status::request_header_fields_too_large,
                    "request head over " + std::to_string(kMaxRequestHead) + " bytes");
    if (ec == beast::error::timeout) {
      log_debug("stream server: %s: no complete request in time: closed", peer_.c_str());
      return close();
    }
    if (ec && ec != http::error::end_of_stream &&
        &ec.category() == &beast::error_code(http::error::bad_target).category())
      return refuse(http::status::bad_request, "bad request: " + ec.message());
    if (ec) return close();  // the client went away, or a socket error

    const auto& req = parser_->get();
    const std::string_view target(req.target().data(), req.target().size());
    const size_t q = target.find('?');
    const std::string_view path = target.substr(0, q);
    const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
    const bool get = req.method() == http::verb::get;

    if (path == "/healthz") {
      if (!get) return refuse(http::status::method_not_allowed, "only GET");
      if (state_->cfg.health)
        if (auto why = state_->cfg.health()) return refuse(http::status::service_unavailable, *why);
      return answer(http::status::ok, "text/plain", "ok\n");
    }
    const auto auth = req[http::field::authorization];
    if (!state_->token.accepts(std::string_view(auth.data(), auth.size())))
      return refuse(http::status::unauthorized,
                    auth.empty() ? "a token is required: Authorization: Bearer TOKEN"
                                 : "the token is not valid");
    if (!get) return refuse(http::status::method_not_allowed, "only GET");
    if (path == "/captures") return answer(http::status::ok, "application/json", captures());
    if (path == "/capture") return capture(query);
    return refuse(http::status::not_found,
                  "not found: xcap serves /capture, /captures and /healthz");
  }

  // A 200 answer; the connection stays open when the client asks for it.
  void answer(http::status status, const char* type, std::string body) {
    auto res = std::make_shared<http::response<http::string_body>>(status, version());
    res->set(http::field::server, "xcap");
    res->set(http::field::content_type, type);
    res->set(http::field::cache_control, "no-store");
    res->keep_alive(parser_->get().keep_alive());
    res->body() = std::move(body);
    res->prepare_payload();
    lowest().expires_after(state_->cfg.request_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return self->close();
                        if (!res->keep_alive()) return self->linger_close();
                        self->lowest().expires_after(self->state_->cfg.idle_timeout);
                        self->read_request();
                      });
  }

  // An error answer: one line of text/plain, then the connection closes.
  void refuse(http::status status, const std::string& why) {
    log_debug("stream server: %s: %u %s", peer_.c_str(), unsigned(status), printable(why).c_str());
    auto res = std::make_shared<http::response<http::string_body>>(status, version());
    res->set(http::field::server, "xcap");
    res->set(http::field::content_type, "text/plain");
    if (status == http::status::unauthorized)
      res->set(http::field::www_authenticate, "Bearer realm=\"xcap\"");
    if (status == http::status::method_not_allowed) res->set(http::field::allow, "GET");
    res->keep_alive(false);
    res->body() = printable(why) + "\n";
    res->prepare_payload();
    // The answer has request_timeout to go out, even to a client that does not read.
    lowest().expires_after(state_->cfg.request_timeout);
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res](beast::error_code ec, size_t) {
                        if (ec) return self->close();
                        self->linger_close();
                      });
  }

  unsigned version() const {
    return parser_ && parser_->is_header_done() ? parser_->get().version() : 11;
  }

  std::string captures() const {
    std::string out = "[";
    std::lock_guard lock(state_->mu);
    for (const auto& [id, s] : state_->streams) {
      const StreamInfo& i = s.info;
      const SubscriptionStats st = s.sub ? s.sub->stats() : SubscriptionStats{};
      if (out.size() > 1) out += ",";
      out += "\n{\"client\":";
      json_string(out, i.client);
      out += ",\"filter\":";
      json_string(out, i.filter);
      out += ",\"format\":\"" + i.format + "\",\"snaplen\":" + std::to_string(i.snaplen) +
             ",\"count\":" + std::to_string(i.count) + ",\"start\":\"" + rfc3339(i.start) +
             "\",\"packets_sent\":" + std::to_string(st.delivered) +
             ",\"packets_dropped\":" + std::to_string(st.dropped) +
             ",\"congested\":" + (st.congested ? "true" : "false") + "}";
    }
    return out + (out.size() > 1 ? "\n]\n" : "]\n");
  }

  // ---- GET /capture -----------------------------------------------------------------------

  void capture(std::string_view query) {
    auto req = parse_capture_request(query, state_->cfg.max_snaplen);
    if (!req) return refuse(http::status::bad_request, req.error().message);
    if (state_->stopping)
      return refuse(http::status::service_unavailable, "the server is stopping");

    const ServerState::Stream entry = stream_entry(*req);
    http::status refused{};
    std::string why;
    // Take the slot first, so two clients cannot both pass the limit; the host comes after.
    stream_id_ = state_->add_stream(entry, &refused, &why);
    if (!stream_id_) return refuse(refused, why);
    if (Result<void> sub = subscribe(*req); !sub)
      return refuse(http::status::service_unavailable, sub.error().message);
    log_started(*req, entry.info.format);
    send_head(req->pcapng);
    if (req->duration.count()) end_after(req->duration);
  }

  // This stream's entry in the server's table: its limits count it, GET /captures lists it.
  ServerState::Stream stream_entry(const CaptureRequest& req) const {
    ServerState::Stream entry;
    entry.info.client = peer_;
    entry.info.filter = req.filter;
    entry.info.format = req.pcapng ? "pcapng" : "pcap";
    entry.info.snaplen = req.snaplen;
    entry.info.count = req.count;
    entry.info.start = std::chrono::system_clock::now();
    entry.client_ip = peer_ip_;
    return entry;
  }

  // Subscribes this stream (slot stream_id_) with the host. When the host refuses, the slot is
  // given back, so the refused client does not count against the limits.
  Result<void> subscribe(const CaptureRequest& req) {
    SubscriptionConfig sc;
    sc.filter = req.program;
    sc.snaplen = req.snaplen;
    sc.pcapng = req.pcapng;
    sc.buffer_bytes = state_->cfg.stream_buffer_bytes;
    sc.count = req.count;
    sc.client = peer_;
    auto sub = state_->host.subscribe(std::move(sc));
    if (!sub) {
      {
        std::lock_guard lock(state_->mu);
        state_->streams.erase(stream_id_);
      }
      stream_id_ = 0;
      state_->streams_changed.notify_all();
      return sub.error();
    }
    sub_ = *sub;
    std::lock_guard lock(state_->mu);
    state_->streams.at(stream_id_).sub = sub_;
    return ok();
  }

  void log_started(const CaptureRequest& req, const std::string& format) const {
    log_info("stream %s: started (filter %s, %s, snaplen %u%s%s)", peer_.c_str(),
             req.filter.empty() ? "none" : quote_filter(req.filter).c_str(), format.c_str(),
             req.snaplen, req.count ? (", count " + std::to_string(req.count)).c_str() : "",
             req.duration.count()
                 ? (", duration " + std::to_string(req.duration.count()) + " ms").c_str()
                 : "");
  }

  // The 200 and its headers; once they are out, the body is pumped and the client watched.
  void send_head(bool pcapng) {
    chunked_ = version() >= 11;
    head_ = std::make_shared<http::response<http::empty_body>>(http::status::ok, version());
    head_->set(http::field::server, "xcap");
    head_->set(http::field::content_type,
               pcapng ? "application/x-pcapng" : "application/vnd.tcpdump.pcap");
    head_->set(http::field::cache_control, "no-store");
    head_->keep_alive(false);
    if (chunked_) head_->chunked(true);  // HTTP/1.0: the body ends when the connection does
    head_serializer_.emplace(*head_);
    lowest().expires_never();  // from here, stall_timer_ watches the writes
    arm_stall_timer();
    http::async_write_header(stream_, *head_serializer_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               self->stall_timer_.cancel();
                               if (ec) return self->client_gone();
                               self->watch_client();
                               self->pump();
                             });
  }

  // duration=: once it has passed, the host ends the subscription, and the stream ends as it
  // does at any other end.
  void end_after(std::chrono::milliseconds duration) {
    duration_timer_.expires_after(duration);
    duration_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec && self->stream_id_)
        self->state_->host.unsubscribe(self->sub_, "end: duration reached");
    });
  }

  // A client that half-closes its end (xcap stream on Ctrl-C) asks the stream to end: it
  // still reads, and gets the rest, the last statistics block and the last chunk. A reset or
  // any other error ends it at once. Anything the client sends is dropped.
  void watch_client() {
    stream_.async_read_some(
        asio::buffer(discard_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
          if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated)
            return self->end_stream("end: client closed");
          if (ec) return self->client_gone();
          self->watch_client();
        });
  }

  // Sends what the subscription holds; looks again after kPollInterval when it holds nothing.
  void pump() {
    if (closed_) return;
    if (sent_ == pending_.size()) {
      pending_ = sub_->take(0ms);
      sent_ = 0;
      if (pending_.empty()) {
        if (sub_->done()) return complete();
        poll_timer_.expires_after(kPollInterval);
        poll_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
          if (!ec) self->pump();
        });
        return;
      }
    }
    const size_t n = std::min(kWriteSlice, pending_.size() - sent_);
    const asio::const_buffer piece(pending_.data() + sent_, n);
    auto done = [self = this->shared_from_this(), n](beast::error_code ec, size_t) {
      self->stall_timer_.cancel();
      if (ec) return self->client_gone();
      self->sent_ += n;
      self->pump();
    };
    arm_stall_timer();
    if (chunked_)
      asio::async_write(stream_, http::make_chunk(piece), std::move(done));
    else
      asio::async_write(stream_, piece, std::move(done));
  }

  void arm_stall_timer() {
    stall_timer_.expires_after(state_->cfg.write_stall_timeout);
    stall_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec) return;  // the write finished
      log_info("stream %s: the client has taken nothing for %lld ms: closing", self->peer_.c_str(),
               static_cast<long long>(self->state_->cfg.write_stall_timeout.count()));
      self->end_stream("end: client stalled");
      self->close();
    });
  }

  // The subscription is done and everything of it was sent: the stream's last chunk.
  void complete() {
    end_stream("end: stream complete");  // out of the host's list (count reached, stop)
    if (!chunked_) return linger_close();
    arm_stall_timer();
    asio::async_write(stream_, http::make_chunk_last(),
                      [self = this->shared_from_this()](beast::error_code ec, size_t) {
                        self->stall_timer_.cancel();
                        if (ec) return self->close();
                        self->linger_close();
                      });
  }

  void client_gone() {
    end_stream("end: client closed");
    close();
  }

  // Out of the host and of the server's list of streams; why is the stream's last comment
  // unless it has ended already. Idempotent.
  void end_stream(const std::string& why) {
    if (!stream_id_) return;
    if (sub_) {
      state_->host.unsubscribe(sub_, why);
      const SubscriptionStats st = sub_->stats();
      log_info("stream %s: ended (%s; %llu packets sent, %llu dropped)", peer_.c_str(),
               sub_->ended() ? "complete" : why.c_str(),
               static_cast<unsigned long long>(st.delivered),
               static_cast<unsigned long long>(st.dropped));
    }
    state_->remove_stream(stream_id_);
    stream_id_ = 0;
  }

  // Sends FIN, then reads and drops what the client still sends for a moment, then closes.
  void linger_close() {
    if (closed_) return;
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest().expires_never();
    linger_timer_.expires_after(kLingerTime);
    linger_timer_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (!ec) self->close();
    });
    if (!stream_id_ && !sub_) drain();  // a stream's watch_client already reads
  }

  void drain() {
    lowest().socket().async_read_some(
        asio::buffer(discard_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
          if (ec) return self->close();
          self->drain();
        });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    poll_timer_.cancel();
    duration_timer_.cancel();
    stall_timer_.cancel();
    linger_timer_.cancel();
    lowest().close();  // pending reads and writes end with operation_aborted
  }

  Stream stream_;
  const std::shared_ptr<ServerState> state_;
  const std::string peer_, peer_ip_;
  beast::flat_buffer buffer_{kMaxRequestHead + 4096};
  std::optional<http::request_parser<http::empty_body>> parser_;
  std::array<char, 512> discard_;
  asio::steady_timer poll_timer_, duration_timer_, stall_timer_, linger_timer_;
  bool closed_ = false;
  // Streaming.
  uint64_t stream_id_ = 0;  // in state_->streams; 0: not streaming (any more)
  std::shared_ptr<Subscription> sub_;
  std::shared_ptr<http::response<http::empty_body>> head_;
  std::optional<http::response_serializer<http::empty_body>> head_serializer_;
  bool chunked_ = true;
  std::vector<uint8_t> pending_;  // taken from sub_, sent up to sent_
  size_t sent_ = 0;
};

// ---- the server ---------------------------------------------------------------------------

struct StreamServer::Impl {
  std::shared_ptr<ServerState> state;
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::unique_ptr<tcp::acceptor> acceptor = std::make_unique<tcp::acceptor>(*io);
  std::unique_ptr<asio::steady_timer> accept_retry = std::make_unique<asio::steady_timer>(*io);
  tcp::endpoint local;
  std::thread thread;
  std::atomic<bool> stopped{false};

  void accept() {
    acceptor->async_accept([this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || state->stopping) return;
      if (ec) {  // out of descriptors, or the like: the connections in flight go on
        log_debug("stream server: accept: %s", ec.message().c_str());
        accept_retry->expires_after(kAcceptRetry);
        accept_retry->async_wait([this](beast::error_code e) {
          if (!e) accept();
        });
        return;
      }
      serve(std::move(socket));
      accept();
    });
  }

  void serve(tcp::socket socket) {
    beast::error_code ec;
    const tcp::endpoint peer = socket.remote_endpoint(ec);
    if (ec || state->connections.load() >= state->cfg.max_connections) return;  // closes it
    set_keepalive(socket);
    if (state->tls)
      std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(
          beast::ssl_stream<beast::tcp_stream>(beast::tcp_stream(std::move(socket)), *state->tls),
          state, peer)
          ->start();
    else
      std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(socket)), state,
                                                   peer)
          ->start();
  }
};

StreamServer::StreamServer(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<StreamServer>> StreamServer::start(const StreamServerConfig& cfg,
                                                          StreamHost& host) {
  auto at = metrics::split_listen_address(cfg.listen);
  if (!at) return at.error();
  if (cfg.token.empty() && !at->ip.is_loopback())
    return invalid_input(at->text +
                         ": without a token the streaming server listens on a loopback address "
                         "only (127.0.0.1, [::1]); set a token to listen on " +
                         (at->ip.is_unspecified() ? "every address" : at->host));
  if (cfg.max_streams == 0 || cfg.max_streams_per_client == 0)
    return invalid_input(at->text + ": the stream limits must be at least 1");

  auto impl = std::make_shared<Impl>();
  impl->state = std::make_shared<ServerState>(cfg, host);
  const bool tls = !cfg.tls_cert.empty() || !cfg.tls_key.empty() || !cfg.tls_client_ca.empty();
  if (tls) {
    auto ctx = make_tls_context({cfg.tls_cert, cfg.tls_key, cfg.tls_client_ca});
    if (!ctx) return ctx.error().context(at->text);
    impl->state->tls = std::move(*ctx);
  }

  auto bound = metrics::listen_on(*impl->acceptor, *at, /*v6_only=*/true);
  if (!bound) return bound.error();
  impl->local = *bound;

  const std::string url = std::string(tls ? "https://" : "http://") + endpoint_text(impl->local);
  std::string security =
      tls ? (cfg.tls_client_ca.empty() ? "TLS" : "TLS with client certificates") : "no TLS";
  security += cfg.token.empty() ? ", no token" : ", token required";
  log_info("streaming server listening on %s (%s)", url.c_str(), security.c_str());
  if (cfg.token.empty())
    log_info(
        "streaming server: no token, so it listens on loopback only (set a token to listen "
        "on other addresses)");

  impl->accept();
  impl->thread = std::thread([io = impl->io.get()] { io->run(); });
  return std::unique_ptr<StreamServer>(new StreamServer(std::move(impl)));
}

StreamServer::~StreamServer() {
  stop("end: server stopping");
}

void StreamServer::stop(const std::string& why) {
  Impl& m = *impl_;
  if (m.stopped.exchange(true)) return;
  ServerState& s = *m.state;
  // On the server thread, so no request in flight can start a stream after this.
  asio::post(*m.io, [&m, &s, why] {
    s.stopping = true;
    beast::error_code ignored;
    m.acceptor->close(ignored);
    m.accept_retry->cancel();
    std::lock_guard lock(s.mu);
    for (const auto& [id, st] : s.streams)
      if (st.sub) s.host.unsubscribe(st.sub, why);
  });
  {
    // Each stream ends when its client has taken the last block (the fanout writes it).
    std::unique_lock lock(s.mu);
    s.streams_changed.wait_for(lock, s.cfg.stop_timeout, [&] { return s.streams.empty(); });
  }
  m.io->stop();
  if (m.thread.joinable()) m.thread.join();
  // Every connection closes with the io_context (its handlers own the sessions).
  m.accept_retry.reset();
  m.acceptor.reset();
  m.io.reset();
}

uint16_t StreamServer::port() const {
  return impl_->local.port();
}

std::vector<ListenEndpoint> StreamServer::endpoints() const {
  return {ListenEndpoint{ip_of(impl_->local.address()), impl_->local.port()}};
}

std::map<std::string, uint64_t> StreamServer::dropped_by_client() const {
  ServerState& s = *impl_->state;
  std::lock_guard lock(s.mu);
  s.settle_locked();
  std::map<std::string, uint64_t> out = s.dropped_ended;
  for (const auto& [ip, sub] : s.retiring) out[ip] += sub->stats().dropped;
  for (const auto& [id, st] : s.streams)
    if (st.sub) out[st.client_ip] += st.sub->stats().dropped;
  return out;
}

std::vector<StreamInfo> StreamServer::streams() const {
  ServerState& s = *impl_->state;
  std::vector<StreamInfo> out;
  std::lock_guard lock(s.mu);
  for (const auto& [id, st] : s.streams) {
    out.push_back(st.info);
    if (st.sub) out.back().stats = st.sub->stats();
  }
  return out;
}

}  // namespace xcap::sink::fanout
