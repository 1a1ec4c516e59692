// Compression before upload (src/archive/compressor.h): zstd and gzip streams that the
// reference decoders (libzstd, zlib) give back byte for byte, written to an anonymous file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "archive/compressor.h"
#include "common/temp_dir.h"

namespace xcap::archive {
namespace {

std::vector<uint8_t> read_all(int fd, uint64_t n) {
  std::vector<uint8_t> b(n);
  EXPECT_EQ(::pread(fd, b.data(), n, 0), ssize_t(n));
  return b;
}

std::vector<uint8_t> gunzip(const std::vector<uint8_t>& in, size_t expect) {
  std::vector<uint8_t> out(expect + 1);
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = const_cast<uint8_t*>(in.data());
  z.avail_in = uInt(in.size());
  z.next_out = out.data();
  z.avail_out = uInt(out.size());
  EXPECT_EQ(inflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  inflateEnd(&z);
  return out;
}

// 3 MB of capture-like bytes: repeated headers, random payloads (more than one 256 KiB chunk).
std::vector<uint8_t> corpus() {
  std::mt19937 rng(7);
  std::vector<uint8_t> b;
  while (b.size() < 3'000'000) {
    for (int i = 0; i < 42; i++) b.push_back(uint8_t(i * 3));
    for (int i = 0; i < int(rng() % 300); i++) b.push_back(uint8_t(rng() % 16));
  }
  return b;
}

class ArchiveCompressor : public ::testing::TestWithParam<Compression> {};

TEST_P(ArchiveCompressor, RoundTripsThroughTheReferenceDecoder) {
  test::TempDir dir;
  const std::vector<uint8_t> data = corpus();
  std::ofstream(dir / "in", std::ios::binary)
      .write(reinterpret_cast<const char*>(data.data()), std::streamsize(data.size()));
  Fd in(::open((dir / "in").c_str(), O_RDONLY));
  auto c = compress_file(in.get(), dir.path(), GetParam(), 0);
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_GT(c->bytes, 0u);
  EXPECT_LT(c->bytes, data.size() / 2);
  const std::vector<uint8_t> packed = read_all(c->fd.get(), c->bytes);
  std::vector<uint8_t> back;
  if (GetParam() == Compression::Zstd) {
    back.resize(data.size());
    const size_t n = ZSTD_decompress(back.data(), back.size(), packed.data(), packed.size());
    ASSERT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
    back.resize(n);
  } else {
    back = gunzip(packed, data.size());
  }
  EXPECT_TRUE(back == data);
  // Anonymous: nothing but the input is left in the directory.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            1);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ArchiveCompressor,
                         ::testing::Values(Compression::Zstd, Compression::Gzip));

TEST(ArchiveCompressorErrors, ADirectoryThatIsNotThereIsAnError) {
  Fd in(::open("/dev/null", O_RDONLY));
  auto c = compress_file(in.get(), "/nonexistent-xcarc", Compression::Zstd, 0);
  ASSERT_FALSE(c);
  EXPECT_NE(c.error().message.find("/nonexistent-xcarc"), std::string::npos);
}

}  // namespace
}  // namespace xcap::archive
