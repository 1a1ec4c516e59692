#include "archive/compressor.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <memory>
#include <vector>

namespace xcap::archive {
namespace {

constexpr size_t kChunk = 256 << 10;

Result<void> write_all(int fd, const void* p, size_t n) {
  auto* b = static_cast<const uint8_t*>(p);
  while (n) {
    const ssize_t w = ::write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return errno_error("cannot write the compressed file");
    b += w;
    n -= size_t(w);
  }
  return ok();
}

// Reads up to kChunk bytes; 0 at EOF.
Result<size_t> read_chunk(int fd, std::vector<uint8_t>& buf) {
  for (;;) {
    const ssize_t r = ::read(fd, buf.data(), buf.size());
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return errno_error("cannot read the capture file");
    return size_t(r);
  }
}

Result<void> zstd_stream(int in, int out, int level) {
  std::unique_ptr<ZSTD_CCtx, decltype(&ZSTD_freeCCtx)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!cctx) return make_error(ErrorKind::System, "zstd: out of memory");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level ? level : 3);
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  std::vector<uint8_t> src(kChunk), dst(ZSTD_CStreamOutSize());
  for (;;) {
    auto n = read_chunk(in, src);
    if (!n) return n.error();
    const ZSTD_EndDirective mode = *n ? ZSTD_e_continue : ZSTD_e_end;
    ZSTD_inBuffer ib{src.data(), *n, 0};
    size_t left;
    do {
      ZSTD_outBuffer ob{dst.data(), dst.size(), 0};
      left = ZSTD_compressStream2(cctx.get(), &ob, &ib, mode);
      if (ZSTD_isError(left))
        return make_error(ErrorKind::System, std::string("zstd: ") + ZSTD_getErrorName(left));
      if (auto w = write_all(out, dst.data(), ob.pos); !w) return w;
    } while (mode == ZSTD_e_end ? left != 0 : ib.pos < ib.size);
    if (!*n) return ok();
  }
}

Result<void> gzip_stream(int in, int out, int level) {
  z_stream z{};
  if (deflateInit2(&z, level ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                   Z_DEFAULT_STRATEGY) != Z_OK)
    return make_error(ErrorKind::System, "zlib: cannot start gzip");
  std::unique_ptr<z_stream, int (*)(z_stream*)> guard(&z, deflateEnd);
  std::vector<uint8_t> src(kChunk), dst(kChunk);
  for (;;) {
    auto n = read_chunk(in, src);
    if (!n) return n.error();
    const int flush = *n ? Z_NO_FLUSH : Z_FINISH;
    z.next_in = src.data();
    z.avail_in = uInt(*n);
    int rc;
    do {
      z.next_out = dst.data();
      z.avail_out = uInt(dst.size());
      rc = deflate(&z, flush);
      if (rc == Z_STREAM_ERROR) return make_error(ErrorKind::System, "zlib: deflate failed");
      if (auto w = write_all(out, dst.data(), dst.size() - z.avail_out); !w) return w;
    } while (z.avail_out == 0 || (flush == Z_FINISH && rc != Z_STREAM_END));
    if (!*n) return ok();
  }
}

}  // namespace

Result<Compressed> compress_file(int in, const std::string& dir, Compression compression,
                                 int level) {
  Fd out(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (!out.valid()) return errno_error(dir + ": cannot create a file to compress into");
  if (::lseek(in, 0, SEEK_SET) < 0) return errno_error("cannot rewind the capture file");
  auto r = compression == Compression::Zstd ? zstd_stream(in, out.get(), level)
                                            : gzip_stream(in, out.get(), level);
  if (!r) return r.error();
  const off_t size = ::lseek(out.get(), 0, SEEK_END);
  if (size < 0) return errno_error("cannot size the compressed file");
  return Compressed{std::move(out), uint64_t(size)};
}

}  // namespace xcap::archive
