// Payload digests for S3 requests, through OpenSSL's EVP: SHA-256 in hex
// (x-amz-content-sha256) and MD5 in base64 (Content-MD5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace xcap::archive {

std::string sha256_hex(const uint8_t* p, size_t n);
std::string md5_base64(const uint8_t* p, size_t n);

}  // namespace xcap::archive
