#include "sink/fanout/stream_auth.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>

#include <unistd.h>

#include <cctype>

namespace xcap::sink::fanout {
namespace {

std::array<uint8_t, 32> sha256(std::string_view s) {
  std::array<uint8_t, 32> d{};
  unsigned n = 0;
  EVP_Digest(s.data(), s.size(), d.data(), &n, EVP_sha256(), nullptr);
  return d;
}

// OpenSSL's reasons for the last failure, oldest first, emptying its error queue.
std::string openssl_reason() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    std::string r;
    if (ERR_SYSTEM_ERROR(e)) {
      r = errno_error(int(ERR_GET_REASON(e)), "").message.substr(2);  // strerror
    } else {
      const char* text = ERR_reason_error_string(e);
      r = text ? text : "OpenSSL error " + std::to_string(e);
    }
    if (out.find(r) != std::string::npos) continue;  // OpenSSL repeats itself per layer
    if (!out.empty()) out += "; ";
    out += r;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

Error file_error(const std::string& what, const std::string& path) {
  return invalid_input(what + " '" + path + "': " + openssl_reason());
}

// OpenSSL says "system lib" for a file it cannot open; the errno says more.
Result<void> readable(const std::string& what, const std::string& path) {
  if (::access(path.c_str(), R_OK) == 0) return ok();
  return invalid_input(what + " '" + path + "': " + errno_error("").message.substr(2));
}

}  // namespace

BearerToken::BearerToken(std::string_view token) : required_(!token.empty()) {
  if (required_) digest_ = sha256(token);
}

bool BearerToken::accepts(std::string_view authorization) const {
  if (!required_) return true;
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size()) return false;
  for (size_t i = 0; i < kScheme.size(); i++)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i]) return false;
  std::string_view given = authorization.substr(kScheme.size());
  while (!given.empty() && given.front() == ' ') given.remove_prefix(1);
  while (!given.empty() && given.back() == ' ') given.remove_suffix(1);
  const auto d = sha256(given);
  return CRYPTO_memcmp(d.data(), digest_.data(), d.size()) == 0;
}

Result<std::shared_ptr<boost::asio::ssl::context>> make_tls_context(const TlsFiles& files) {
  namespace ssl = boost::asio::ssl;
  if (files.cert.empty() || files.key.empty())
    return invalid_input("TLS needs both a certificate and a private key file");
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* c = ctx->native_handle();
  ERR_clear_error();
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  SSL_CTX_set_options(c, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
  for (const auto& [what, path] : {std::pair{"TLS certificate", &files.cert},
                                   {"TLS private key", &files.key},
                                   {"TLS client CA", &files.client_ca}})
    if (!path->empty())
      if (auto r = readable(what, *path); !r) return r.error();
  if (SSL_CTX_use_certificate_chain_file(c, files.cert.c_str()) != 1)
    return file_error("TLS certificate", files.cert);
  if (SSL_CTX_use_PrivateKey_file(c, files.key.c_str(), SSL_FILETYPE_PEM) != 1)
    return file_error("TLS private key", files.key);
  if (SSL_CTX_check_private_key(c) != 1)
    return file_error("TLS private key", files.key + "' does not match '" + files.cert);
  if (!files.client_ca.empty()) {
    if (SSL_CTX_load_verify_locations(c, files.client_ca.c_str(), nullptr) != 1)
      return file_error("TLS client CA", files.client_ca);
    // Tell clients which CA to present a certificate from.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
    if (!names) return file_error("TLS client CA", files.client_ca);
    SSL_CTX_set_client_CA_list(c, names);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace xcap::sink::fanout
