#include "archive/decompressor.h"

#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cerrno>
#include <cstring>

namespace xcap::archive {

struct Decompressor::Codec {
  ZSTD_DStream* zstd = nullptr;
  z_stream gz{};
  bool gz_open = false;
  ~Codec() {
    if (zstd) ZSTD_freeDStream(zstd);
    if (gz_open) inflateEnd(&gz);
  }
};

Decompressor::Decompressor(Fd fd, Compression c)
    : fd_(std::move(fd)), c_(c), codec_(std::make_unique<Codec>()), in_(256 << 10) {
  if (c_ == Compression::Zstd) {
    codec_->zstd = ZSTD_createDStream();
    if (!codec_->zstd) throw std::bad_alloc();
  } else if (c_ == Compression::Gzip) {
    // 16 + MAX_WBITS: a gzip header and trailer around the deflate stream.
    if (inflateInit2(&codec_->gz, 16 + MAX_WBITS) != Z_OK) throw std::bad_alloc();
    codec_->gz_open = true;
  }
}

Decompressor::~Decompressor() = default;
Decompressor::Decompressor(Decompressor&&) noexcept = default;

Result<size_t> Decompressor::fill() {
  if (eof_) return size_t{0};
  for (;;) {
    const ssize_t n = ::read(fd_.get(), in_.data(), in_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("cannot read the downloaded object");
    in_pos_ = 0, in_len_ = size_t(n);
    eof_ = n == 0;
    return size_t(n);
  }
}

Result<size_t> Decompressor::read(uint8_t* out, size_t n) {
  for (;;) {
    if (in_pos_ == in_len_) {
      auto got = fill();
      if (!got) return got.error();
      if (*got == 0) {
        if (mid_frame_)
          return make_error(
              ErrorKind::System,
              std::string("truncated ") + (c_ == Compression::Zstd ? "zstd" : "gzip") + " stream");
        return size_t{0};
      }
    }
    const uint8_t* in = in_.data() + in_pos_;
    const size_t avail = in_len_ - in_pos_;
    if (c_ == Compression::None) {
      const size_t take = std::min(n, avail);
      memcpy(out, in, take);
      in_pos_ += take;
      return take;
    }
    size_t produced = 0;
    if (c_ == Compression::Zstd) {
      ZSTD_inBuffer ib{in, avail, 0};
      ZSTD_outBuffer ob{out, n, 0};
      const size_t rc = ZSTD_decompressStream(codec_->zstd, &ob, &ib);
      if (ZSTD_isError(rc))
        return make_error(ErrorKind::System,
                          std::string("corrupt zstd stream: ") + ZSTD_getErrorName(rc));
      mid_frame_ = rc != 0;  // 0: a frame ended exactly here
      in_pos_ += ib.pos;
      produced = ob.pos;
    } else {
      z_stream& z = codec_->gz;
      z.next_in = const_cast<uint8_t*>(in);
      z.avail_in = unsigned(avail);
      z.next_out = out;
      z.avail_out = unsigned(std::min<size_t>(n, 1u << 30));
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
        return make_error(ErrorKind::System, std::string("corrupt gzip stream: ") +
                                                 (z.msg ? z.msg : "inflate failed"));
      in_pos_ += avail - z.avail_in;
      produced = size_t(z.next_out - out);
      mid_frame_ = rc != Z_STREAM_END;
      if (rc == Z_STREAM_END) inflateReset(&z);  // another member may follow
    }
    if (produced) return produced;
  }
}

}  // namespace xcap::archive
