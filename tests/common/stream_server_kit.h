// What the StreamServer tests share: a real Fanout behind a real StreamServer on 127.0.0.1:0
// (StreamRig), frames fed through a worker's producer, curl as the client (CurlStream, http),
// and a raw TCP client for requests curl will not send (RawClient).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/frame_builder.h"
#include "common/subprocess.h"
#include "common/temp_dir.h"
#include "sink/fanout/fanout.h"
#include "sink/fanout/stream_server.h"

namespace xcap::test {

// A StreamHost in front of the Fanout that counts subscribe calls: a refused request must
// never reach the capture. refuse: a reason makes every subscribe fail with it.
class CountingHost final : public sink::fanout::StreamHost {
 public:
  explicit CountingHost(sink::fanout::StreamHost& inner) : inner_(inner) {}
  Result<std::shared_ptr<sink::fanout::Subscription>> subscribe(
      sink::fanout::SubscriptionConfig cfg) override;
  void unsubscribe(const std::shared_ptr<sink::fanout::Subscription>& s,
                   const std::string& why) override {
    inner_.unsubscribe(s, why);
  }
  std::vector<std::shared_ptr<sink::fanout::Subscription>> subscriptions() const override {
    return inner_.subscriptions();
  }
  unsigned subscribe_calls() const { return calls_.load(); }
  std::string refuse;  // set before the server starts

 private:
  sink::fanout::StreamHost& inner_;
  std::atomic<unsigned> calls_{0};
};

class StreamRig {
 public:
  // Starts the Fanout and a server on cfg (listen defaults to 127.0.0.1:0). A failure fails
  // the current test (ok() is false then).
  explicit StreamRig(sink::fanout::StreamServerConfig cfg = {}, const std::string& refuse = "");
  ~StreamRig();
  bool ok() const { return server != nullptr; }

  std::string url(const std::string& path_and_query, bool tls = false) const;
  size_t subscriptions() const { return fan->subscriptions().size(); }
  // Waits until the host has n subscriptions (a client's request has arrived).
  bool wait_subscriptions(size_t n) const;
  // Appends frames through worker 0's producer in batches of `batch`, each sealed, and waits
  // after each until every current subscription was offered it: nothing is lost before the
  // fanout. after_batch (optional) runs after each batch, e.g. to wait for a client.
  void feed(const std::vector<Bytes>& frames, size_t batch = 64,
            const std::function<void(size_t fed)>& after_batch = {});

  std::unique_ptr<sink::fanout::Fanout> fan;
  std::unique_ptr<CountingHost> host;
  std::unique_ptr<sink::fanout::StreamServer> server;
  uint64_t next_ts = 1'700'000'000'000'000'000ull;
};

// curl streaming one URL into a file until the stream ends.
class CurlStream {
 public:
  CurlStream(const std::string& url, const std::vector<std::string>& extra = {});
  int wait(double timeout_s) { return proc_.wait(timeout_s); }  // curl's exit status
  Bytes body() const;
  size_t body_size() const;
  std::string err() const { return proc_.err(); }
  const std::string& path() const { return path_; }

 private:
  TempDir dir_;
  std::string path_;
  Subprocess proc_;
};

// One request by curl: the HTTP status (0: none) and the body.
struct HttpAnswer {
  int status = 0;
  std::string body;
  std::string headers;  // the response head, as received
  int curl_exit = -1;
};
HttpAnswer http(const std::string& url, const std::vector<std::string>& extra = {});

// A plain TCP connection to 127.0.0.1:port, for what curl will not send.
class RawClient {
 public:
  // Connects (blocking) from source; fd() < 0 when it failed. rcvbuf > 0: the socket's
  // receive buffer, fixed (a client that stops reading then stops the server's writes soon).
  explicit RawClient(uint16_t port, const std::string& source = "127.0.0.1", int rcvbuf = 0);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  int fd() const { return fd_; }
  bool send(const std::string& bytes);  // false when the peer has closed or reset
  // Reads what has arrived without waiting; true once the peer has closed (EOF or reset).
  bool poll_closed();
  const std::string& received() const { return received_; }

 private:
  int fd_ = -1;
  bool closed_ = false;
  std::string received_;
};

// An HTTP/1.1 response as received: its head (up to the blank line) and its body, the chunks
// joined. *complete: the last chunk was there.
struct HttpResponse {
  std::string head;
  Bytes body;
  bool complete = false;
};
HttpResponse parse_chunked_response(const std::string& received);

// Frames for the filter tests: UDP, TCP and ICMP over IPv4 (198.18.0.0/15) and IPv6
// (2001:db8::/32), several ports and sizes.
std::vector<Bytes> mixed_frames(size_t n);

}  // namespace xcap::test
