#include "archive/digest.h"

#include <openssl/evp.h>

#include <stdexcept>

namespace xcap::archive {
namespace {

unsigned digest(const EVP_MD* md, const uint8_t* p, size_t n, unsigned char* out) {
  unsigned len = 0;
  if (!EVP_Digest(p, n, out, &len, md, nullptr)) throw std::runtime_error("EVP_Digest failed");
  return len;
}

}  // namespace

std::string sha256_hex(const uint8_t* p, size_t n) {
  unsigned char d[EVP_MAX_MD_SIZE];
  const unsigned len = digest(EVP_sha256(), p, n, d);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; i++) {
    out.push_back(kHex[d[i] >> 4]);
    out.push_back(kHex[d[i] & 15]);
  }
  return out;
}

std::string md5_base64(const uint8_t* p, size_t n) {
  unsigned char d[EVP_MAX_MD_SIZE];
  const unsigned len = digest(EVP_md5(), p, n, d);
  unsigned char b64[64];
  const int m = EVP_EncodeBlock(b64, d, int(len));
  return std::string(reinterpret_cast<char*>(b64), size_t(m));
}

}  // namespace xcap::archive
