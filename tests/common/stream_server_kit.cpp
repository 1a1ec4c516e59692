#include "common/stream_server_kit.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "common/wait_until.h"

namespace xcap::test {

using namespace std::chrono_literals;
using sink::fanout::Fanout;
using sink::fanout::FanoutConfig;
using sink::fanout::StreamServer;
using sink::fanout::Subscription;

Result<std::shared_ptr<Subscription>> CountingHost::subscribe(
    sink::fanout::SubscriptionConfig cfg) {
  calls_++;
  if (!refuse.empty()) return make_error(ErrorKind::System, refuse);
  return inner_.subscribe(std::move(cfg));
}

StreamRig::StreamRig(sink::fanout::StreamServerConfig cfg, const std::string& refuse) {
  FanoutConfig fc;
  fc.iface0 = "eth9";
  auto f = Fanout::open(fc);
  if (!f) {
    ADD_FAILURE() << f.error().message;
    return;
  }
  fan = std::move(*f);
  fan->start();
  host = std::make_unique<CountingHost>(*fan);
  host->refuse = refuse;
  auto s = StreamServer::start(cfg, *host);
  if (!s) {
    ADD_FAILURE() << s.error().message;
    return;
  }
  server = std::move(*s);
}

StreamRig::~StreamRig() {
  if (server) server->stop("end: test over");
  if (fan) fan->stop("end: test over");
}

std::string StreamRig::url(const std::string& path_and_query, bool tls) const {
  return std::string(tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(server->port()) +
         path_and_query;
}

bool StreamRig::wait_subscriptions(size_t n) const {
  return wait_until([&] { return subscriptions() == n; }, 20s);
}

void StreamRig::feed(const std::vector<Bytes>& frames, size_t batch,
                     const std::function<void(size_t)>& after_batch) {
  const auto subs = fan->subscriptions();
  std::vector<uint64_t> offered;
  for (const auto& s : subs) offered.push_back(s->stats().offered);
  for (size_t i = 0; i < frames.size(); i += batch) {
    const size_t n = std::min(batch, frames.size() - i);
    std::vector<PacketView> v(n);
    for (size_t k = 0; k < n; k++) {
      const Bytes& f = frames[i + k];
      v[k].data = f.data();
      v[k].caplen = v[k].wire_len = uint32_t(f.size());
      v[k].ts_ns = next_ts++;
    }
    fan->producer(0).append(v);
    fan->producer(0).seal();
    // One block at a time: the producer's blocks are not what these tests are about.
    for (size_t s = 0; s < subs.size(); s++) {
      offered[s] += n;
      // A stream that ended, or whose count was reached, takes no more.
      const auto taken = [&] {
        const auto st = subs[s]->stats();
        const uint64_t count = subs[s]->config().count;
        return st.offered >= offered[s] || (count && st.delivered >= count) || subs[s]->ended();
      };
      ASSERT_TRUE(wait_until(taken, 20s)) << "the fanout did not offer batch " << i / batch;
    }
    if (after_batch) after_batch(i + n);
  }
  EXPECT_EQ(fan->handoff_drops(), 0u);
}

CurlStream::CurlStream(const std::string& url, const std::vector<std::string>& extra)
    : path_(dir_ / "body"),
      proc_(
          [&] {
            std::vector<std::string> argv{"/usr/bin/curl", "-sS", "-N"};
            argv.insert(argv.end(), extra.begin(), extra.end());
            argv.push_back(url);
            return argv;
          }(),
          path_) {}

Bytes CurlStream::body() const {
  const std::string s = read_file(path_);
  return Bytes(s.begin(), s.end());
}

size_t CurlStream::body_size() const {
  struct stat st {};
  return ::stat(path_.c_str(), &st) == 0 ? size_t(st.st_size) : 0;
}

HttpAnswer http(const std::string& url, const std::vector<std::string>& extra) {
  TempDir dir;
  std::vector<std::string> argv{"/usr/bin/curl", "-sS", "-o",          dir / "body", "-D",
                                dir / "head",    "-w",  "%{http_code}"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  argv.push_back(url);
  Subprocess p(argv);
  HttpAnswer a;
  a.curl_exit = p.wait(60);
  try {
    a.status = std::stoi(p.out());
  } catch (...) {
    a.status = 0;
  }
  a.body = read_file(dir / "body");
  a.headers = read_file(dir / "head");
  return a;
}

RawClient::RawClient(uint16_t port, const std::string& source, int rcvbuf) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  sockaddr_in from{};
  from.sin_family = AF_INET;
  ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd_);
    fd_ = -1;
    return;
  }
  ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
}

RawClient::~RawClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawClient::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += size_t(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (poll_closed()) return false;
      usleep(1000);
    } else {
      return false;
    }
  }
  return true;
}

bool RawClient::poll_closed() {
  char buf[4096];
  while (!closed_) {
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      received_.append(buf, size_t(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      closed_ = true;
    } else {
      break;
    }
  }
  return closed_;
}

HttpResponse parse_chunked_response(const std::string& r) {
  HttpResponse out;
  const size_t end = r.find("\r\n\r\n");
  if (end == std::string::npos) return out;
  out.head = r.substr(0, end + 2);
  for (size_t at = end + 4; at < r.size();) {
    const size_t eol = r.find("\r\n", at);
    if (eol == std::string::npos) break;
    const size_t n = std::stoul(r.substr(at, eol - at), nullptr, 16);
    if (n == 0) {
      out.complete = true;
      break;
    }
    if (eol + 2 + n + 2 > r.size()) break;
    out.body.insert(out.body.end(), r.begin() + ptrdiff_t(eol + 2),
                    r.begin() + ptrdiff_t(eol + 2 + n));
    at = eol + 2 + n + 2;
  }
  return out;
}

std::vector<Bytes> mixed_frames(size_t n) {
  std::vector<Bytes> out;
  out.reserve(n);
  for (size_t i = 0; i < n; i++) {
    const auto k = uint8_t(i);
    const std::string v4a = "198.18.0." + std::to_string(1 + i % 7);
    const std::string v4b = "198.19.1." + std::to_string(1 + i % 5);
    const std::string v6a = "2001:db8::" + std::to_string(1 + i % 3);
    const size_t payload = 20 + (i * 37) % 900;
    FrameBuilder b;
    b.eth();
    switch (i % 6) {
      case 0:
        b.ipv4(v4a, v4b).udp(uint16_t(1000 + i % 4), i % 3 ? 53 : 123);
        break;
      case 1:
        b.ipv4(v4b, v4a).tcp(uint16_t(40000 + i % 9), i % 2 ? 443 : 80);
        break;
      case 2:
        b.ipv6(v6a, "2001:db8:1::9").udp(5353, uint16_t(i % 2 ? 53 : 4789));
        break;
      case 3:
        b.ipv6("2001:db8:1::9", v6a).tcp(443, uint16_t(50000 + i % 5));
        break;
      case 4:
        b.ipv4(v4a, v4b).icmp_echo(uint16_t(i), 1);
        break;
      default:
        b.ipv4(v4b, "198.18.0.7").udp(53, uint16_t(2000 + i % 3));
        break;
    }
    out.push_back(b.payload(payload, k).build());
  }
  return out;
}

}  // namespace xcap::test
