// Big-endian loads from packet bytes. memcpy keeps them legal at any alignment (tunnel
// headers put inner frames at offsets like 50) and compiles to one load plus a byte swap.
#pragma once

#include <cstdint>
#include <cstring>

namespace xcap {

inline uint16_t load_be16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap16(v);
}

inline uint32_t load_be32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return __builtin_bswap32(v);
}

}  // namespace xcap
