// Decompressor: a stored object's bytes as they were before upload, read in pieces: zstd
// (libzstd's streaming API, any number of frames), gzip (zlib, any number of members) or
// stored as they are. A corrupt or truncated stream is an error, not a short read.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "archive/archive_config.h"
#include "common/fd.h"
#include "common/result.h"

namespace xcap::archive {

class Decompressor {
 public:
  Decompressor(Fd fd, Compression c);
  ~Decompressor();
  Decompressor(Decompressor&&) noexcept;
  Decompressor& operator=(Decompressor&&) = delete;

  // Up to n bytes into out; 0 at the end of the stream.
  Result<size_t> read(uint8_t* out, size_t n);

 private:
  struct Codec;
  Result<size_t> fill();  // more compressed input; 0 at the end of the file

  Fd fd_;
  Compression c_;
  std::unique_ptr<Codec> codec_;
  std::vector<uint8_t> in_;
  size_t in_pos_ = 0, in_len_ = 0;
  bool eof_ = false;
  bool mid_frame_ = false;  // a zstd frame or gzip member is open
};

}  // namespace xcap::archive
