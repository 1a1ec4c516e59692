// http_fetch: one HTTP request and its whole (small) reply, for the API calls of `xcap stream`
// (the BOSH Director and its UAA). Blocking: it runs its own event loop until the reply is in
// or timeout passes.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "stream/http_connection.h"
#include "stream/targets.h"

namespace xcap::stream {

struct FetchRequest {
  std::string method = "GET";
  std::string path;  // with its query
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // sent when not empty
};

struct FetchReply {
  int status = 0;
  std::string body;
};

// server.tls needs tls (the context to verify it with). An error is about the connection (not
// the HTTP status, which the caller judges): "198.18.0.1:25555: connection refused".
Result<FetchReply> http_fetch(const Target& server, const FetchRequest& request,
                              std::shared_ptr<asio::ssl::context> tls,
                              std::chrono::steady_clock::duration timeout);

// RFC 4648 base64, for HTTP basic authentication.
std::string base64(const std::string& bytes);

}  // namespace xcap::stream
