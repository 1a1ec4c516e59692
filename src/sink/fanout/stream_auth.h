// Who may use the streaming server: a bearer token (Authorization: Bearer TOKEN) and TLS, with
// client certificates when a client CA is given (mTLS).
#pragma once

#include <array>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace xcap::sink::fanout {

// The configured token, kept as its SHA-256 digest: a check compares digests with
// CRYPTO_memcmp, so its time says nothing about the token's length or content.
class BearerToken {
 public:
  explicit BearerToken(std::string_view token);  // empty: no token, everyone is accepted
  bool required() const { return required_; }
  // Whether an Authorization header's value ("Bearer TOKEN"; the scheme in any case) grants
  // access. Always true when no token is required.
  bool accepts(std::string_view authorization) const;

 private:
  bool required_;
  std::array<uint8_t, 32> digest_{};
};

struct TlsFiles {
  std::string cert, key;  // PEM; cert may hold the chain
  std::string client_ca;  // PEM; empty: clients present no certificate
};

// A server context for TLS 1.2 and later. With client_ca, a client must present a certificate
// that CA signed. A file that cannot be used is an InvalidInput error naming it and giving
// OpenSSL's reason.
Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const TlsFiles& files);

}  // namespace xcap::sink::fanout
